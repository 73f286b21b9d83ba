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

// mediaSocket is one of the WebRTC UDP sockets, one per local address (see
// listenMedia). pion's UDP mux reads and writes it through
// ice.AddrPortReaderWriter. While a viewer writes one frame, its packets
// (SRTP by then, whose RTP header, SSRC included, is in the clear) are
// held by the batcher and go out together in one sendmsg with UDP generic
// segmentation offload (UDP_SEGMENT): the kernel walks its send path once
// for the frame instead of once a packet, which is most of what relaying
// costs. Everything else (STUN, DTLS, RTCP, other viewers' packets, the
// same viewer's audio) is written at once, as by the plain socket, so
// every stream keeps its order. Where the kernel or the network card
// cannot segment, packets are sent one by one.
type mediaSocket struct {
	*net.UDPConn
	b *batcher
}

// batcher holds the frames being written, for every socket: a viewer
// holds its address without knowing which local address pion sends it
// from; the first packet tells.
type batcher struct {
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
	short bool         // the last packet was shorter than seg: nothing may follow
	oob   []byte       // the UDP_SEGMENT control message, kept between sends
	via   *mediaSocket // the socket of the packets held (nil: none yet)
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

// newBatcher returns a batcher for sockets, which segment when they all can.
func newBatcher(log *slog.Logger, sockets ...*net.UDPConn) (*batcher, []*mediaSocket) {
	c := &batcher{log: log, held: map[netip.AddrPort]*batch{}}
	c.gso.Store(len(sockets) > 0)
	ms := make([]*mediaSocket, len(sockets))
	for i, udp := range sockets {
		ms[i] = &mediaSocket{UDPConn: udp, b: c}
		if !gsoSupported(udp) {
			c.gso.Store(false)
		}
	}
	return c, ms
}

// hold starts holding the RTP packets of stream ssrc written to addr, until
// release. It returns false when packets cannot be gathered (no
// segmentation offload, addr held already, or every batch in use).
func (c *batcher) hold(addr netip.AddrPort, ssrc uint32) bool {
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
func (c *batcher) newBatch() *batch {
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
func (c *batcher) putBatch(b *batch) {
	c.mu.Lock()
	c.spare = append(c.spare, b)
	c.mu.Unlock()
}

// release sends what was held for addr and stops holding.
func (c *batcher) release(addr netip.AddrPort) {
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
func (m *mediaSocket) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if c := m.b; c.gso.Load() && isRTP(p) {
		key := unmap(addr)
		c.mu.Lock()
		if b := c.held[key]; b != nil && b.ssrc == binary.BigEndian.Uint32(p[8:12]) {
			if b.n > 0 && (!b.fits(len(p)) || b.via != m) {
				next := c.newBatch()
				if next == nil {
					c.send(key, b) // no other batch to go on with: send it here
					b.via = m
					b.add(p)
					c.mu.Unlock()
					return len(p), nil
				}
				next.ssrc, next.via = b.ssrc, m
				c.held[key] = next
				next.add(p)
				c.mu.Unlock()
				c.send(key, b)
				c.putBatch(b)
				return len(p), nil
			}
			b.via = m
			b.add(p)
			c.mu.Unlock()
			return len(p), nil
		}
		c.mu.Unlock()
	}
	return m.UDPConn.WriteToUDPAddrPort(p, addr)
}

// ReadFromAddrPort reads as the plain socket does.
func (m *mediaSocket) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return m.UDPConn.ReadFromUDPAddrPort(p)
}

// WriteTo is WriteToAddrPort for callers with a net.Addr.
func (m *mediaSocket) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, errors.New("relay: not a UDP address")
	}
	return m.WriteToAddrPort(p, ua.AddrPort())
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

// send writes the batch through its socket and empties it.
func (c *batcher) send(addr netip.AddrPort, b *batch) {
	udp := b.via
	defer func() { b.buf, b.n, b.short, b.via = b.buf[:0], 0, false, nil }()
	switch b.n {
	case 0:
		return
	case 1:
		_, _ = udp.WriteToUDPAddrPort(b.buf, addr)
		return
	}
	b.oob = gsoControl(b.oob, b.seg)
	_, _, err := udp.WriteMsgUDPAddrPort(b.buf, b.oob, addr)
	if err == nil || !gsoRefused(err) {
		return
	}
	if c.gso.CompareAndSwap(true, false) {
		c.log.Warn("UDP segmentation offload refused: sending packets one by one", "err", err)
	}
	for off := 0; off < len(b.buf); off += b.seg {
		_, _ = udp.WriteToUDPAddrPort(b.buf[off:min(off+b.seg, len(b.buf))], addr)
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
