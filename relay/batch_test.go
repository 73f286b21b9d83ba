package relay

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestBatcherKeepsPacketsAndOrder writes a frame's packets through a held
// address (full ones, a short one, full ones again, more than one send's
// worth), and meanwhile a packet to an address not held and another
// stream's packet and a STUN-like packet to the held address; it checks
// that those go at once and that the receiver gets every held packet
// whole, in order, as its own datagram, with the kernel segmenting and
// without it.
func TestBatcherKeepsPacketsAndOrder(t *testing.T) {
	for _, gso := range []bool{true, false} {
		udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		c, socks := newBatcher(slog.New(slog.DiscardHandler), udp)
		m := socks[0]
		if gso && !c.gso.Load() {
			t.Log("this kernel has no UDP segmentation offload: only the fallback is tested")
		}
		c.gso.Store(c.gso.Load() && gso)
		rcv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		_ = rcv.SetReadBuffer(4 << 20)
		other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		addr := rcv.LocalAddr().(*net.UDPAddr).AddrPort()
		var sent [][]byte
		const ssrc = 0x11223344
		packet := func(i, n int, ssrc uint32) []byte {
			p := bytes.Repeat([]byte{byte(i)}, n)
			p[0], p[1], p[2], p[3] = 0x80, 96, byte(i>>8), byte(i) // RTP v2, PT 96, seq i
			binary.BigEndian.PutUint32(p[8:], ssrc)
			return p
		}
		held := c.hold(addr, ssrc)
		if held != c.gso.Load() {
			t.Fatalf("hold = %v with segmentation offload %v", held, c.gso.Load())
		}
		if held && c.hold(addr, ssrc) {
			t.Fatal("an address was held twice")
		}
		sizes := []int{}
		for i := range 70 {
			sizes = append(sizes, 1216)
			if i == 20 {
				sizes = append(sizes, 300) // a short packet ends a send
			}
		}
		sizes = append(sizes, 1100)
		var straight [][]byte
		for i, n := range sizes {
			p := packet(i, n, ssrc)
			if _, err := m.WriteToAddrPort(p, addr); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, p)
			if i == 30 {
				audio := packet(9000, 172, 0x55667788)
				stun := append([]byte{0, 1, 0, 0}, make([]byte, 16)...)
				for _, q := range [][]byte{audio, stun} {
					if _, err := m.WriteToAddrPort(q, addr); err != nil {
						t.Fatal(err)
					}
				}
				straight = append(straight, audio, stun)
			}
		}
		if _, err := m.WriteToAddrPort([]byte("straight"), other.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
			t.Fatal(err)
		}
		_ = other.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 65536)
		if n, _, err := other.ReadFromUDP(buf); err != nil || string(buf[:n]) != "straight" {
			t.Errorf("gso %v: a packet to an address not held did not go at once: %q %v", gso, buf[:n], err)
		}
		if held {
			// the other stream and the STUN packet went at once, after
			// the first send (closed by the short packet) and before the
			// packets still held
			sent = append(sent[:22], append(straight, sent[22:]...)...)
		} else {
			sent = append(sent[:31], append(straight, sent[31:]...)...)
		}
		c.release(addr)
		for i, want := range sent {
			_ = rcv.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, _, err := rcv.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("gso %v: packet %d of %d: %v", gso, i, len(sent), err)
			}
			if !bytes.Equal(buf[:n], want) {
				t.Fatalf("gso %v: packet %d is %d bytes starting %x, want %d starting %x", gso, i, n, buf[:2], len(want), want[:2])
			}
		}
		udp.Close()
		rcv.Close()
		other.Close()
	}
}

// TestBatcherSendsFromTheSocketWritten holds one address while pion writes
// a frame's packets through two local addresses (as when the viewer's
// selected pair changes): every packet must leave from the socket it was
// written to, in order.
func TestBatcherSendsFromTheSocketWritten(t *testing.T) {
	var udps []*net.UDPConn
	for _, ip := range []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2)} {
		udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		defer udp.Close()
		udps = append(udps, udp)
	}
	c, socks := newBatcher(slog.New(slog.DiscardHandler), udps...)
	rcv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	addr := rcv.LocalAddr().(*net.UDPAddr).AddrPort()
	const ssrc = 0x01020304
	via := []int{0, 0, 0, 1, 1, 0}
	if !c.hold(addr, ssrc) {
		t.Log("no UDP segmentation offload here: packets go one by one")
	}
	for i, s := range via {
		p := make([]byte, 1000)
		p[0], p[1], p[3] = 0x80, 96, byte(i)
		binary.BigEndian.PutUint32(p[8:], ssrc)
		if _, err := socks[s].WriteToAddrPort(p, addr); err != nil {
			t.Fatal(err)
		}
	}
	c.release(addr)
	buf := make([]byte, 2048)
	for i, s := range via {
		_ = rcv.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, from, err := rcv.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if want := udps[s].LocalAddr().(*net.UDPAddr).AddrPort(); n != 1000 || int(buf[3]) != i || from != want {
			t.Fatalf("packet %d: %d bytes, number %d, from %v; want 1000 bytes, number %d, from %v", i, n, buf[3], from, i, want)
		}
	}
}
