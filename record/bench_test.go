package record

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"qianliyan/configs"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
)

// BenchmarkRecord measures what recording N 720p camsim cameras costs the
// bridge: CPU in millicores per camera (the process with the recorder less
// the same process pulling the cameras without it), bytes written against
// the bytes the cameras sent (target within 5%), how long after a clip's
// end it is playable (target: within 5 s) and how early its first frame
// is (the key frame at or before its start: 0 to one GOP, 2 s here). Run
// with -benchtime 1x: each run measures 10 s windows after every camera is
// online, then waits for one clip per camera.
func BenchmarkRecord(b *testing.B) {
	for _, n := range []int{32, 128} {
		b.Run(fmt.Sprintf("cameras=%d", n), func(b *testing.B) {
			for b.Loop() {
				measureRecord(b, n, 10*time.Second)
			}
		})
	}
}

func measureRecord(b *testing.B, n int, window time.Duration) {
	cam := camsimproc.Start(b, "-cameras", strconv.Itoa(n))
	var y strings.Builder
	fmt.Fprintf(&y, "data_dir: %s\nrecord: {before: 4s, after: 4s}\ncameras:\n", b.TempDir())
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&y, "  - {id: cam%d, name: 测试%d, grid: g1, url: %q, transport: tcp}\n", i, i, cam.URL(i))
	}
	cfg, err := configs.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	hub := ingest.NewHub(cfg, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = hub.Run(ctx); done <- struct{}{} }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		online := 0
		for _, h := range hub.Healths() {
			if h.Online {
				online++
			}
		}
		if online == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d cameras online after 60 s", online, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	received := func() uint64 {
		var sum uint64
		for _, h := range hub.Healths() {
			sum += h.Bytes
		}
		return sum
	}
	// the cameras alone
	c0, t0 := camsimproc.ProcCPU(os.Getpid()), time.Now()
	time.Sleep(window)
	base := (camsimproc.ProcCPU(os.Getpid()) - c0) / time.Since(t0).Seconds()

	rec, err := New(cfg, hub, log)
	if err != nil {
		b.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	go func() { _ = rec.Run(rctx); done <- struct{}{} }()
	defer func() { rcancel(); <-done }()
	time.Sleep(3 * time.Second) // every camera past its first key frame
	written := func() int64 {
		var sum int64
		for _, id := range rec.Cameras() {
			st, _ := rec.Stats(id)
			sum += st.Bytes
		}
		return sum
	}
	c1, r1, w1, t1 := camsimproc.ProcCPU(os.Getpid()), received(), written(), time.Now()
	time.Sleep(window)
	secs := time.Since(t1).Seconds()
	withRec := (camsimproc.ProcCPU(os.Getpid()) - c1) / secs
	r2, w2 := received(), written()

	// one clip per camera, asked now
	at := time.Now()
	var ids []string
	for _, id := range rec.Cameras() {
		cl, err := rec.Clip(id, "", "bench", at)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, cl.ID)
	}
	var worstReady time.Duration
	var earliest, latest int64 = 1 << 62, -1 << 62
	for _, id := range ids {
		for {
			cl, _ := rec.ClipInfo(id)
			if cl.State != ClipPending {
				if cl.State != ClipReady {
					b.Fatalf("clip %s: %s (%s)", id, cl.State, cl.Note)
				}
				worstReady = max(worstReady, time.Since(time.UnixMilli(cl.EndMS)))
				early := cl.StartMS - cl.FirstMS
				earliest, latest = min(earliest, early), max(latest, early)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	var dropped uint64
	for _, id := range rec.Cameras() {
		st, _ := rec.Stats(id)
		dropped += st.Dropped
	}
	b.ReportMetric((withRec-base)/float64(n)*1000, "rec-millicores/cam")
	b.ReportMetric(float64(w2-w1)*8/secs/1e6/float64(n), "written-Mbps/cam")
	b.ReportMetric(float64(r2-r1)*8/secs/1e6/float64(n), "camera-Mbps/cam")
	b.ReportMetric((float64(w2-w1)/float64(r2-r1)-1)*100, "written-vs-camera-%")
	b.ReportMetric(worstReady.Seconds(), "clip-playable-after-end-s")
	b.ReportMetric(float64(earliest)/1000, "clip-first-frame-early-min-s")
	b.ReportMetric(float64(latest)/1000, "clip-first-frame-early-max-s")
	b.ReportMetric(float64(dropped), "dropped-units")
}
