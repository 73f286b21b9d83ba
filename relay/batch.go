package relay

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// batchConn is the WebRTC UDP socket. While a viewer writes one frame, its
// packets (SRTP by then, whose RTP header, SSRC included, is in the clear)
// are held and go out together in one sendmsg with
// UDP generic segmentation offload (UDP_SEGMENT): the kernel walks its
// send path once for the frame instead of once a packet, which is most of
// what relaying costs. Everything else (STUN, DTLS, RTCP, other viewers'
// packets, the same viewer's audio) is written at once, as by the plain
// socket, so every stream keeps its order. Where the kernel or
// the network card cannot segment, packets are sent one by one.
//
// pion's UDP mux reads and writes it through ice.AddrPortReaderWriter.
type batchConn struct {
	*net.UDPConn
	log *slog.Logger
	gso atomic.Bool

	mu    sync.Mutex
	held  map[netip.AddrPort]*batch
	spare []*batch // batches not in use
	made  int      // batches allocated, at most batchesMax
}

// batch is the packets held for one address: all seg bytes long but the
// last, which may be shorter, as UDP_SEGMENT wants them.
type batch struct {
	ssrc  uint32 // the stream held
	buf   []byte
	seg   int
	n     int
	short bool   // the last packet was shorter than seg: nothing may follow
	oob   []byte // the UDP_SEGMENT control message, kept between sends
}

// batchMax bounds a batch: the kernel takes at most 64 segments and 64 KiB
// of UDP payload in one send. batchesMax bounds the batches in use at once:
// viewers writing a frame at the same moment, and batches on their way out
// (a viewer blocked in sendmsg hands its thread to the next one). With 8,
// 10 viewers already sent a quarter of their frames packet by packet.
// Past it a viewer's packets go out one by one; a batch grows only to the
// largest send it made, so memory stays under batchesMax×batchMaxBytes.
const (
	batchMaxSegs  = 64
	batchMaxBytes = 60000
	batchesMax    = 32
)

func newBatchConn(udp *net.UDPConn, log *slog.Logger) *batchConn {
	c := &batchConn{UDPConn: udp, log: log, held: map[netip.AddrPort]*batch{}}
	c.gso.Store(gsoSupported(udp))
	return c
}

// hold starts holding the RTP packets of stream ssrc written to addr, until
// release. It returns false when packets cannot be gathered (no
// segmentation offload, addr held already, or every batch in use).
func (c *batchConn) hold(addr netip.AddrPort, ssrc uint32) bool {
	if !c.gso.Load() || !addr.IsValid() {
		return false
	}
	addr = unmap(addr)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[addr] != nil {
		return false
	}
	b := c.newBatch()
	if b == nil {
		return false
	}
	b.ssrc = ssrc
	c.held[addr] = b
	return true
}

// newBatch returns a spare batch, or nil when all are in use; c.mu is held.
func (c *batchConn) newBatch() *batch {
	if n := len(c.spare); n > 0 {
		b := c.spare[n-1]
		c.spare = c.spare[:n-1]
		return b
	}
	if c.made == batchesMax {
		return nil
	}
	c.made++
	return &batch{}
}

// putBatch makes a sent batch spare again.
func (c *batchConn) putBatch(b *batch) {
	c.mu.Lock()
	c.spare = append(c.spare, b)
	c.mu.Unlock()
}

// release sends what was held for addr and stops holding.
func (c *batchConn) release(addr netip.AddrPort) {
	addr = unmap(addr)
	c.mu.Lock()
	b := c.held[addr]
	delete(c.held, addr)
	c.mu.Unlock()
	if b != nil {
		c.send(addr, b)
		c.putBatch(b)
	}
}

// WriteToAddrPort holds p when it belongs to the stream held for addr, and
// writes it otherwise.
func (c *batchConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if c.gso.Load() && isRTP(p) {
		key := unmap(addr)
		c.mu.Lock()
		if b := c.held[key]; b != nil && b.ssrc == binary.BigEndian.Uint32(p[8:12]) {
			if b.n > 0 && !b.fits(len(p)) {
				next := c.newBatch()
				if next != nil {
					next.ssrc = b.ssrc
				}
				if next == nil {
					c.send(key, b) // no other batch to go on with: send it here
					b.add(p)
					c.mu.Unlock()
					return len(p), nil
				}
				c.held[key] = next
				next.add(p)
				c.mu.Unlock()
				c.send(key, b)
				c.putBatch(b)
				return len(p), nil
			}
			b.add(p)
			c.mu.Unlock()
			return len(p), nil
		}
		c.mu.Unlock()
	}
	return c.UDPConn.WriteToUDPAddrPort(p, addr)
}

// ReadFromAddrPort reads as the plain socket does.
func (c *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(p)
}

// WriteTo is WriteToAddrPort for callers with a net.Addr.
func (c *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, errors.New("relay: not a UDP address")
	}
	return c.WriteToAddrPort(p, ua.AddrPort())
}

func (b *batch) fits(n int) bool {
	return !b.short && n <= b.seg && b.n < batchMaxSegs && len(b.buf)+n <= batchMaxBytes
}

func (b *batch) add(p []byte) {
	if b.n == 0 {
		b.seg = len(p)
	}
	b.buf = append(b.buf, p...)
	b.n++
	b.short = len(p) < b.seg
}

// send writes the batch and empties it.
func (c *batchConn) send(addr netip.AddrPort, b *batch) {
	defer func() { b.buf, b.n, b.short = b.buf[:0], 0, false }()
	if b.n == 1 {
		_, _ = c.UDPConn.WriteToUDPAddrPort(b.buf, addr)
		return
	}
	b.oob = gsoControl(b.oob, b.seg)
	_, _, err := c.UDPConn.WriteMsgUDPAddrPort(b.buf, b.oob, addr)
	if err == nil || !gsoRefused(err) {
		return
	}
	if c.gso.CompareAndSwap(true, false) {
		c.log.Warn("UDP segmentation offload refused: sending packets one by one", "err", err)
	}
	for off := 0; off < len(b.buf); off += b.seg {
		_, _ = c.UDPConn.WriteToUDPAddrPort(b.buf[off:min(off+b.seg, len(b.buf))], addr)
	}
}

// isRTP tells (S)RTP from STUN, DTLS and (S)RTCP by the first two bytes
// (RFC 7983, RFC 5761).
func isRTP(p []byte) bool {
	return len(p) >= 12 && p[0]>>6 == 2 && (p[1] < 192 || p[1] > 223)
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}
