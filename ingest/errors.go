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

// Explain turns an error from an RTSP session into a sentence a person on
// duty can act on; the technical error stays at the end.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	var bad liberrors.ErrClientBadStatusCode
	var dns *net.DNSError
	var stall errStall
	switch {
	case errors.As(err, &stall):
		return fmt.Sprintf("the camera stopped sending video (%v)", err)
	case errors.As(err, &bad):
		switch bad.Code {
		case base.StatusUnauthorized:
			return "the camera refused the user name or password (401 Unauthorized)"
		case base.StatusForbidden:
			return "the camera refused access (403 Forbidden)"
		case base.StatusNotFound:
			return "the camera has no stream at this path (404 Not Found)"
		}
		return fmt.Sprintf("the camera answered with an error (%d %s)", bad.Code, bad.Message)
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot find the camera's host name %q", dns.Name)
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return fmt.Sprintf("the camera closed the connection (%v)", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("the camera refused the connection: nothing listens at its address (%v)", err)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("the camera's network cannot be reached (%v)", err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("the camera did not answer in time (%v)", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("the camera did not answer in time (%v)", err)
	}
	return err.Error()
}
