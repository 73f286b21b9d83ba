package schedlat

import (
	"bytes"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// With one P and 128 goroutines that each run 1 ms, all but the first few
// wait over 5 ms to run. The runtime times one goroutine in 8 (chosen at
// random), so some of those are timed but for a chance of (7/8)^120: the
// waits read must show them, and survive the trip through /metrics' text.
func TestWaitsOfBusyProcessAreCountedAndRoundTrip(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	before := Read()
	var wg sync.WaitGroup
	for range 128 {
		wg.Go(func() {
			for end := time.Now().Add(time.Millisecond); time.Now().Before(end); {
			}
		})
	}
	wg.Wait()
	d := Read().Since(before)
	if q := d.Quantile(1); q < 0.01 {
		t.Errorf("longest wait ≤ %v s with 128 goroutines of 1 ms on one P; want over 5 ms (%v)", q, d)
	}
	var page bytes.Buffer
	page.WriteString("other_metric 1\n")
	d.WriteProm(&page, "go_sched_latencies_seconds")
	back, err := ParseProm(&page, "go_sched_latencies_seconds")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back, d) {
		t.Errorf("read back %v, wrote %v", back, d)
	}
}

func TestQuantileIsTheBucketsUpperBound(t *testing.T) {
	h := make(Histogram, len(Bounds)+1)
	h[0], h[3] = 98, 2 // 98 waits ≤ 0.1 ms, 2 in (1 ms, 5 ms]
	for _, tc := range []struct{ q, want float64 }{{0.5, 0.0001}, {0.98, 0.0001}, {0.99, 0.005}, {1, 0.005}} {
		if got := h.Quantile(tc.q); got != tc.want {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	h[len(Bounds)] = 100
	if got := h.Quantile(0.99); !math.IsInf(got, 1) {
		t.Errorf("Quantile(0.99) with half the waits past 1 s = %v, want +Inf", got)
	}
	if got := make(Histogram, len(Bounds)+1).Quantile(0.99); got != 0 {
		t.Errorf("Quantile of no waits = %v, want 0", got)
	}
}

func TestParsePromRefusesWhatItDidNotWrite(t *testing.T) {
	var page bytes.Buffer
	make(Histogram, len(Bounds)+1).WriteProm(&page, "x")
	full := page.String()
	for name, text := range map[string]string{
		"missing":       "",
		"a bucket less": strings.Replace(full, "x_bucket{le=\"1\"} 0\n", "", 1),
		"other bounds":  strings.Replace(full, "le=\"0.0001\"", "le=\"0.0002\"", 1),
		"decreasing":    strings.Replace(full, "x_bucket{le=\"0.0001\"} 0", "x_bucket{le=\"0.0001\"} 5", 1),
	} {
		if _, err := ParseProm(strings.NewReader(text), "x"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
