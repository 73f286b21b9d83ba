package ingest_test

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"qianliyan/configs"
	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/redistest"
)

// newReader builds a reader for url with the configured defaults, except
// the transport, and runs it until the test ends.
func newReader(t *testing.T, url, transport string) *ingest.Reader {
	t.Helper()
	r := startReader(t, url, transport)
	t.Cleanup(r.stop)
	return r.Reader
}

// waitHealth polls until cond holds or the time is up; it returns how long it took.
func waitHealth(t *testing.T, r *ingest.Reader, within time.Duration, what string, cond func(ingest.Health) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if cond(r.Health()) {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	h := r.Health()
	t.Fatalf("camera not %s within %v; health: online=%v error=%q", what, within, h.Online, h.LastError)
	return 0
}

func TestUnitsArriveFromCamsim(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "2")
	for _, transport := range []string{"tcp", "udp"} {
		t.Run(transport, func(t *testing.T) {
			r := newReader(t, cam.URL(2), transport)
			waitHealth(t, r, 5*time.Second, "online", func(h ingest.Health) bool { return h.Online })
			sub := r.Stream().Subscribe("test", 512, true) // the cached GOP first
			defer sub.Close()

			var units []*ingest.Unit
			deadline := time.After(4500 * time.Millisecond)
		collect:
			for {
				select {
				case u := <-sub.C:
					units = append(units, u)
				case <-deadline:
					break collect
				}
			}
			if len(units) < 110 {
				t.Fatalf("got %d units in 4.5 s, want >= 110 at 25 fps (and the cached GOP)", len(units))
			}
			if !units[0].Key {
				t.Fatalf("first unit is not a key frame")
			}
			var keys []time.Duration
			var maxGap time.Duration
			for i, u := range units {
				if i > 0 {
					maxGap = max(maxGap, u.Received.Sub(units[i-1].Received))
				}
				if u.Codec != ingest.H264 {
					t.Fatalf("unit codec %q, want H264", u.Codec)
				}
				if u.Key {
					keys = append(keys, u.PTS)
				}
			}
			if len(keys) < 2 {
				t.Fatalf("got %d key frames in 4.5 s, want >= 2 with a 2 s GOP", len(keys))
			}
			for i := 1; i < len(keys); i++ {
				if gap := keys[i] - keys[i-1]; gap < 1900*time.Millisecond || gap > 2100*time.Millisecond {
					t.Errorf("key frames %v apart, want 2 s", gap)
				}
			}

			dec, err := detect.NewDecoder(ingest.H264, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			img, err := dec.Decode(units[0].NALUs)
			if err != nil || img == nil {
				t.Fatalf("first key frame does not decode on its own: img=%v err=%v", img != nil, err)
			}
			if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 720 {
				t.Fatalf("decoded %dx%d, want 1280x720", b.Dx(), b.Dy())
			}
			if sd := lumaStdDev(img); sd < 10 {
				t.Fatalf("decoded picture is blank (luma std dev %.1f)", sd)
			}

			waitHealth(t, r, 3*time.Second, "measured", func(h ingest.Health) bool { return h.FPS > 0 })
			hh := r.Health()
			if !hh.Online || hh.Codec != ingest.H264 || hh.Width != 1280 || hh.Height != 720 {
				t.Errorf("health = %+v, want online H264 1280x720", hh)
			}
			if hh.FPS < 23 || hh.FPS > 27 {
				t.Errorf("health fps = %.1f, want 25 (%+v); longest gap between units %v", hh.FPS, hh, maxGap)
			}
			if hh.Bitrate < 0.5e6 || hh.Bitrate > 4e6 {
				t.Errorf("health bitrate = %.0f bps, want about 2 Mbps", hh.Bitrate)
			}
			if want := strings.ToUpper(transport); hh.Transport != want {
				t.Errorf("health transport = %q, want %q", hh.Transport, want)
			}
		})
	}
}

func lumaStdDev(img *image.YCbCr) float64 {
	var sum, sq float64
	n := 0
	for y := 0; y < img.Rect.Dy(); y += 4 {
		for x := 0; x < img.Rect.Dx(); x += 4 {
			v := float64(img.Y[y*img.YStride+x])
			sum += v
			sq += v * v
			n++
		}
	}
	m := sum / float64(n)
	return sqrt(sq/float64(n) - m*m)
}

func sqrt(v float64) float64 {
	if v <= 0 {
		return 0
	}
	x := v
	for range 30 {
		x = (x + v/x) / 2
	}
	return x
}

func TestCameraGoneAndBack(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cam := camsimproc.Start(t, "-cameras", "1")
	func() {
		r := startReader(t, cam.URL(1), "tcp")
		defer r.stop()
		waitHealth(t, r.Reader, 5*time.Second, "online", func(h ingest.Health) bool { return h.Online })

		cam.Stop()
		took := waitHealth(t, r.Reader, 6*time.Second, "offline", func(h ingest.Health) bool { return !h.Online })
		t.Logf("offline %v after the camera went away: %s", took.Round(time.Millisecond), r.Health().LastError)

		cam.Restart(t)
		took = waitHealth(t, r.Reader, 5*time.Second, "online again", func(h ingest.Health) bool { return h.Online })
		t.Logf("online again %v after the camera came back", took.Round(time.Millisecond))
		if r.Health().Reconnects == 0 {
			t.Errorf("reconnects = 0 after a reconnection")
		}
	}()
	cam.Stop() // camsim's own goroutines are not ours; the reader's must be gone
}

type runningReader struct {
	*ingest.Reader
	stop func()
}

// startReader runs a reader until its stop is called.
func startReader(t *testing.T, url, transport string) runningReader {
	t.Helper()
	cfg, err := configs.Parse("test.yaml", []byte(fmt.Sprintf(
		"cameras:\n  - id: cam1\n    name: 测试\n    grid: g1\n    url: %q\n    transport: %q\n", url, transport)))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	s := ingest.NewStream("cam1", cfg.Ingest.GOPMaxBytes)
	r := ingest.NewReader(cfg.Cameras[0], cfg.Ingest, s, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	return runningReader{r, func() { cancel(); <-done; s.Close() }}
}

func TestHealthSaysWhatIsWrong(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1", "-user", "admin", "-pass", "s3cret")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	host := cam.Addr()
	for _, tc := range []struct{ name, url, want, code string }{
		{"refused", "rtsp://" + refused + "/cam/1", "refused the connection", ingest.MsgRefused},
		{"wrong credentials", "rtsp://admin:wrong@" + host + "/cam/1", "refused the user name or password", ingest.MsgUnauthorized},
		{"no credentials", "rtsp://" + host + "/cam/1", "refused the user name or password", ingest.MsgUnauthorized},
		{"unknown path", "rtsp://admin:s3cret@" + host + "/cam/99", "no stream at this path", ingest.MsgNoPath},
		{"unknown host", "rtsp://no-such-camera.invalid:554/x", "cannot find the camera's host name", ingest.MsgNoHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReader(t, tc.url, "tcp")
			waitHealth(t, r, 5*time.Second, "explained", func(h ingest.Health) bool {
				return strings.Contains(h.LastError, tc.want)
			})
			h := r.Health()
			if h.Online {
				t.Errorf("camera online with a bad address")
			}
			// the pages say it in their language from the code
			if h.LastErrorCode != tc.code {
				t.Errorf("code of %q = %q, want %q", h.LastError, h.LastErrorCode, tc.code)
			}
			if tc.code == ingest.MsgNoHost && h.LastErrorParams["host"] != "no-such-camera.invalid" {
				t.Errorf("params of %q = %v, want the host", h.LastError, h.LastErrorParams)
			}
		})
	}
	t.Run("right credentials", func(t *testing.T) {
		r := newReader(t, "rtsp://admin:s3cret@"+host+"/cam/1", "tcp")
		waitHealth(t, r, 5*time.Second, "online", func(h ingest.Health) bool { return h.Online })
	})
}

func TestSubscriberThatNeverReadsDoesNotChangeWhatOthersGet(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1")
	r := newReader(t, cam.URL(1), "tcp")
	waitHealth(t, r, 5*time.Second, "online", func(h ingest.Health) bool { return h.Online })

	stuck := r.Stream().Subscribe("stuck", 2, true)
	defer stuck.Close()
	reader := r.Stream().Subscribe("reader", 64, false)
	defer reader.Close()
	before := r.Stream().Stats().Published
	var got int
	var first *ingest.Unit
	deadline := time.After(3 * time.Second)
loop:
	for {
		select {
		case u := <-reader.C:
			if first == nil {
				first = u
				before = r.Stream().Stats().Published - 1 // count from the key frame it started at
			}
			got++
		case <-deadline:
			break loop
		}
	}
	published := r.Stream().Stats().Published - before
	if reader.Dropped() != 0 {
		t.Errorf("reading subscriber dropped %d units", reader.Dropped())
	}
	if diff := int(published) - got; diff < 0 || diff > 2 {
		t.Errorf("reader got %d units of %d published since its first key frame", got, published)
	}
	if stuck.Dropped() < 40 {
		t.Errorf("stuck subscriber dropped only %d units in 3 s", stuck.Dropped())
	}
	if h := r.Health(); h.Dropped < stuck.Dropped() {
		t.Errorf("health counts %d dropped units, want >= %d", h.Dropped, stuck.Dropped())
	}
}

func TestHealthIsKeptInRedis(t *testing.T) {
	rdb, prefix := redistest.Client(t, "itest")
	cam := camsimproc.Start(t, "-cameras", "1")
	r := newReader(t, cam.URL(1), "tcp")
	waitHealth(t, r, 5*time.Second, "online", func(h ingest.Health) bool { return h.Online })
	// with its viewers as the relay counts them: the main stream's and the
	// sub-stream's together
	viewers := func() map[string]int { return map[string]int{"cam1": 2, ingest.SubID("cam1"): 1, "cam9": 5} }
	m := &ingest.HealthMirror{RDB: rdb, Prefix: prefix, Every: time.Second,
		Source: ingest.WithViewers(func() []ingest.Health { return []ingest.Health{r.Health()} }, viewers)}
	if err := m.WriteOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, at, err := ingest.ReadHealth(context.Background(), rdb, prefix, "cam1")
	if err != nil {
		t.Fatal(err)
	}
	if !h.Online || h.Codec != ingest.H264 || h.Width != 1280 || h.Frames == 0 || h.Viewers != 3 {
		t.Errorf("health read back from redis = %+v", h)
	}
	if time.Since(at) > 5*time.Second {
		t.Errorf("written at %v, long ago", at)
	}
	// an offline camera's reason keeps its code and parameters (the other
	// members of a cluster show them)
	off := ingest.Health{Camera: "cam2", LastError: "the camera answered with an error (503 Service Unavailable)",
		LastErrorCode: ingest.MsgStatus, LastErrorParams: map[string]any{"status": 503, "message": "Service Unavailable"},
		WarningCode: ingest.MsgBFrames}
	m.Source = func() []ingest.Health { return []ingest.Health{off} }
	if err := m.WriteOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, _, err = ingest.ReadHealth(context.Background(), rdb, prefix, "cam2")
	if err != nil || h.LastErrorCode != ingest.MsgStatus || h.LastErrorParams["status"] != 503.0 ||
		h.LastErrorParams["message"] != "Service Unavailable" || h.WarningCode != ingest.MsgBFrames {
		t.Errorf("offline health read back = %+v, %v; want its codes and parameters", h, err)
	}
	if _, _, err := ingest.ReadHealth(context.Background(), rdb, prefix, "nope"); err != ingest.ErrNoHealth {
		t.Errorf("unknown camera: err = %v, want ErrNoHealth", err)
	}
}
