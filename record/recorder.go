// Package record keeps a rolling recording of every camera and the clips
// cut from it as evidence of tasks.
//
// Each camera's stream (its main stream, or the sub-stream with record:
// sub) is written without transcoding as fragmented MP4 segments under
// data_dir/rec/{camera}/, each a standalone file starting at a key frame
// and about SegmentLength long, named by its wall-clock start and end in
// ms ({start}-{end}.mp4; the one being written is {start}.part). The index
// of segments is the directory listing: a restart keeps every segment and
// repairs the one a crash left half written. Segments older than
// record.keep go, and past record.max_bytes the oldest go first, except
// those a clip still waiting to be cut needs.
//
// A clip (Clip) is asked for a moment: it covers record.before to
// record.after around it, starts at the key frame at or before its start,
// and is cut from the segments (no re-encode) once record.after has passed,
// into data_dir/clips/{id}.mp4 with its description in {id}.json. It is
// kept record.evidence_days. A camera that dropped out gives a shorter
// clip whose Note says so.
//
// The recorder is one more subscriber of ingest.Stream with a bounded
// queue: when the disk is slow it loses units (counted) and starts a new
// segment at the next key frame; it never holds the camera's reader back.
package record

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"qianliyan/configs"
	"qianliyan/ingest"
)

// DefaultSegmentLength is how long a segment runs before the next key
// frame starts a new one.
const DefaultSegmentLength = 10 * time.Second

// stallAfter is how long a camera may send nothing before its segment is
// closed (it dropped out): the clips waiting on it are then cut at once.
const stallAfter = 2 * time.Second

// maxGap is the longest jump in a camera's timestamps that still counts as
// one recording; a longer one (or a step back) starts a new segment.
const maxGap = 2 * time.Second

// Streams gives a camera's stream, or its sub-stream for ingest.SubID
// (*ingest.Hub has it).
type Streams interface {
	Stream(id string) *ingest.Stream
}

// Recorder records every camera of the config that has recording on, and
// cuts the clips asked of it. Run starts it.
type Recorder struct {
	// SegmentLength is how long a segment runs before a key frame starts
	// the next (DefaultSegmentLength); set it before Run.
	SegmentLength time.Duration

	dir      string // data_dir/rec
	clipDir  string // data_dir/clips
	cfg      configs.Record
	queueLen int
	src      Streams
	log      *slog.Logger
	now      func() time.Time

	order []string
	cams  map[string]*camera

	mu      sync.Mutex
	clips   map[string]*Clip    // by id
	pending map[string]struct{} // ids of the clips not cut yet
	wake    chan struct{}
}

// camera is the recording of one camera.
type camera struct {
	id     string
	stream string // the stream id it records (the camera's, or its sub-stream's)
	dir    string

	mu   sync.Mutex
	segs []Segment // closed, by start
	open *openSegment

	units   atomic.Uint64 // units written
	dropped atomic.Uint64 // units the subscription lost
	bytes   atomic.Int64  // bytes written, all time
}

// openSegment is what readers may know of the segment being written.
type openSegment struct {
	path      string
	startMS   int64
	flushedMS int64 // on disk up to here
}

// New returns the recorder of cfg's cameras, reading the index of what
// data_dir already holds (segments and clips).
func New(cfg *configs.Config, src Streams, log *slog.Logger) (*Recorder, error) {
	r := &Recorder{
		SegmentLength: DefaultSegmentLength,
		dir:           filepath.Join(cfg.DataDir, "rec"), clipDir: filepath.Join(cfg.DataDir, "clips"),
		cfg: cfg.Record, queueLen: max(cfg.Ingest.QueueLen, 256), src: src, log: log, now: time.Now,
		cams: map[string]*camera{}, clips: map[string]*Clip{}, pending: map[string]struct{}{}, wake: make(chan struct{}, 1),
	}
	for _, c := range cfg.Cameras {
		if c.Record == configs.RecordOff {
			continue
		}
		stream := c.ID
		if c.Record == configs.RecordSub {
			stream = ingest.SubID(c.ID)
		}
		cam := &camera{id: c.ID, stream: stream, dir: filepath.Join(r.dir, c.ID)}
		if err := os.MkdirAll(cam.dir, 0o755); err != nil {
			return nil, fmt.Errorf("recording of camera %s: %w", c.ID, err)
		}
		if err := cam.load(log); err != nil {
			return nil, fmt.Errorf("recording of camera %s: %w", c.ID, err)
		}
		r.cams[c.ID] = cam
		r.order = append(r.order, c.ID)
	}
	if err := os.MkdirAll(r.clipDir, 0o755); err != nil {
		return nil, fmt.Errorf("clips: %w", err)
	}
	if err := r.loadClips(); err != nil {
		return nil, err
	}
	return r, nil
}

// load rebuilds the camera's index from its directory, and closes the
// segment a crash left open (what is whole of it).
func (c *camera) load(log *slog.Logger) error {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if base, ok := strings.CutSuffix(name, ".part"); ok {
			seg, ok := repair(c.id, filepath.Join(c.dir, name), base)
			if !ok {
				continue
			}
			log.Info("recording: half-written segment kept", "camera", c.id, "segment", seg.Name)
			c.segs = append(c.segs, seg)
			continue
		}
		seg, ok := parseName(c.id, name)
		if !ok {
			continue
		}
		if fi, err := e.Info(); err == nil {
			seg.Bytes = fi.Size()
		}
		c.segs = append(c.segs, seg)
	}
	slices.SortFunc(c.segs, func(a, b Segment) int { return int(a.StartMS - b.StartMS) })
	return nil
}

// parseName reads a closed segment's times from its name.
func parseName(camera, name string) (Segment, bool) {
	base, ok := strings.CutSuffix(name, ".mp4")
	if !ok {
		return Segment{}, false
	}
	a, b, ok := strings.Cut(base, "-")
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || end < start {
		return Segment{}, false
	}
	return Segment{Camera: camera, Name: name, StartMS: start, EndMS: end}, true
}

// repair turns a segment left open into a closed one, cut after its last
// whole fragment; one with no whole fragment is removed.
func repair(camera, path, base string) (Segment, bool) {
	start, err := strconv.ParseInt(base, 10, 64)
	sf, rerr := readSegment(path)
	if err != nil || rerr != nil || len(sf.samples) == 0 {
		_ = os.Remove(path)
		return Segment{}, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Segment{}, false
	}
	ib, fb := boxes(b)
	whole := len(ib) + len(fb)
	seg := Segment{Camera: camera, StartMS: start, EndMS: start + int64(sf.end*1000/timeScale), Bytes: int64(whole)}
	seg.Name = segmentName(seg.StartMS, seg.EndMS)
	if err := os.Truncate(path, int64(whole)); err != nil {
		return Segment{}, false
	}
	if err := os.Rename(path, filepath.Join(filepath.Dir(path), seg.Name)); err != nil {
		return Segment{}, false
	}
	return seg, true
}

// Run records until ctx ends, and cuts clips and removes old segments and
// clips meanwhile.
func (r *Recorder) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, id := range r.order {
		cam := r.cams[id]
		wg.Go(func() { r.record(ctx, cam) })
	}
	wg.Go(func() { r.housekeep(ctx) })
	wg.Wait()
	return nil
}

// Cameras returns the ids of the cameras recorded, in config order.
func (r *Recorder) Cameras() []string { return r.order }

// Stats are a camera's recording counters.
type Stats struct {
	Units    uint64 `json:"units"`    // access units written
	Dropped  uint64 `json:"dropped"`  // units lost because the disk was behind
	Bytes    int64  `json:"bytes"`    // bytes written since start
	Segments int    `json:"segments"` // closed segments on disk
	OnDisk   int64  `json:"on_disk"`  // their bytes
	FromMS   int64  `json:"from_ms"`  // the start of the oldest, 0 when none
}

// Stats returns a camera's counters; ok is false for a camera not recorded.
func (r *Recorder) Stats(camera string) (Stats, bool) {
	c := r.cams[camera]
	if c == nil {
		return Stats{}, false
	}
	st := Stats{Units: c.units.Load(), Dropped: c.dropped.Load(), Bytes: c.bytes.Load()}
	c.mu.Lock()
	defer c.mu.Unlock()
	st.Segments = len(c.segs)
	for _, s := range c.segs {
		st.OnDisk += s.Bytes
	}
	if len(c.segs) > 0 {
		st.FromMS = c.segs[0].StartMS
	}
	return st, true
}

// Segments lists the camera's closed segments that overlap [fromMS, toMS],
// oldest first.
func (r *Recorder) Segments(camera string, fromMS, toMS int64) []Segment {
	c := r.cams[camera]
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Segment
	for _, s := range c.segs {
		if s.EndMS >= fromMS && s.StartMS <= toMS {
			out = append(out, s)
		}
	}
	return out
}

// SegmentPath returns the file of a camera's closed segment by name, or ok
// false when there is none (names are checked against the index, so no
// path can be made up).
func (r *Recorder) SegmentPath(camera, name string) (string, bool) {
	c := r.cams[camera]
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.segs {
		if s.Name == name {
			return filepath.Join(c.dir, name), true
		}
	}
	return "", false
}

// record writes the camera's stream until ctx ends.
func (r *Recorder) record(ctx context.Context, c *camera) {
	stream := r.src.Stream(c.stream)
	if stream == nil {
		r.log.Error("recording: no such stream", "camera", c.id, "stream", c.stream)
		return
	}
	// From the cached GOP: the first segment starts at once, at a key frame.
	sub := stream.Subscribe("record", r.queueLen, true)
	defer sub.Close()
	w := &camWriter{r: r, c: c}
	defer w.closeSegment(0)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-sub.C:
			if !ok {
				return
			}
			w.unit(u, sub.Dropped())
		case <-tick.C:
			if w.seg != nil && r.now().Sub(w.lastAt) > stallAfter {
				w.closeSegment(0) // the camera dropped out: what waits on it is cut now
				r.poke()
			}
		}
	}
}

// camWriter is the state of one camera's record loop.
type camWriter struct {
	r       *Recorder
	c       *camera
	seg     *segWriter
	dropped uint64
	lastAt  time.Time
	lastEnd int64 // end of the last closed segment, for continuity
}

// unit writes one unit; dropped is the subscription's count of lost units.
func (w *camWriter) unit(u *ingest.Unit, dropped uint64) {
	w.lastAt = w.r.now()
	lost := dropped != w.dropped
	if lost {
		w.c.dropped.Store(dropped)
		w.dropped = dropped
	}
	if s := w.seg; s != nil {
		dts, off, terr := s.timing(u)
		gap := dts - int64(s.nextDTS)
		var params string
		if u.Key {
			_, _, _, params = paramsOf(u)
		}
		switch {
		case lost || u.Epoch != s.epoch || terr != nil || gap < 0 || gap > ticks(maxGap):
			w.closeSegment(0)
		case u.Key && (params != s.params || time.Duration(s.durationMS())*time.Millisecond >= w.r.SegmentLength):
			w.closeSegment(uint32(gap))
		default:
			if err := s.add(u, dts, off); err != nil {
				w.r.log.Error("recording: write failed", "camera", w.c.id, "err", err)
				s.abort()
				w.seg = nil
				return
			}
			w.c.units.Add(1)
			w.publish()
			return
		}
	}
	if !u.Key {
		return
	}
	s, err := startSegment(w.c.dir, u)
	if err != nil {
		w.r.log.Error("recording: segment not started", "camera", w.c.id, "err", err)
		return
	}
	// Back to back with the last segment: keep the timeline continuous
	// rather than follow the arrival jitter of the key frame.
	if d := s.startMS - w.lastEnd; d > -500 && d < 500 {
		s.startMS = w.lastEnd
	}
	w.seg = s
	w.c.units.Add(1)
	w.publish()
}

// publish tells readers how far the open segment is on disk.
func (w *camWriter) publish() {
	s := w.seg
	w.c.bytes.Add(s.bytes - s.counted)
	s.counted = s.bytes
	w.c.mu.Lock()
	if o := w.c.open; o != nil && o.path == s.path {
		o.flushedMS = s.flushedMS() // per unit: no allocation
	} else {
		w.c.open = &openSegment{path: s.path, startMS: s.startMS, flushedMS: s.flushedMS()}
	}
	w.c.mu.Unlock()
}

// closeSegment closes the open segment, the last unit lasting dur (0: as
// long as the one before), and adds it to the index.
func (w *camWriter) closeSegment(dur uint32) {
	s := w.seg
	if s == nil {
		return
	}
	w.seg = nil
	seg, ok, err := s.close(w.c.id, dur)
	w.c.bytes.Add(s.bytes - s.counted)
	if err != nil {
		w.r.log.Error("recording: segment not closed", "camera", w.c.id, "err", err)
	}
	w.c.mu.Lock()
	w.c.open = nil
	if ok {
		w.c.segs = append(w.c.segs, seg)
		w.lastEnd = seg.EndMS
	}
	w.c.mu.Unlock()
	if ok {
		w.r.poke()
	}
}

// poke wakes the housekeeping loop (a segment closed: clips may be due).
func (r *Recorder) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}
