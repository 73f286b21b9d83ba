package ingest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
)

// errStall is the session's end when the camera stops sending video.
type errStall struct{ after string }

func (e errStall) Error() string { return "no video received for " + e.after }

// Message codes of why a camera is offline or not read, and of its
// warnings: Health carries one beside its sentence, with its parameters,
// and the pages say it in their language (web/i18n.js).
const (
	MsgStalled      = "camera.stalled"       // {error}
	MsgUnauthorized = "camera.unauthorized"  // {}
	MsgForbidden    = "camera.forbidden"     // {}
	MsgNoPath       = "camera.no_path"       // {}
	MsgStatus       = "camera.status"        // {status, message}
	MsgNoHost       = "camera.no_host"       // {host}
	MsgClosed       = "camera.closed"        // {error}
	MsgRefused      = "camera.refused"       // {error}
	MsgUnreachable  = "camera.unreachable"   // {error}
	MsgTimeout      = "camera.timeout"       // {error}
	MsgFailed       = "camera.failed"        // {error}: anything else
	MsgIdle         = "camera.idle"          // {}
	MsgReleased     = "camera.released"      // {}
	MsgWaiting      = "camera.waiting"       // {}
	MsgConnecting   = "camera.connecting"    // {}
	MsgShuttingDown = "camera.shutting_down" // {}
	MsgBFrames      = "camera.b_frames"      // {}
)

// Reason is why a camera is offline or not read, or what is wrong while
// it plays: a sentence for logs and API clients, and its message code and
// parameters for the pages.
type Reason struct {
	Text   string
	Code   string
	Params map[string]any
}

// reason is a Reason without parameters.
func reason(code, text string) Reason { return Reason{Text: text, Code: code} }

// withError is a Reason whose parameter is the technical error.
func withError(code, text string, err error) Reason {
	return Reason{Text: fmt.Sprintf("%s (%v)", text, err), Code: code, Params: map[string]any{"error": err.Error()}}
}

// Explain turns an error from an RTSP session into a sentence a person on
// duty can act on; the technical error stays at the end.
func Explain(err error) string { return Why(err).Text }

// Why is Explain with the sentence's message code and parameters.
func Why(err error) Reason {
	if err == nil {
		return Reason{}
	}
	var bad liberrors.ErrClientBadStatusCode
	var dns *net.DNSError
	var stall errStall
	switch {
	case errors.As(err, &stall):
		return withError(MsgStalled, "the camera stopped sending video", err)
	case errors.As(err, &bad):
		switch bad.Code {
		case base.StatusUnauthorized:
			return reason(MsgUnauthorized, "the camera refused the user name or password (401 Unauthorized)")
		case base.StatusForbidden:
			return reason(MsgForbidden, "the camera refused access (403 Forbidden)")
		case base.StatusNotFound:
			return reason(MsgNoPath, "the camera has no stream at this path (404 Not Found)")
		}
		return Reason{Text: fmt.Sprintf("the camera answered with an error (%d %s)", bad.Code, bad.Message),
			Code: MsgStatus, Params: map[string]any{"status": int(bad.Code), "message": bad.Message}}
	case errors.As(err, &dns):
		return Reason{Text: fmt.Sprintf("cannot find the camera's host name %q", dns.Name), Code: MsgNoHost, Params: map[string]any{"host": dns.Name}}
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return withError(MsgClosed, "the camera closed the connection", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return withError(MsgRefused, "the camera refused the connection: nothing listens at its address", err)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return withError(MsgUnreachable, "the camera's network cannot be reached", err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return withError(MsgTimeout, "the camera did not answer in time", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return withError(MsgTimeout, "the camera did not answer in time", err)
	}
	return Reason{Text: err.Error(), Code: MsgFailed, Params: map[string]any{"error": err.Error()}}
}
