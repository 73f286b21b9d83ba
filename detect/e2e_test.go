package detect_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
)

func testStore(t testing.TB) *detect.Store {
	t.Helper()
	url := os.Getenv("QLY_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(o)
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v (make test starts one)", url, err)
	}
	prefix := fmt.Sprintf("qly:dtest%d:", time.Now().UnixNano())
	t.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})
	return detect.NewStore(rdb, prefix)
}

// pipeline runs ingest and detection over the cameras of yaml.
func pipeline(t *testing.T, yaml string, opts detect.Options, offlineAfter time.Duration) (*detect.Detector, *detect.Store) {
	t.Helper()
	cfg, err := configs.Parse("detect-test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	hub := ingest.NewHub(cfg, slog.New(slog.DiscardHandler))
	store := testStore(t)
	d := detect.NewDetector(cfg, hub, store, opts, offlineAfter)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = hub.Run(ctx); done <- struct{}{} }()
	go func() { _ = d.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return d, store
}

func waitIncident(t *testing.T, s *detect.Store, within time.Duration, f detect.Filter, ok func(detect.Incident) bool) detect.Incident {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		list, err := s.List(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range list {
			if ok(in) {
				return in
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	list, _ := s.List(context.Background(), detect.Filter{})
	t.Fatalf("no %s incident as wanted within %v; have %+v", f.Kind, within, list)
	return detect.Incident{}
}

// TestZoneChangeOverRealRTSP scripts a scene with ffmpeg's filters: still
// colour bars with sensor noise, and a white box in the bin zone from 10 s
// to 20 s. Over real RTSP, decoding and Redis, zone_changed must be raised
// within 3 s of the box appearing and end after it is gone.
func TestZoneChangeOverRealRTSP(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1")
	started := time.Now()
	url := cam.PushScene(t, "scene", camsimproc.BinBox("between(t,10,20)"))
	th := detect.DefaultThresholds()
	// the scripted time is ffmpeg's, measured here on the wall clock: a
	// 1.5 s hold leaves the pipeline (encode, RTSP, decode, analysis at
	// 4/s) 1.5 s within the 3 s the issue allows
	th.ZoneHold = 1500 * time.Millisecond
	snaps := t.TempDir()
	_, store := pipeline(t, fmt.Sprintf(`
cameras:
  - id: scene
    name: 脚本场景
    grid: g1
    url: %q
    transport: tcp
    zones:
      - {name: 垃圾桶, kind: bin, polygon: %s}
      - {name: 巷口, kind: passage, polygon: [[0.6, 0.1], [0.9, 0.1], [0.9, 0.4], [0.6, 0.4]]}
`, url, camsimproc.BinZone), detect.Options{Thresholds: th, Rate: 4, CalmFor: 2 * time.Second, SnapDir: snaps}, time.Minute)

	boxAt := started.Add(10 * time.Second)
	in := waitIncident(t, store, 20*time.Second, detect.Filter{Kind: detect.ZoneChanged}, func(in detect.Incident) bool { return true })
	latency := time.UnixMilli(in.StartedMS).Sub(boxAt)
	t.Logf("zone_changed %v after the box appeared (hold %v)", latency.Round(10*time.Millisecond), th.ZoneHold)
	if in.Zone != "垃圾桶" || in.Camera != "scene" {
		t.Errorf("incident on %s/%s, want scene/垃圾桶", in.Camera, in.Zone)
	}
	if latency < th.ZoneHold-500*time.Millisecond || latency > 3*time.Second {
		t.Errorf("zone_changed came %v after the box appeared, want within 3 s and not before the hold", latency)
	}
	if fi, err := os.Stat(filepath.Join(snaps, in.Snapshot)); in.Snapshot == "" || err != nil || fi.Size() < 10000 {
		t.Errorf("snapshot %q missing or tiny: %v", in.Snapshot, err)
	}
	ended := waitIncident(t, store, 25*time.Second, detect.Filter{Kind: detect.ZoneChanged}, func(x detect.Incident) bool { return x.ID == in.ID && !x.Open() })
	t.Logf("ended %v after the box went away", time.UnixMilli(ended.EndedMS).Sub(started.Add(20*time.Second)).Round(10*time.Millisecond))
	list, _ := store.List(context.Background(), detect.Filter{})
	for _, x := range list {
		if x.ID != in.ID {
			t.Errorf("unexpected incident %+v", x)
		}
	}
}

func TestCoveredTurnedAndOfflineCameras(t *testing.T) {
	t.Parallel()
	cam := camsimproc.Start(t, "-cameras", "1")
	url := cam.PushScene(t, "black", "lutyuv=y=16") // covered: a flat dark picture
	// a camera turned to another view: the picture inverts at 8 s
	turned := cam.PushScene(t, "turned", "negate=enable='gte(t,8)'")
	th := detect.DefaultThresholds()
	th.TamperHold = time.Second
	_, store := pipeline(t, fmt.Sprintf(`
cameras:
  - {id: covered, name: 被遮挡, grid: g1, url: %q, transport: tcp}
  - {id: turned, name: 被转向, grid: g1, url: %q, transport: tcp}
  - {id: gone, name: 离线, grid: g1, url: "rtsp://127.0.0.1:1/none", transport: tcp}
`, url, turned), detect.Options{Thresholds: th, Rate: 4, CalmFor: 2 * time.Second}, 2*time.Second)
	in := waitIncident(t, store, 15*time.Second, detect.Filter{Kind: detect.CameraTampered, Camera: "covered"}, func(detect.Incident) bool { return true })
	if in.Detail != detect.Covered {
		t.Errorf("tamper incident = %+v, want camera covered", in)
	}
	in = waitIncident(t, store, 20*time.Second, detect.Filter{Kind: detect.CameraTampered, Camera: "turned"}, func(detect.Incident) bool { return true })
	if in.Detail != detect.Turned {
		t.Errorf("tamper incident = %+v, want camera turned", in)
	}
	off := waitIncident(t, store, 6*time.Second, detect.Filter{Kind: detect.CameraOffline}, func(detect.Incident) bool { return true })
	if off.Camera != "gone" || !strings.Contains(off.Detail, "refused") {
		t.Errorf("offline incident = %+v, want camera gone with the health's reason", off)
	}
}

// TestQuietSceneRaisesNothing plays two minutes of a still street (colour
// bars with sensor noise) whose light drifts slowly, with passers-by
// walking outside the zones: no incident may come of it.
func TestQuietSceneRaisesNothing(t *testing.T) {
	t.Parallel()
	cam := camsimproc.Start(t, "-cameras", "1")
	url := cam.PushScene(t, "quiet", "eq=brightness='0.06*sin(t/15)':eval=frame,"+
		"drawbox=x='700+mod(t*120,500)':y=120:w=60:h=160:color=0x303030:t=fill,"+
		"drawbox=x='1200-mod(t*90,450)':y=150:w=50:h=140:color=0xd0d0d0:t=fill")
	th := detect.DefaultThresholds()
	d, store := pipeline(t, fmt.Sprintf(`
cameras:
  - id: quiet
    name: 安静街巷
    grid: g1
    url: %q
    transport: tcp
    zones:
      - {name: 垃圾桶, kind: bin, polygon: [[0.14, 0.53], [0.41, 0.53], [0.41, 0.92], [0.14, 0.92]]}
      - {name: 消防通道, kind: passage, polygon: [[0.05, 0.05], [0.35, 0.05], [0.35, 0.45], [0.05, 0.45]]}
`, url), detect.Options{Thresholds: th, Rate: 2, CalmFor: 5 * time.Second}, time.Minute)
	time.Sleep(2 * time.Minute)
	// not vacuous: the references were taken and pictures were analysed
	if st := d.Watcher("quiet").Stats(); !st.HasRef || st.Analyzed < 180 {
		t.Fatalf("detection stats %+v: want a reference taken and ~240 analyses", st)
	}
	list, err := store.List(context.Background(), detect.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("a quiet scene raised %d incidents: %+v", len(list), list)
	}
}
