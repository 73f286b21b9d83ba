package main

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/auth"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
)

// handler answers RTSP requests for the cameras: /cam/1 … /cam/N, everything
// else is 404; with credentials set, every DESCRIBE and SETUP must carry them.
type handler struct {
	log        *slog.Logger
	user, pass string
	// cams maps paths to cameras. It is set once, when the scenes are encoded
	// (a stream also needs a running server); before that every path is 503.
	cams atomic.Pointer[map[string]*camera]

	server *gortsplib.Server

	mu      sync.Mutex
	playing map[*gortsplib.ServerSession]*camera
	pushes  map[string]*pushed // by path, see push.go
}

// newRTSPServer makes the server (not started yet). Start stores the address
// it listens on in *listenAddr before it returns, so ":0" works.
func newRTSPServer(cfg config, h *handler, listenAddr *net.Addr) *gortsplib.Server {
	s := &gortsplib.Server{
		Handler:     h,
		RTSPAddress: cfg.Addr,
		// An I-frame at a high bitrate is a few hundred packets; the default
		// queue of 256 per reader would drop some on a slow start.
		WriteQueueSize: 1024,
		MaxPacketSize:  maxPacketSize,
		Listen: func(network, address string) (net.Listener, error) {
			l, err := net.Listen(network, address)
			if err == nil {
				*listenAddr = l.Addr()
			}
			return l, err
		},
	}
	if cfg.UDPRTP != "" {
		s.UDPRTPAddress = cfg.UDPRTP
		s.UDPRTCPAddress = cfg.UDPRTCP
	}
	if h.user != "" {
		s.AuthMethods = []auth.VerifyMethod{auth.VerifyMethodDigestMD5}
	}
	return s
}

// authorize returns a 401 response when credentials are required and the
// request does not carry the right ones (the server then asks for them, or
// closes the connection if wrong ones were sent).
func (h *handler) authorize(conn *gortsplib.ServerConn, req *base.Request) (*base.Response, error) {
	if h.user == "" || conn.VerifyCredentials(req, h.user, h.pass) {
		return nil, nil
	}
	return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
}

// stream returns the stream to play at path: a camera or a pushed stream.
func (h *handler) stream(path string) (*gortsplib.ServerStream, *base.Response) {
	if isPush(path) {
		return h.pushStream(path)
	}
	cam, res := h.camera(path)
	if cam == nil {
		return nil, res
	}
	return cam.stream, nil
}

func (h *handler) camera(path string) (*camera, *base.Response) {
	cams := h.cams.Load()
	if cams == nil {
		return nil, &base.Response{StatusCode: base.StatusServiceUnavailable}
	}
	cam := (*cams)[path]
	if cam == nil {
		return nil, &base.Response{StatusCode: base.StatusNotFound}
	}
	return cam, nil
}

// OnConnOpen logs a new connection.
func (h *handler) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	h.log.Debug("connection opened", "remote", ctx.Conn.NetConn().RemoteAddr().String())
}

// OnConnClose logs a closed connection.
func (h *handler) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	h.log.Debug("connection closed", "remote", ctx.Conn.NetConn().RemoteAddr().String(), "reason", ctx.Error)
}

// OnSessionClose logs the end of a reader's session.
func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	h.mu.Lock()
	if cam := h.playing[ctx.Session]; cam != nil {
		cam.readers.Add(-1)
		delete(h.playing, ctx.Session)
	}
	h.mu.Unlock()
	h.closePush(ctx.Session)
	h.log.Info("session stopped", "path", ctx.Session.SetuppedPath(), "reason", ctx.Error)
}

// OnDescribe answers with the camera's SDP.
func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if res, err := h.authorize(ctx.Conn, ctx.Request); res != nil {
		h.log.Warn("unauthorized", "remote", ctx.Conn.NetConn().RemoteAddr().String(), "path", ctx.Path)
		return res, nil, err
	}
	s, res := h.stream(ctx.Path)
	if s == nil {
		h.log.Warn("describe refused", "path", ctx.Path, "status", res.StatusCode)
		return res, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, s, nil
}

// OnSetup attaches a reader to the camera's stream.
func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if res, err := h.authorize(ctx.Conn, ctx.Request); res != nil {
		return res, nil, err
	}
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil // a publisher's own track
	}
	s, res := h.stream(ctx.Path)
	if s == nil {
		return res, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, s, nil
}

// OnPlay starts sending to a reader.
func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	if isPush(ctx.Path) {
		return &base.Response{StatusCode: base.StatusOK}, nil
	}
	cam, res := h.camera(ctx.Session.SetuppedPath())
	if cam == nil {
		return res, nil
	}
	h.mu.Lock()
	if h.playing == nil {
		h.playing = make(map[*gortsplib.ServerSession]*camera)
	}
	if h.playing[ctx.Session] == nil {
		h.playing[ctx.Session] = cam
		cam.readers.Add(1)
	}
	h.mu.Unlock()
	h.log.Info("reader started", "path", ctx.Path, "remote", ctx.Conn.NetConn().RemoteAddr().String(),
		"transport", ctx.Session.SetuppedTransport().String())
	return &base.Response{StatusCode: base.StatusOK}, nil
}
