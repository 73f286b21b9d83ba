package relay_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"qianliyan/configs"
	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/whepclient"
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

// direct exchanges offers with the relay in-process.
func (r *rig) direct(camera string, session **relay.Session) whepclient.Exchange {
	return func(offer string) (string, string, error) {
		ss, answer, err := r.relay.Offer(context.Background(), camera, offer, netip.Addr{})
		if session != nil {
			*session = ss
		}
		return answer, "", err
	}
}

// viewer is a whepclient viewer with its relay session.
type viewer struct {
	*whepclient.Viewer
	session *relay.Session
}

// watch connects a viewer to camera; keep > 0 keeps that many access units.
func (r *rig) watch(t testing.TB, camera string, keep int) viewer {
	t.Helper()
	var ss *relay.Session
	v, err := whepclient.Play(r.direct(camera, &ss), keep)
	if err != nil {
		t.Fatalf("play %s: %v", camera, err)
	}
	t.Cleanup(v.Close)
	return viewer{v, ss}
}

func (v viewer) waitPackets(t testing.TB, n int64, within time.Duration) {
	t.Helper()
	if err := v.WaitPackets(n, within); err != nil {
		t.Fatal(err)
	}
}

// decodeKept decodes the kept access units and returns the picture size.
func decodeKept(t testing.TB, aus [][][]byte, codec ingest.Codec) (w, h, pictures int) {
	t.Helper()
	dec, err := detect.NewDecoder(codec, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
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
