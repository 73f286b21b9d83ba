package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"qianliyan/configs"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
)

// BenchmarkIngest measures what the bridge pays to pull N 720p cameras at
// once: CPU (cores) and resident memory per camera, GOP caches included,
// and what camsim pays to serve them. Run with -benchtime 1x: each run
// measures a 10 s window after every camera is online.
func BenchmarkIngest(b *testing.B) {
	for _, n := range []int{32, 128} {
		b.Run(fmt.Sprintf("cameras=%d", n), func(b *testing.B) {
			for b.Loop() {
				measureIngest(b, n, 10*time.Second)
			}
		})
	}
}

func measureIngest(b *testing.B, n int, window time.Duration) {
	cam := camsimproc.Start(b, "-cameras", strconv.Itoa(n))
	var y strings.Builder
	y.WriteString("cameras:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&y, "  - {id: cam%d, name: 测试%d, grid: g1, url: %q, transport: tcp}\n", i, i, cam.URL(i))
	}
	cfg, err := configs.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	rss0 := camsimproc.ProcRSS(os.Getpid())
	hub := ingest.NewHub(cfg, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = hub.Run(ctx) }()
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
	time.Sleep(2 * time.Second) // let every GOP cache fill once

	var bytes0 uint64
	for _, h := range hub.Healths() {
		bytes0 += h.Bytes
	}
	self0, sim0, t0 := camsimproc.ProcCPU(os.Getpid()), camsimproc.ProcCPU(cam.PID()), time.Now()
	time.Sleep(window)
	self1, sim1, t1 := camsimproc.ProcCPU(os.Getpid()), camsimproc.ProcCPU(cam.PID()), time.Now()
	var bytes1 uint64
	online := 0
	for _, h := range hub.Healths() {
		bytes1 += h.Bytes
		if h.Online {
			online++
		}
	}
	if online != n {
		b.Fatalf("only %d of %d cameras stayed online", online, n)
	}
	secs := t1.Sub(t0).Seconds()
	cores := (self1 - self0) / secs
	rss := (camsimproc.ProcRSS(os.Getpid()) - rss0) / (1 << 20)
	b.ReportMetric(cores, "bridge-cores")
	b.ReportMetric(cores/float64(n)*1000, "bridge-millicores/cam")
	b.ReportMetric(rss/float64(n), "bridge-MiB/cam")
	b.ReportMetric((sim1-sim0)/secs, "camsim-cores")
	b.ReportMetric(float64(bytes1-bytes0)*8/secs/1e6/float64(n), "Mbps/cam")
}
