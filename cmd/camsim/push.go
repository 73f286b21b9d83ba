package main

import (
	"strings"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// pushPrefix marks paths that another program publishes to (ANNOUNCE and
// RECORD) and that readers then play: `ffmpeg -f rtsp rtsp://HOST/push/x`
// makes camsim serve ffmpeg's own SDP and RTP, byte for byte, so tests
// can read a stream that camsim did not encode or packetize.
const pushPrefix = "push/"

// pushed is one published stream.
type pushed struct {
	stream    *gortsplib.ServerStream
	publisher *gortsplib.ServerSession
}

func isPush(path string) bool {
	return strings.HasPrefix(strings.TrimPrefix(path, "/"), pushPrefix)
}

// pushStream returns the stream published at path, or a 404.
func (h *handler) pushStream(path string) (*gortsplib.ServerStream, *base.Response) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.pushes[path]; p != nil {
		return p.stream, nil
	}
	return nil, &base.Response{StatusCode: base.StatusNotFound}
}

// OnAnnounce accepts a publisher on a push path, replacing an earlier one.
func (h *handler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	if res, err := h.authorize(ctx.Conn, ctx.Request); res != nil {
		return res, err
	}
	if !isPush(ctx.Path) {
		return &base.Response{StatusCode: base.StatusForbidden}, nil
	}
	s := &gortsplib.ServerStream{Server: h.server, Desc: ctx.Description}
	if err := s.Initialize(); err != nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	h.mu.Lock()
	if h.pushes == nil {
		h.pushes = make(map[string]*pushed)
	}
	if old := h.pushes[ctx.Path]; old != nil {
		old.stream.Close()
		old.publisher.Close()
	}
	h.pushes[ctx.Path] = &pushed{stream: s, publisher: ctx.Session}
	h.mu.Unlock()
	h.log.Info("publisher announced", "path", ctx.Path, "remote", ctx.Conn.NetConn().RemoteAddr().String())
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnRecord forwards the publisher's packets to the readers as they are.
func (h *handler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	s, res := h.pushStream(ctx.Path)
	if s == nil {
		return res, nil
	}
	ctx.Session.OnPacketRTPAny(func(medi *description.Media, _ format.Format, pkt *rtp.Packet) {
		_ = s.WritePacketRTP(medi, pkt)
	})
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// closePush ends the stream of a publisher that went away.
func (h *handler) closePush(session *gortsplib.ServerSession) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for path, p := range h.pushes {
		if p.publisher == session {
			p.stream.Close()
			delete(h.pushes, path)
			h.log.Info("publisher stopped", "path", path)
		}
	}
}
