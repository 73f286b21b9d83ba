package relay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
)

// listenMedia opens the WebRTC UDP sockets on port: one per IPv4 address
// of the host's interfaces that are up, so that the answer to a viewer's
// connectivity check leaves from the address the check was sent to. One
// socket on 0.0.0.0 answers from whichever address the routing table
// picks, and the viewer drops such an answer (RFC 8445 §7.2.5.2.1): on a
// host with two addresses half the candidate pairs never succeed, and a
// pion viewer then nominates only on its next 200 ms check round.
//
// With public IPs (NAT 1:1) it opens one socket on 0.0.0.0: the NAT sends
// to whichever local address it maps to, and only the public addresses
// are announced. Port 0 takes a free port for the first address and the
// same port for the others. Addresses that appear later are not served.
func listenMedia(port int, public bool) ([]*net.UDPConn, error) {
	ips := []netip.Addr{netip.IPv4Unspecified()}
	if !public {
		if local := localIPv4s(); len(local) > 0 {
			ips = local
		}
	}
	for attempt := 0; ; attempt++ {
		conns, err := listenAll(ips, port)
		// a free port of the first address may be taken on another
		if err == nil || port != 0 || attempt == 4 || !errors.Is(err, syscall.EADDRINUSE) {
			return conns, err
		}
	}
}

// listenAll opens a socket on each address, all on one port.
func listenAll(ips []netip.Addr, port int) ([]*net.UDPConn, error) {
	var conns []*net.UDPConn
	for _, ip := range ips {
		udp, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, fmt.Errorf("webrtc udp %s:%d: %w", ip, port, err)
		}
		// Room for a crowd joining at once: each brings checks on every
		// pair and DTLS flights, and what overflows the default 208 KiB
		// is lost, a DTLS flight then resent only after a second.
		_ = udp.SetReadBuffer(4 << 20)
		_ = udp.SetWriteBuffer(4 << 20)
		port = udp.LocalAddr().(*net.UDPAddr).Port
		conns = append(conns, udp)
	}
	return conns, nil
}

// localIPv4s lists the IPv4 addresses of the interfaces that are up,
// loopback included (viewers on the same host), link-local excluded.
func localIPv4s() []netip.Addr {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var ips []netip.Addr
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			pre, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			ip := pre.Addr().Unmap()
			if ip.Is4() && !ip.IsLinkLocalUnicast() && !slices.Contains(ips, ip) {
				ips = append(ips, ip)
			}
		}
	}
	return ips
}
