package whepclient

import (
	"bytes"
	"slices"
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/pion/rtp"
)

// keyPackets packetizes au as the relay does (1200-byte payloads) and
// returns which packets carriesKey picks.
func keyPackets(t *testing.T, encode func([][]byte) ([]*rtp.Packet, error), au [][]byte, carriesKey func([]byte) bool) []int {
	t.Helper()
	pkts, err := encode(au)
	if err != nil {
		t.Fatal(err)
	}
	var picked []int
	for i, p := range pkts {
		if carriesKey(p.Payload) {
			picked = append(picked, i)
		}
	}
	return picked
}

func TestKeyFramesCountedFromPackets(t *testing.T) {
	big := bytes.Repeat([]byte{0xaa}, 5000) // fragmented over 5 packets
	h264 := &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: 1200, PacketizationMode: 1}
	h265 := &rtph265.Encoder{PayloadType: 96, PayloadMaxSize: 1200}
	if err := h264.Init(); err != nil {
		t.Fatal(err)
	}
	if err := h265.Init(); err != nil {
		t.Fatal(err)
	}
	sps264, pps264 := []byte{0x67, 0x42, 0xc0, 0x1f}, []byte{0x68, 0xce, 0x3c, 0x80}
	vps265, sps265, pps265 := []byte{0x40, 0x01, 0x0c}, []byte{0x42, 0x01, 0x01}, []byte{0x44, 0x01, 0xc0}
	for _, c := range []struct {
		name       string
		encode     func([][]byte) ([]*rtp.Packet, error)
		au         [][]byte
		carriesKey func([]byte) bool
		want       []int
	}{
		// parameter sets aggregated, then the IDR's first fragment
		{"h264 big IDR", h264.Encode, [][]byte{sps264, pps264, append([]byte{0x65}, big...)}, h264CarriesKey, []int{1}},
		{"h264 IDR in the aggregate", h264.Encode, [][]byte{sps264, pps264, {0x65, 0x88, 0x80}}, h264CarriesKey, []int{0}},
		{"h264 single IDR", h264.Encode, [][]byte{{0x65, 0x88, 0x80}}, h264CarriesKey, []int{0}},
		{"h264 big P frame", h264.Encode, [][]byte{append([]byte{0x41}, big...)}, h264CarriesKey, nil},
		{"h265 big IDR", h265.Encode, [][]byte{vps265, sps265, pps265, append([]byte{0x26, 0x01}, big...)}, h265CarriesKey, []int{1}},
		{"h265 CRA alone", h265.Encode, [][]byte{{0x2a, 0x01, 0xaf}}, h265CarriesKey, []int{0}},
		{"h265 big P frame", h265.Encode, [][]byte{append([]byte{0x02, 0x01}, big...)}, h265CarriesKey, nil},
	} {
		if got := keyPackets(t, c.encode, c.au, c.carriesKey); !slices.Equal(got, c.want) {
			t.Errorf("%s: key picked in packets %v, want %v", c.name, got, c.want)
		}
	}
	// truncated and empty payloads are no key frames, and do not panic
	for _, p := range [][]byte{nil, {0x7c}, {0x18, 0x00}, {0x18, 0x00, 0x09, 0x65}, {0x62, 0x01}, {0x60, 0x01, 0x00, 0x05, 0x26}} {
		if h264CarriesKey(p) || h265CarriesKey(p) {
			t.Errorf("payload %x taken for a key frame", p)
		}
	}
}
