package api

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"qianliyan/ingest"
	"qianliyan/internal/schedlat"
	"qianliyan/record"
)

// metrics writes the Prometheus text format by hand: a few dozen series
// do not need a client library. Series are per camera (and the process's
// own); never per session or per user: their number has no bound, and a
// session's id in a label told strangers who watched what. A session's
// figures are in GET /api/cameras/{id} for staff.
func (s *Server) metrics(c *gin.Context) error {
	c.Header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w := bufio.NewWriter(c.Writer)
	defer w.Flush()
	hs := s.cams.Healths()
	series := []struct {
		name, kind, help string
		v                func(h ingest.Health) float64
	}{
		{"qly_camera_online", "gauge", "1 when the camera is sending video", func(h ingest.Health) float64 { return b2f(h.Online) }},
		{"qly_camera_bytes_total", "counter", "RTP bytes received from the camera", func(h ingest.Health) float64 { return float64(h.Bytes) }},
		{"qly_camera_frames_total", "counter", "access units received from the camera", func(h ingest.Health) float64 { return float64(h.Frames) }},
		{"qly_camera_reconnects_total", "counter", "reconnection attempts", func(h ingest.Health) float64 { return float64(h.Reconnects) }},
		{"qly_camera_dropped_units_total", "counter", "access units dropped by slow subscribers", func(h ingest.Health) float64 { return float64(h.Dropped) }},
		{"qly_camera_lost_packets_total", "counter", "RTP packets lost between camera and bridge", func(h ingest.Health) float64 { return float64(h.LostPackets) }},
		{"qly_camera_fps", "gauge", "frames per second over the last seconds", func(h ingest.Health) float64 { return h.FPS }},
		{"qly_camera_bitrate_bps", "gauge", "bits per second over the last seconds", func(h ingest.Health) float64 { return h.Bitrate }},
		{"qly_camera_subscribers", "gauge", "readers attached to the camera's stream", func(h ingest.Health) float64 { return float64(h.Subscribers) }},
	}
	for _, m := range series {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.kind)
		for _, h := range hs {
			fmt.Fprintf(w, "%s{camera=%q} %s\n", m.name, h.Camera, num(m.v(h)))
		}
	}
	viewers := s.relay.Viewers()
	fmt.Fprintf(w, "# HELP qly_camera_viewers WebRTC viewers of the camera (main and sub-stream)\n# TYPE qly_camera_viewers gauge\n")
	for _, h := range hs {
		fmt.Fprintf(w, "qly_camera_viewers{camera=%q} %d\n", h.Camera, viewers[h.Camera]+viewers[ingest.SubID(h.Camera)])
	}
	if s.rec != nil {
		s.recordMetrics(w)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gauge(w, "go_goroutines", "goroutines that currently exist", float64(runtime.NumGoroutine()))
	gauge(w, "go_memstats_heap_alloc_bytes", "heap bytes allocated and in use", float64(ms.HeapAlloc))
	gauge(w, "go_memstats_sys_bytes", "bytes obtained from the OS", float64(ms.Sys))
	schedlat.Read().WriteProm(w, "go_sched_latencies_seconds")
	if rss, cpu, ok := procStat(); ok {
		gauge(w, "process_resident_memory_bytes", "resident set size", rss)
		fmt.Fprintf(w, "# HELP process_cpu_seconds_total user and system CPU time\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %s\n", num(cpu))
	}
	return nil
}

// recordMetrics writes the recording's series, per camera recorded.
func (s *Server) recordMetrics(w *bufio.Writer) {
	for _, m := range []struct {
		name, kind, help string
		v                func(st record.Stats) float64
	}{
		{"qly_record_bytes_total", "counter", "bytes of the camera's recording written", func(st record.Stats) float64 { return float64(st.Bytes) }},
		{"qly_record_dropped_units_total", "counter", "access units the recording lost because the disk was behind", func(st record.Stats) float64 { return float64(st.Dropped) }},
		{"qly_record_disk_bytes", "gauge", "bytes of the camera's segments on disk", func(st record.Stats) float64 { return float64(st.OnDisk) }},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.kind)
		for _, id := range s.rec.Cameras() {
			st, _ := s.rec.Stats(id)
			fmt.Fprintf(w, "%s{camera=%q} %s\n", m.name, id, num(m.v(st)))
		}
	}
}

func gauge(w *bufio.Writer, name, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, num(v))
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// procStat reads RSS and CPU seconds of this process from /proc (Linux).
func procStat() (rss, cpu float64, ok bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, false
	}
	// fields after the command name, which may hold spaces, in parentheses
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 22 {
		return 0, 0, false
	}
	const ticks = 100 // USER_HZ on Linux
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	pages, _ := strconv.ParseFloat(f[21], 64)
	return pages * float64(os.Getpagesize()), (ut + st) / ticks, true
}
