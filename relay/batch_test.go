package relay

import (
	"bytes"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestBatchConnKeepsPacketsAndOrder writes a frame's packets through a held
// address (full ones, a short one, full ones again, more than one send's
// worth) and a packet to an address not held, and checks that the receiver
// gets every packet whole, in order, as its own datagram, with the kernel
// segmenting and without it.
func TestBatchConnKeepsPacketsAndOrder(t *testing.T) {
	for _, gso := range []bool{true, false} {
		udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		c := newBatchConn(udp, slog.New(slog.DiscardHandler))
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
		packet := func(i, n int) []byte {
			p := bytes.Repeat([]byte{byte(i)}, n)
			p[0], p[1] = byte(i>>8), byte(i)
			return p
		}
		held := c.hold(addr)
		if held != c.gso.Load() {
			t.Fatalf("hold = %v with segmentation offload %v", held, c.gso.Load())
		}
		if held && c.hold(addr) {
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
		for i, n := range sizes {
			p := packet(i, n)
			if _, err := c.WriteToAddrPort(p, addr); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, p)
		}
		if _, err := c.WriteToAddrPort([]byte("straight"), other.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
			t.Fatal(err)
		}
		_ = other.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 65536)
		if n, _, err := other.ReadFromUDP(buf); err != nil || string(buf[:n]) != "straight" {
			t.Errorf("gso %v: a packet to an address not held did not go at once: %q %v", gso, buf[:n], err)
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
