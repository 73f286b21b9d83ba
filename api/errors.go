// Package api serves the bridge over HTTP with gin: the REST routes,
// logins and roles, WHEP, server-sent events, the metrics and the pages.
package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
)

// HTTPError is an error with the status code and the sentence to show.
type HTTPError struct {
	Code int
	Msg  string
	Err  error // the cause, logged, not shown
	// Fields go into the JSON body next to "error", e.g. the transitions
	// still allowed after a refused one.
	Fields map[string]any
}

func (e *HTTPError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Code, e.Msg, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Msg)
}

func (e *HTTPError) Unwrap() error { return e.Err }

// Errorf returns an HTTPError with a formatted message.
func Errorf(code int, format string, args ...any) *HTTPError {
	return &HTTPError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// handler is a gin handler that returns its error instead of writing it.
type handler func(c *gin.Context) error

// wrap is the one place where errors become responses: an HTTPError keeps
// its code and message, anything else is a logged 500.
func (s *Server) wrap(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := h(c)
		if err == nil {
			return
		}
		var he *HTTPError
		if !errors.As(err, &he) {
			he = &HTTPError{Code: http.StatusInternalServerError, Msg: "internal error", Err: err}
		}
		if he.Code >= 500 {
			s.log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		}
		if he.Code == http.StatusUnauthorized {
			c.Header("WWW-Authenticate", `Bearer realm="qianliyan"`)
		}
		writeError(c, he.Code, he.Msg, he.Fields)
	}
}

// writeError writes {"error": msg} and any extra fields (which cannot
// replace "error").
func writeError(c *gin.Context, code int, msg string, fields ...map[string]any) {
	body := gin.H{}
	for _, f := range fields {
		for k, v := range f {
			body[k] = v
		}
	}
	body["error"] = msg
	c.AbortWithStatusJSON(code, body)
}

// recovery turns a panic into a logged 500 with a JSON body.
func (s *Server) recovery() gin.HandlerFunc {
	return gin.CustomRecovery(func(c *gin.Context, v any) {
		s.log.Error("panic in handler", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", v)
		writeError(c, http.StatusInternalServerError, "internal error")
	})
}
