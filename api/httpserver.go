package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// HTTPLimits bound what one HTTP client may hold of the bridge: a request
// half sent, a keep-alive connection left idle, a response never read,
// headers without end. A zero field takes its default.
type HTTPLimits struct {
	// ReadHeaderTimeout is the time to send the request's headers (10 s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout is the time to send the whole request, body included
	// (60 s: a 5 MiB photo from a phone at 1 Mbit/s takes 40 s).
	ReadTimeout time.Duration
	// WriteTimeout is the time to answer, from the end of the request's
	// headers (60 s).
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request (60 s).
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and headers (32 KiB; a token
	// is under 1 KiB).
	MaxHeaderBytes int
}

// withDefaults returns l with each zero field set to its default.
func (l HTTPLimits) withDefaults() HTTPLimits {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&l.ReadHeaderTimeout, 10*time.Second)
	def(&l.ReadTimeout, 60*time.Second)
	def(&l.WriteTimeout, 60*time.Second)
	def(&l.IdleTimeout, 60*time.Second)
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = 32 << 10
	}
	return l
}

// HTTPServer returns the http.Server that serves the API, the pages and
// WHEP on addr, within s's HTTPLimits. Routes that live longer than a
// request say so with longLived (server-sent events). WHEP needs no
// exemption: its HTTP exchanges are short (an offer, a PATCH, a DELETE)
// and the session lives on in the relay whatever becomes of the
// connection; a viewer that never connects is the relay's to end
// (relay.ConnectWithin).
func (s *Server) HTTPServer(addr string) *http.Server {
	return s.http.server(addr, s.Handler())
}

// MetricsServer returns the http.Server of GET /metrics on addr, for
// operators only (server.metrics_addr: loopback by default). It names
// every camera, private ones too, which is why it is not on the public
// address.
func (s *Server) MetricsServer(addr string) *http.Server {
	return s.http.server(addr, s.MetricsHandler())
}

func (l HTTPLimits) server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// longLived exempts a streaming response (server-sent events) from the
// server's read and write timeouts, which count from the request's start.
// Read: the request has no body, so it needs no deadline (net/http lifts
// it too once a bodiless request is read; this says so where the route
// is), and the connection's closing still ends the request. Write: each
// write gets its own deadline from writeDeadline instead of one for the
// whole response, so a client that stops reading is let go after
// WriteTimeout while one that reads stays as long as it likes.
func (s *Server) longLived(c *gin.Context) {
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	c.Next()
}

// writeDeadline gives the next write of a long-lived response
// WriteTimeout to go through.
func (s *Server) writeDeadline(c *gin.Context) {
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(s.http.WriteTimeout))
}
