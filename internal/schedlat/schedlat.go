// Package schedlat reads how long goroutines wait to run (the Go runtime's
// /sched/latencies:seconds) in a few fixed buckets: a process short of CPU
// shows it here, as waits, before anyone measures its CPU. The bridge
// serves it in /metrics; the load generator reads its own; the bench tells
// from the two which side a slow join waited on.
package schedlat

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
)

// Bounds are the buckets' upper bounds, in seconds; a last bucket, +Inf,
// follows.
var Bounds = []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 10}

// Histogram counts waits per bucket of Bounds (and one past the last).
type Histogram []uint64

// Read returns the waits of this process so far. The runtime's own buckets
// are finer; each goes to the first of Bounds at or above its upper end,
// so a wait is never counted as shorter than it was.
func Read() Histogram {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	h := make(Histogram, len(Bounds)+1)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return h
	}
	rh := s[0].Value.Float64Histogram()
	for i, c := range rh.Counts {
		h[sort.SearchFloat64s(Bounds, rh.Buckets[i+1])] += c
	}
	return h
}

// Since returns the waits counted in h and not in before.
func (h Histogram) Since(before Histogram) Histogram {
	d := make(Histogram, len(h))
	for i := range h {
		d[i] = h[i] - before[i]
	}
	return d
}

// Quantile returns the upper bound of the bucket holding quantile q of the
// waits, in seconds (+Inf past the last bound; 0 with no waits).
func (h Histogram) Quantile(q float64) float64 {
	var total uint64
	for _, c := range h {
		total += c
	}
	if total == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range h {
		if seen += c; seen >= want && c > 0 {
			if i < len(Bounds) {
				return Bounds[i]
			}
			break
		}
	}
	return math.Inf(1)
}

// WriteProm writes h as the Prometheus histogram name: cumulative buckets
// and their count. The runtime keeps no sum of waits, so none is written.
func (h Histogram) WriteProm(w io.Writer, name string) {
	fmt.Fprintf(w, "# HELP %s how long goroutines waited to run\n# TYPE %s histogram\n", name, name)
	var cum uint64
	for i, c := range h {
		cum += c
		le := "+Inf"
		if i < len(Bounds) {
			le = strconv.FormatFloat(Bounds[i], 'g', -1, 64)
		}
		fmt.Fprintf(w, "%s_bucket{le=%q} %d\n", name, le, cum)
	}
	fmt.Fprintf(w, "%s_count %d\n", name, cum)
}

// ParseProm reads the histogram name back from a Prometheus text page
// written by WriteProm.
func ParseProm(page io.Reader, name string) (Histogram, error) {
	h := make(Histogram, len(Bounds)+1)
	found := 0
	var prev uint64
	sc := bufio.NewScanner(page)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+`_bucket{le="`)
		if !ok {
			continue
		}
		le, count, ok := strings.Cut(rest, `"} `)
		if !ok || found == len(h) {
			return nil, fmt.Errorf("schedlat: unexpected line %q", sc.Text())
		}
		want := "+Inf"
		if found < len(Bounds) {
			want = strconv.FormatFloat(Bounds[found], 'g', -1, 64)
		}
		cum, err := strconv.ParseUint(count, 10, 64)
		if le != want || err != nil || cum < prev {
			return nil, fmt.Errorf("schedlat: bucket %d is %q, want le=%q with a count not below %d", found, sc.Text(), want, prev)
		}
		h[found], prev = cum-prev, cum
		found++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if found != len(h) {
		return nil, fmt.Errorf("schedlat: %d of %d buckets of %s found", found, len(h), name)
	}
	return h, nil
}
