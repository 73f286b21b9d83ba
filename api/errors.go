// Package api serves the bridge over HTTP with gin: the REST routes,
// logins and roles, WHEP, server-sent events, the metrics and the pages.
package api

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

// HTTPError is an error with the status code and the sentence to show.
type HTTPError struct {
	Code int
	Msg  string
	Err  error // the cause, logged, not shown
	// Fields go into the JSON body next to "error", e.g. the transitions
	// still allowed after a refused one.
	Fields map[string]any
	// Key and Params are the sentence as a message code and its
	// parameters ("code" and "params" in the body), which the pages
	// translate; Msg stays the English for logs and API clients.
	Key    string
	Params map[string]any
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

// Coded returns an HTTPError with a message code and its parameters
// beside the formatted English sentence.
func Coded(code int, key string, params map[string]any, format string, args ...any) *HTTPError {
	return &HTTPError{Code: code, Msg: fmt.Sprintf(format, args...), Key: key, Params: params}
}

// The message codes of the API's own refusals ("code" in an error body;
// the task package's refusals bring theirs, task.Msg*). web/i18n.js has a
// zh-CN and an English sentence for each.
const (
	MsgStoreDown     = "api.store_down"      // {}
	MsgInternal      = "api.internal"        // {}
	MsgNoTasks       = "api.no_tasks"        // {}
	MsgTokenNeeded   = "api.token_needed"    // {}
	MsgRoleNeeded    = "api.role_needed"     // {role}
	MsgTokenExpired  = "api.token_expired"   // {at_ms}
	MsgTokenBad      = "api.token_bad"       // {}
	MsgLoginBad      = "api.login_bad"       // {}
	MsgLoginFields   = "api.login_fields"    // {}
	MsgTooMany       = "api.too_many"        // {wait_s, until_ms}
	MsgNoCamera      = "api.no_camera"       // {camera}
	MsgNoGrid        = "api.no_grid"         // {grid, grids}
	MsgReportWords   = "api.report_words"    // {}
	MsgReportWhere   = "api.report_where"    // {}
	MsgReportTooLong = "api.report_too_long" // {n, max}
	MsgCameraPrivate = "api.camera_private"  // {camera}
	MsgReportsForWho = "api.reports_for_who" // {}
	MsgPhotoTooLarge = "api.photo_too_large" // {limit}
	MsgPhotoEmpty    = "api.photo_empty"     // {}
	MsgPhotoNotPhoto = "api.photo_not_photo" // {}
	MsgPhotoMissing  = "api.photo_missing"   // {}
	MsgBadBody       = "api.bad_body"        // {}
	MsgClipNotReady  = "api.clip_not_ready"  // {id, end_ms}
	MsgCameraFar     = "api.camera_far"      // {camera, name, distance_m, limit_m}
	MsgTrackWorkers  = "api.track_workers"   // {}
	MsgTrackHidden   = "api.track_hidden"    // {}
	MsgTrackPoint    = "api.track_point"     // {}
	MsgUnknownCode   = "api.error"           // never sent: the pages' word for an error without a code
)

// handler is a gin handler that returns its error instead of writing it.
type handler func(c *gin.Context) error

// wrap is the one place where errors become responses: an HTTPError keeps
// its code and message, a store that cannot be reached is a 503 with
// errStoreDown, anything else is a logged 500.
func (s *Server) wrap(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := h(c)
		if err == nil {
			return
		}
		var he *HTTPError
		switch {
		case errors.As(err, &he):
		case storeUnreachable(err):
			// Clients retry by themselves; the pool redials on the next call.
			c.Header("Retry-After", "2")
			he = &HTTPError{Code: http.StatusServiceUnavailable, Msg: errStoreDown, Err: err, Key: MsgStoreDown}
		default:
			he = &HTTPError{Code: http.StatusInternalServerError, Msg: "internal error", Err: err, Key: MsgInternal}
		}
		if he.Code >= 500 {
			s.log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		}
		if he.Code == http.StatusUnauthorized {
			c.Header("WWW-Authenticate", `Bearer realm="qianliyan"`)
		}
		fields := he.Fields
		if he.Key != "" {
			fields = map[string]any{"code": he.Key, "params": orEmpty(he.Params)}
			for k, v := range he.Fields {
				fields[k] = v
			}
		}
		writeError(c, he.Code, he.Msg, fields)
	}
}

// orEmpty gives an empty object for no parameters, so a page may read
// params.x without a check.
func orEmpty(p map[string]any) map[string]any {
	if p == nil {
		return map[string]any{}
	}
	return p
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
		writeError(c, http.StatusInternalServerError, "internal error", map[string]any{"code": MsgInternal, "params": map[string]any{}})
	})
}

// errStoreDown is the sentence of every route that needs Redis while Redis
// cannot be reached.
const errStoreDown = "the task store (Redis) is not reachable; try again in a few seconds"

// storeUnreachable reports whether err says that Redis could not be reached
// or cannot serve now (a refused or broken connection, a timeout, a server
// still loading its data after a restart), as opposed to a refusal or a
// bug. The stores wrap what go-redis returns with %w, so the cause shows
// through.
func storeUnreachable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) ||
		redis.IsLoadingError(err) || redis.IsMasterDownError(err) || redis.IsClusterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsReadOnlyError(err) || redis.IsMaxClientsError(err)
}
