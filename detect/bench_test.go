package detect_test

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
	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
)

// record pulls n units of a camsim camera of the given size.
func record(b *testing.B, size string, n int) []*ingest.Unit {
	cam := camsimproc.Start(b, "-cameras", "1", "-size", size, "-variants", "1")
	cfg, err := configs.Parse("bench.yaml", []byte(fmt.Sprintf("cameras:\n  - {id: c, name: c, grid: g, url: %q, transport: tcp}\n", cam.URL(1))))
	if err != nil {
		b.Fatal(err)
	}
	s := ingest.NewStream("c", cfg.Ingest.GOPMaxBytes)
	r := ingest.NewReader(cfg.Cameras[0], cfg.Ingest, s, slog.New(slog.DiscardHandler))
	sub := s.Subscribe("bench", n+10, false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var units []*ingest.Unit
	for len(units) < n {
		select {
		case u := <-sub.C:
			units = append(units, u)
		case <-time.After(15 * time.Second):
			b.Fatalf("only %d units from camsim", len(units))
		}
	}
	return units
}

// BenchmarkDecode measures libavcodec (one thread) decoding camsim's H.264:
// pictures per CPU-second, i.e. per core, every frame and key frames only.
func BenchmarkDecode(b *testing.B) {
	for _, size := range []string{"1280x720", "1920x1080"} {
		units := record(b, size, 100) // two 2 s GOPs
		for _, keyOnly := range []bool{false, true} {
			name := fmt.Sprintf("%s/every-frame", size)
			if keyOnly {
				name = fmt.Sprintf("%s/key-frames-only", size)
			}
			b.Run(name, func(b *testing.B) {
				dec, err := detect.NewDecoder(ingest.H264, 1)
				if err != nil {
					b.Fatal(err)
				}
				defer dec.Close()
				pictures := 0
				cpu0 := camsimproc.ProcCPU(os.Getpid())
				for b.Loop() {
					for _, u := range units {
						if keyOnly && !u.Key {
							continue
						}
						if img, err := dec.Decode(u.NALUs); err == nil && img != nil {
							pictures++
						}
					}
				}
				b.ReportMetric(float64(pictures)/(camsimproc.ProcCPU(os.Getpid())-cpu0), "pictures/core-s")
			})
		}
	}
}

// BenchmarkIdleCameras measures the bridge's ingest plus idle detection
// (key frames decoded and analysed) of 128 camsim cameras at 720p.
func BenchmarkIdleCameras(b *testing.B) {
	for _, mode := range []detect.Mode{detect.Idle, detect.Auto} {
		b.Run("mode="+mode.String(), func(b *testing.B) { benchCameras(b, mode) })
	}
}

// benchCameras runs detection in mode on 128 of camsim's streets (cars
// passing, nobody in the zones) and reports its cores, the pictures decoded
// a second and, in Auto mode, how many cameras were stepped up at the end.
func benchCameras(b *testing.B, mode detect.Mode) {
	n := 128
	if v := os.Getenv("QLY_BENCH_CAMERAS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	cam := camsimproc.Start(b, "-cameras", strconv.Itoa(n))
	var y strings.Builder
	y.WriteString("cameras:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&y, "  - {id: cam%d, name: c, grid: g, url: %q, transport: tcp, zones: [{name: z, kind: bin, polygon: [[0.27,0.46],[0.43,0.46],[0.43,0.64],[0.27,0.64]]}]}\n", i, cam.URL(i))
	}
	cfg, err := configs.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		hub := ingest.NewHub(cfg, slog.New(slog.DiscardHandler))
		store := testStore(b)
		d := detect.NewDetector(cfg, hub, store, detect.Options{Mode: mode, CalmFor: time.Hour}, time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{}, 2)
		go func() { _ = hub.Run(ctx); done <- struct{}{} }()
		go func() { _ = d.Run(ctx); done <- struct{}{} }()
		deadline := time.Now().Add(60 * time.Second)
		for online(hub, n) < n {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d cameras online", online(hub, n), n)
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(3 * time.Second)
		var dec0, ups0 uint64
		for i := 1; i <= n; i++ {
			st := d.Watcher(fmt.Sprintf("cam%d", i)).Stats()
			dec0, ups0 = dec0+st.Decoded, ups0+st.StepUps
		}
		cpu0, t0 := camsimproc.ProcCPU(os.Getpid()), time.Now()
		time.Sleep(10 * time.Second)
		secs := time.Since(t0).Seconds()
		cores := (camsimproc.ProcCPU(os.Getpid()) - cpu0) / secs
		var dec1, up, ups1 uint64
		for i := 1; i <= n; i++ {
			st := d.Watcher(fmt.Sprintf("cam%d", i)).Stats()
			dec1, ups1 = dec1+st.Decoded, ups1+st.StepUps
			if st.Stepped {
				up++
			}
		}
		cancel()
		<-done
		<-done
		b.ReportMetric(cores, "cores")
		b.ReportMetric(float64(dec1-dec0)/secs, "pictures-decoded/s")
		b.ReportMetric(float64(up), "stepped-up")
		b.ReportMetric(float64(ups1-ups0)/secs, "step-ups/s")
	}
}

func online(hub *ingest.Hub, n int) int {
	k := 0
	for _, h := range hub.Healths() {
		if h.Online {
			k++
		}
	}
	return k
}
