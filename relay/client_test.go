package relay_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"qianliyan/configs"
	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
	"qianliyan/relay"
)

// rig is camsim + ingest + a relay server, all real, on loopback.
type rig struct {
	cam   *camsimproc.Proc
	hub   *ingest.Hub
	relay *relay.Server
}

func newRig(t testing.TB, urls map[string]string, camsimArgs ...string) *rig {
	t.Helper()
	r := &rig{}
	if camsimArgs != nil {
		r.cam = camsimproc.Start(t, camsimArgs...)
	}
	var y strings.Builder
	y.WriteString("cameras:\n")
	for id, url := range urls {
		if n, ok := strings.CutPrefix(url, "cam/"); ok {
			url = r.cam.URL(atoi(n))
		}
		fmt.Fprintf(&y, "  - {id: %s, name: 测试, grid: g1, url: %q, transport: tcp}\n", id, url)
	}
	cfg, err := configs.Parse("relay-test.yaml", []byte(y.String()))
	if err != nil {
		t.Fatal(err)
	}
	r.hub = ingest.NewHub(cfg, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.hub.Run(ctx) }()
	r.relay, err = relay.NewServer(r.hub, relay.Options{UDPPort: 0, TCPPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.relay.Close(); cancel(); <-done })
	for id, url := range urls {
		if strings.HasPrefix(url, "cam/") {
			r.waitOnline(t, id)
		}
	}
	return r
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

func (r *rig) waitOnline(t testing.TB, id string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if h, _ := r.hub.Health(id); h.Online && r.hub.Stream(id).LastKeyFrame() != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	h, _ := r.hub.Health(id)
	t.Fatalf("camera %s not online within 15 s: %s", id, h.LastError)
}

// viewer is a pion peer playing one camera, as a browser would.
type viewer struct {
	pc      *webrtc.PeerConnection
	session *relay.Session
	posted  time.Time

	mu          sync.Mutex
	firstPacket time.Duration
	firstKey    time.Duration
	aus         [][][]byte // kept when keep is set
	keep        int
	packets     atomic.Int64
	keyFrames   atomic.Int64
	stall       atomic.Bool // stop reading
	codec       string
}

var clientAPI = func() *webrtc.API {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		panic(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
}()

// offer builds a recvonly offer like a browser's.
func newPeer(t testing.TB, codecs ...string) (*webrtc.PeerConnection, string) {
	t.Helper()
	api := clientAPI
	if len(codecs) > 0 {
		m := &webrtc.MediaEngine{}
		for i, c := range codecs {
			cp := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: c, ClockRate: 90000}, PayloadType: webrtc.PayloadType(96 + i)}
			if c == webrtc.MimeTypeH264 {
				cp.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
			}
			if err := m.RegisterCodec(cp, webrtc.RTPCodecTypeVideo); err != nil {
				t.Fatal(err)
			}
		}
		var se webrtc.SettingEngine
		se.SetIncludeLoopbackCandidate(true)
		api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc, pc.LocalDescription().SDP
}

// watch connects a viewer to camera; keep > 0 keeps that many access units.
func (r *rig) watch(t testing.TB, camera string, keep int, codecs ...string) *viewer {
	t.Helper()
	pc, offer := newPeer(t, codecs...)
	v := &viewer{pc: pc, keep: keep}
	v.posted = time.Now()
	ss, answer, err := r.relay.Offer(context.Background(), camera, offer)
	if err != nil {
		pc.Close()
		t.Fatalf("offer: %v", err)
	}
	v.session = ss
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { v.read(tr) })
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return v
}

func (v *viewer) read(tr *webrtc.TrackRemote) {
	mime := tr.Codec().MimeType
	v.mu.Lock()
	v.codec = mime
	v.mu.Unlock()
	var decode func(*rtp.Packet) ([][]byte, error)
	var isKey func([][]byte) bool
	if strings.EqualFold(mime, webrtc.MimeTypeH265) {
		d := &rtph265.Decoder{}
		_ = d.Init()
		decode = d.Decode
		isKey = func(au [][]byte) bool { return len(au) > 0 && (au[0][0]>>1)&0x3f == 32 }
	} else {
		d := &rtph264.Decoder{}
		_ = d.Init()
		decode = d.Decode
		isKey = func(au [][]byte) bool {
			for _, n := range au {
				if n[0]&0x1f == 5 {
					return true
				}
			}
			return false
		}
	}
	for {
		for v.stall.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Since(v.posted)
		if v.packets.Add(1) == 1 {
			v.mu.Lock()
			v.firstPacket = now
			v.mu.Unlock()
		}
		au, err := decode(pkt)
		if err != nil {
			continue
		}
		key := isKey(au)
		v.mu.Lock()
		if key && v.keyFrames.Add(1) == 1 {
			v.firstKey = now
		}
		if len(v.aus) < v.keep && (key || len(v.aus) > 0) {
			v.aus = append(v.aus, au)
		}
		v.mu.Unlock()
	}
}

func (v *viewer) waitPackets(t testing.TB, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for v.packets.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("viewer got %d packets in %v, want %d", v.packets.Load(), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// decodeKept decodes the kept access units and returns the picture size.
func (v *viewer) decodeKept(t testing.TB, codec ingest.Codec) (w, h, pictures int) {
	t.Helper()
	dec, err := detect.NewDecoder(codec, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	v.mu.Lock()
	aus := v.aus
	v.mu.Unlock()
	for _, au := range aus {
		img, err := dec.Decode(au)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if img != nil {
			pictures++
			w, h = img.Rect.Dx(), img.Rect.Dy()
		}
	}
	return w, h, pictures
}

var _ = errors.Is
