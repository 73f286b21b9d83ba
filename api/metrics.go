package api

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/ingest"
	"qianliyan/internal/schedlat"
	"qianliyan/record"
	"qianliyan/task"
)

// metrics writes the Prometheus text format by hand: a few dozen series
// do not need a client library. Series are per camera (and the process's
// own) and per grid; never per session or per user: their number has no bound, and a
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
	s.gridMetrics(c.Request.Context(), w)
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

// gridMetrics writes the figures of GET /api/stats per grid for today
// (the center's day, server.time_zone): one gauge per figure, labelled by
// grid only. Every grid of a camera has its series, zero or not; a grid
// only tasks name joins them while it has tasks today.
func (s *Server) gridMetrics(ctx context.Context, w *bufio.Writer) {
	if s.tasks == nil {
		return
	}
	zone := s.cfg.Server.Location()
	now := s.now().In(zone)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := s.tasks.Stats(ctx, task.StatsQuery{FromMS: from.UnixMilli(), ToMS: from.AddDate(0, 0, 1).UnixMilli(), Zone: zone})
	if err != nil {
		s.log.Warn("metrics: the grids' figures of today", "err", err)
		return
	}
	byGrid := map[string]task.Figures{}
	for _, g := range st.ByGrid {
		byGrid[g.Key] = g.Figures
	}
	for _, cam := range s.cfg.Cameras {
		if _, ok := byGrid[cam.Grid]; !ok && cam.Grid != "" {
			byGrid[cam.Grid] = task.Figures{}
		}
	}
	grids := slices.Sorted(maps.Keys(byGrid))
	series := []struct {
		name, help string
		v          func(f task.Figures) float64
	}{
		{"qly_grid_tasks_received_today", "tasks received (受理) today in the grid", func(f task.Figures) float64 { return float64(f.Received) }},
		{"qly_grid_tasks_dispatched_today", "of today's tasks, those dispatched (交办)", func(f task.Figures) float64 { return float64(f.Dispatched) }},
		{"qly_grid_tasks_closed_today", "of today's tasks, those closed (办结)", func(f task.Figures) float64 { return float64(f.Closed) }},
		{"qly_grid_tasks_closed_on_time_today", "of today's tasks, those closed on time", func(f task.Figures) float64 { return float64(f.ClosedOnTime) }},
		{"qly_grid_tasks_open_today", "of today's tasks, those still open", func(f task.Figures) float64 { return float64(f.Open) }},
		{"qly_grid_tasks_rejected_today", "of today's tasks, those rejected", func(f task.Figures) float64 { return float64(f.Rejected) }},
		{"qly_grid_ratings_today", "of today's tasks, those rated", func(f task.Figures) float64 { return float64(f.Rated) }},
		{"qly_grid_ratings_satisfied_today", "of today's tasks, those rated 4 or 5 stars", func(f task.Figures) float64 { return float64(f.Satisfied) }},
		{"qly_grid_dispatch_rate_today", "交办率: dispatched / received", func(f task.Figures) float64 { return f.DispatchRate }},
		{"qly_grid_closing_rate_today", "办结率: closed / received", func(f task.Figures) float64 { return f.ClosingRate }},
		{"qly_grid_on_time_rate_today", "按时办结率: closed on time / closed", func(f task.Figures) float64 { return f.OnTimeRate }},
		{"qly_grid_satisfaction_rate_today", "回访满意度: satisfied / rated", func(f task.Figures) float64 { return f.SatisfactionRate }},
	}
	for _, m := range series {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", m.name, m.help, m.name)
		for _, g := range grids {
			fmt.Fprintf(w, "%s{grid=%q} %s\n", m.name, g, num(m.v(byGrid[g])))
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
