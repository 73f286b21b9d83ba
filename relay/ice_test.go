package relay_test

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/stun/v4"

	"qianliyan/internal/whepclient"
)

// TestChecksAreAnsweredFromTheAddressChecked sends an ICE connectivity
// check, from loopback, to every host candidate the bridge announces, and
// wants each answer from the address it was sent to: a viewer drops any
// other (RFC 8445 §7.2.5.2.1). On a host with a second address this is
// the case one socket on 0.0.0.0 gets wrong: it answers a check sent to
// the second address from loopback.
func TestChecksAreAnsweredFromTheAddressChecked(t *testing.T) {
	r := newRig(t, map[string]string{"cam1": "cam/1"}, "-cameras", "1")
	pc, offer, err := whepclient.Offer()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, answer, err := r.relay.Offer(t.Context(), "cam1", offer, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	viewerUfrag := sdpValue(t, offer, "ice-ufrag")
	bridgeUfrag, bridgePwd := sdpValue(t, answer, "ice-ufrag"), sdpValue(t, answer, "ice-pwd")

	var cands []netip.AddrPort
	for line := range strings.Lines(answer) {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "a=candidate:"))
		if len(f) < 8 || !strings.HasPrefix(line, "a=candidate:") || strings.ToLower(f[2]) != "udp" || f[7] != "host" {
			continue
		}
		if ap, err := netip.ParseAddrPort(net.JoinHostPort(f[4], f[5])); err == nil && ap.Addr().Is4() && !slices.Contains(cands, ap) {
			cands = append(cands, ap)
		}
	}
	if len(cands) == 0 {
		t.Fatalf("no UDP host candidate in the answer:\n%s", answer)
	}
	if len(cands) == 1 {
		t.Log("this host has one address: the case of a second one is not exercised")
	}
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	for _, cand := range cands {
		req := stun.MustBuild(stun.TransactionID, stun.BindingRequest,
			stun.NewUsername(bridgeUfrag+":"+viewerUfrag),
			stun.RawAttribute{Type: stun.AttrICEControlling, Value: make([]byte, 8)},
			stun.RawAttribute{Type: stun.AttrPriority, Value: []byte{0x6e, 0, 0x1e, 0xff}},
			stun.NewShortTermIntegrity(bridgePwd), stun.Fingerprint)
		from, res := check(t, udp, req, cand)
		if !from.IsValid() {
			t.Errorf("check to %v: no answer", cand)
			continue
		}
		if from != cand || res.Type != stun.BindingSuccess {
			t.Errorf("check to %v: answered %v from %v; want a success from %v", cand, res.Type, from, cand)
		}
	}
}

// check sends req to cand until an answer to it comes (checks are UDP: one
// may be lost), skipping the bridge's own checks, which come here too.
func check(t *testing.T, udp *net.UDPConn, req *stun.Message, cand netip.AddrPort) (netip.AddrPort, *stun.Message) {
	t.Helper()
	buf := make([]byte, 1500)
	for range 5 {
		if _, err := udp.WriteToUDPAddrPort(req.Raw, cand); err != nil {
			t.Fatal(err)
		}
		_ = udp.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		for {
			n, from, err := udp.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if res.Decode() == nil && res.TransactionID == req.TransactionID {
				return from, res
			}
		}
	}
	return netip.AddrPort{}, nil
}

// sdpValue is the first value of attribute key in a session description.
func sdpValue(t *testing.T, desc, key string) string {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(desc); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.MediaDescriptions {
		if v, ok := m.Attribute(key); ok {
			return v
		}
	}
	if v, ok := d.Attribute(key); ok {
		return v
	}
	t.Fatalf("no %s in\n%s", key, desc)
	return ""
}
