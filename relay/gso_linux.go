package relay

import (
	"errors"
	"net"

	"golang.org/x/sys/unix"
	"unsafe"
)

// gsoSupported reports whether the kernel segments UDP for this socket.
func gsoSupported(udp *net.UDPConn) bool {
	rc, err := udp.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		_, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
		ok = err == nil
	})
	return ok
}

// gsoControl writes into b (reused when big enough) the control message
// asking for segments of seg bytes.
func gsoControl(b []byte, seg int) []byte {
	if n := unix.CmsgSpace(2); cap(b) < n {
		b = make([]byte, n)
	} else {
		b = b[:n]
		clear(b)
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.IPPROTO_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&b[unix.CmsgLen(0)])) = uint16(seg)
	return b
}

// gsoRefused reports whether a send failed because the path cannot
// segment (no checksum offload on the card, or an old kernel).
func gsoRefused(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOPROTOOPT)
}
