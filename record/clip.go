package record

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// The states of a clip.
const (
	ClipPending = "pending" // record.after has not passed yet
	ClipReady   = "ready"   // cut; the file plays
	ClipFailed  = "failed"  // nothing of its time was recorded
)

// clipGrace is how long after its end a clip waits for the recording to
// reach it (a fragment is written every second) before it is cut with
// what there is.
const clipGrace = 5 * time.Second

// Clip is a piece of a camera's recording kept as evidence. StartMS and
// EndMS are what was asked (the moment less record.before, plus
// record.after); FirstMS and LastMS what the file holds, from the key frame
// at or before StartMS.
type Clip struct {
	ID        string `json:"id"`
	Camera    string `json:"camera"`
	Task      string `json:"task,omitempty"`   // the task it is evidence of
	Reason    string `json:"reason,omitempty"` // the step: incident, arrive, verify, rework, submit
	AtMS      int64  `json:"at_ms"`            // the moment
	StartMS   int64  `json:"start_ms"`
	EndMS     int64  `json:"end_ms"`
	State     string `json:"state"` // ClipPending, ClipReady or ClipFailed
	FirstMS   int64  `json:"first_ms,omitempty"`
	LastMS    int64  `json:"last_ms,omitempty"`
	Bytes     int64  `json:"bytes,omitempty"`
	Short     bool   `json:"short,omitempty"` // holds less than asked: the camera dropped out, or was not recorded yet
	Note      string `json:"note,omitempty"`  // why it is short or failed, in words
	CreatedMS int64  `json:"created_ms"`
}

var (
	idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)
	clipID     = regexp.MustCompile(`^C[0-9a-v]{9,16}$`)
)

// ValidClipID reports whether id has the form of a clip id.
func ValidClipID(id string) bool { return clipID.MatchString(id) }

// newClipID is "C", the ms in base 32, then 4 random bytes: short and
// sortable, like task and incident ids.
func newClipID(at time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ms := strconv.FormatInt(at.UnixMilli(), 32)
	return "C" + strings.Repeat("0", max(0, 9-len(ms))) + ms + idEncoding.EncodeToString(b)
}

// ErrNotRecorded is returned for a clip of a camera that is not recorded.
var ErrNotRecorded = errors.New("the camera is not recorded")

// Clip asks for a clip of camera around at, evidence of task (may be
// empty: SetTask names it later) for reason. It returns at once with the
// clip pending; the file is cut once record.after has passed.
func (r *Recorder) Clip(camera, task, reason string, at time.Time) (Clip, error) {
	if r.cams[camera] == nil {
		return Clip{}, fmt.Errorf("camera %s: %w", camera, ErrNotRecorded)
	}
	now := r.now()
	cl := &Clip{ID: newClipID(now), Camera: camera, Task: task, Reason: reason, AtMS: at.UnixMilli(),
		StartMS: at.Add(-r.cfg.Before.D()).UnixMilli(), EndMS: at.Add(r.cfg.After.D()).UnixMilli(),
		State: ClipPending, CreatedMS: now.UnixMilli()}
	if err := r.saveClip(cl); err != nil {
		return Clip{}, err
	}
	r.mu.Lock()
	r.clips[cl.ID] = cl
	r.pending[cl.ID] = struct{}{}
	r.mu.Unlock()
	return *cl, nil
}

// SetTask names the task a clip is evidence of (its timeline lists it).
func (r *Recorder) SetTask(id, task string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cl := r.clips[id]
	if cl == nil {
		return fmt.Errorf("clip %s: no such clip", id)
	}
	cl.Task = task
	return r.saveClip(cl)
}

// ClipInfo returns a clip's description.
func (r *Recorder) ClipInfo(id string) (Clip, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cl := r.clips[id]
	if cl == nil {
		return Clip{}, false
	}
	return *cl, true
}

// ClipPath is the file of a clip (it exists once the clip is ready).
func (r *Recorder) ClipPath(id string) string { return filepath.Join(r.clipDir, id+".mp4") }

// saveClip writes a clip's description next to its file, atomically.
func (r *Recorder) saveClip(cl *Clip) error {
	b, err := json.Marshal(cl)
	if err != nil {
		return err
	}
	path := filepath.Join(r.clipDir, cl.ID+".json")
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return fmt.Errorf("clip %s: %w", cl.ID, err)
	}
	return os.Rename(path+".tmp", path)
}

// loadClips reads the descriptions of the clips on disk; pending ones are
// cut when their time comes, as before the restart.
func (r *Recorder) loadClips() error {
	ents, err := os.ReadDir(r.clipDir)
	if err != nil {
		return fmt.Errorf("clips: %w", err)
	}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !ValidClipID(id) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.clipDir, e.Name()))
		var cl Clip
		if err == nil {
			err = json.Unmarshal(b, &cl)
		}
		if err != nil || cl.ID != id {
			r.log.Warn("clip description not read", "clip", id, "err", err)
			continue
		}
		r.clips[id] = &cl
		if cl.State == ClipPending {
			r.pending[id] = struct{}{}
		}
	}
	return nil
}

// housekeep cuts the clips whose time has come, and removes old segments
// (record.keep, record.max_bytes) and old clips (record.evidence_days).
func (r *Recorder) housekeep(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var last time.Time
	for {
		r.cutDue()
		if now := r.now(); now.Sub(last) >= 5*time.Second {
			last = now
			r.Prune()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-r.wake:
		}
	}
}

// cutDue cuts every pending clip whose end the recording has reached, or
// whose camera stopped, or that waited clipGrace past its end.
func (r *Recorder) cutDue() {
	now := r.now()
	r.mu.Lock()
	var due []*Clip
	for id := range r.pending {
		cl := r.clips[id]
		if cl == nil || cl.State != ClipPending {
			delete(r.pending, id)
			continue
		}
		if now.UnixMilli() < cl.EndMS {
			continue
		}
		c := r.cams[cl.Camera]
		if c == nil { // asked before a restart whose config stopped recording the camera
			cp := *cl
			due = append(due, &cp)
			continue
		}
		c.mu.Lock()
		reached := c.open != nil && c.open.flushedMS >= cl.EndMS
		stopped := c.open == nil
		c.mu.Unlock()
		if reached || stopped || now.UnixMilli() >= cl.EndMS+clipGrace.Milliseconds() {
			cp := *cl
			due = append(due, &cp)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(due, func(a, b *Clip) int { return strings.Compare(a.ID, b.ID) })
	for _, cl := range due {
		if err := r.cut(cl); err != nil {
			cl.State, cl.Note = ClipFailed, err.Error()
			r.log.Warn("clip not cut", "clip", cl.ID, "camera", cl.Camera, "task", cl.Task, "err", err)
		} else {
			r.log.Info("clip cut", "clip", cl.ID, "camera", cl.Camera, "task", cl.Task, "short", cl.Short,
				"seconds", float64(cl.LastMS-cl.FirstMS)/1000)
		}
		r.mu.Lock()
		delete(r.pending, cl.ID)
		if cur := r.clips[cl.ID]; cur != nil {
			cl.Task = cur.Task // SetTask may have come meanwhile
			*cur = *cl
			if err := r.saveClip(cur); err != nil {
				r.log.Error("clip description not saved", "clip", cl.ID, "err", err)
			}
		}
		r.mu.Unlock()
	}
}

// source is a segment file a clip is cut from.
type source struct {
	path    string
	startMS int64
	endMS   int64 // for the open segment, how far it is on disk
}

// sources lists the files that hold [fromMS, toMS] of a camera, oldest
// first, the segment being written included.
func (c *camera) sources(fromMS, toMS int64) []source {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []source
	for _, s := range c.segs {
		if s.EndMS > fromMS && s.StartMS < toMS {
			out = append(out, source{filepath.Join(c.dir, s.Name), s.StartMS, s.EndMS})
		}
	}
	if o := c.open; o != nil && o.startMS < toMS && o.flushedMS > fromMS {
		out = append(out, source{o.path, o.startMS, o.flushedMS})
	}
	return out
}

// msOf is the wall clock of a DTS in a segment that starts at startMS.
func msOf(startMS int64, dts uint64) int64 { return startMS + int64(dts*1000/timeScale) }

// cut writes the clip's file from the segments, filling in what it holds;
// an error means there was nothing to cut.
func (r *Recorder) cut(cl *Clip) error {
	c := r.cams[cl.Camera]
	if c == nil {
		return fmt.Errorf("camera %s: %w any more (record: off, or gone from the config)", cl.Camera, ErrNotRecorded)
	}
	srcs := c.sources(cl.StartMS, cl.EndMS)
	var (
		init    *fmp4.Init
		out     []*fmp4.Sample
		prevEnd int64
		cutAt   string // why the clip ends early, if it does
	)
	for i, src := range srcs {
		sf, err := readSegment(src.path)
		if err != nil {
			if i == 0 {
				continue
			}
			cutAt = "a segment could not be read"
			break
		}
		if init != nil {
			if !sameTrack(init, &sf.init) {
				cutAt = "the camera's picture format changed"
				break
			}
			if src.startMS-prevEnd > 1000 {
				cutAt = fmt.Sprintf("the camera dropped out at %s", clock(prevEnd))
				break
			}
		}
		first := 0
		if init == nil {
			// the last key frame at or before the start, else the first one
			first = -1
			for j, s := range sf.samples {
				if msOf(src.startMS, s.dts) > cl.StartMS && first >= 0 {
					break
				}
				if !s.IsNonSyncSample {
					first = j
				}
			}
			if first < 0 {
				continue
			}
			init = &sf.init
			cl.FirstMS = msOf(src.startMS, sf.samples[first].dts)
		}
		for _, s := range sf.samples[first:] {
			t := msOf(src.startMS, s.dts)
			if t >= cl.EndMS {
				break
			}
			out = append(out, s.Sample)
			cl.LastMS = t + int64(s.Duration)*1000/timeScale
		}
		prevEnd = msOf(src.startMS, sf.end)
	}
	if init == nil || len(out) == 0 {
		cl.Short = true
		return fmt.Errorf("camera %s has no recording between %s and %s: it was offline or not recorded yet",
			cl.Camera, clock(cl.StartMS), clock(cl.EndMS))
	}
	var notes []string
	if cl.FirstMS > cl.StartMS+1000 {
		notes = append(notes, fmt.Sprintf("the recording starts only at %s", clock(cl.FirstMS)))
	}
	if cl.LastMS < cl.EndMS-1000 {
		if cutAt == "" {
			cutAt = fmt.Sprintf("the camera dropped out at %s", clock(cl.LastMS))
		}
		notes = append(notes, cutAt)
	}
	if len(notes) > 0 {
		cl.Short = true
		cl.Note = fmt.Sprintf("shorter than asked: %s (%.0f s of %.0f s)", strings.Join(notes, "; "),
			float64(cl.LastMS-cl.FirstMS)/1000, float64(cl.EndMS-cl.StartMS)/1000)
	}
	n, err := writeMP4(r.ClipPath(cl.ID), init, out)
	if err != nil {
		return err
	}
	cl.State, cl.Bytes = ClipReady, n
	return nil
}

// sameTrack reports whether two init blocks describe the same track.
func sameTrack(a, b *fmp4.Init) bool {
	var ba, bb seekablebuffer.Buffer
	return a.Marshal(&ba) == nil && b.Marshal(&bb) == nil && string(ba.Bytes()) == string(bb.Bytes())
}

// writeMP4 writes a standalone fragmented MP4 of samples: the init block,
// then a fragment per GOP so a player can seek. It writes to a temporary
// name first: a clip file is whole or absent.
func writeMP4(path string, init *fmp4.Init, samples []*fmp4.Sample) (int64, error) {
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return 0, err
	}
	var dts, base uint64
	var part []*fmp4.Sample
	seq := uint32(1)
	flush := func() error {
		if len(part) == 0 {
			return nil
		}
		p := fmp4.Part{SequenceNumber: seq, Tracks: []*fmp4.PartTrack{{ID: 1, BaseTime: base, Samples: part}}}
		seq++
		part = nil
		return p.Marshal(&buf)
	}
	for _, s := range samples {
		if !s.IsNonSyncSample || len(part) >= 250 {
			if err := flush(); err != nil {
				return 0, err
			}
		}
		if len(part) == 0 {
			base = dts
		}
		part = append(part, s)
		dts += uint64(s.Duration)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	return int64(buf.Len()), os.Rename(tmp, path)
}

// clock writes a time as people read it in logs and notes.
func clock(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04:05Z") }

// Prune removes segments older than record.keep, then the oldest past
// record.max_bytes, and clips older than record.evidence_days. A segment a
// pending clip still needs stays.
func (r *Recorder) Prune() {
	now := r.now()
	r.mu.Lock()
	var pending []Clip
	for id := range r.pending {
		if cl := r.clips[id]; cl != nil {
			pending = append(pending, *cl)
		}
	}
	r.mu.Unlock()
	needed := func(s Segment) bool {
		for _, cl := range pending {
			if cl.Camera == s.Camera && s.EndMS >= cl.StartMS && s.StartMS <= cl.EndMS {
				return true
			}
		}
		return false
	}
	keepFrom := now.Add(-r.cfg.Keep.D()).UnixMilli()
	var total int64
	for _, id := range r.order {
		c := r.cams[id]
		c.mu.Lock()
		kept := c.segs[:0]
		for _, s := range c.segs {
			if s.EndMS < keepFrom && !needed(s) && r.remove(c, s) {
				continue
			}
			kept = append(kept, s)
			total += s.Bytes
		}
		clear(c.segs[len(kept):])
		c.segs = kept
		c.mu.Unlock()
	}
	for quota := int64(r.cfg.MaxBytes); quota > 0 && total > quota; {
		var oldest *camera
		var seg Segment
		for _, id := range r.order {
			c := r.cams[id]
			c.mu.Lock()
			for _, s := range c.segs {
				if needed(s) {
					continue
				}
				if oldest == nil || s.StartMS < seg.StartMS {
					oldest, seg = c, s
				}
				break
			}
			c.mu.Unlock()
		}
		if oldest == nil {
			break // everything left is needed by a clip
		}
		oldest.mu.Lock()
		if r.remove(oldest, seg) {
			oldest.segs = slices.DeleteFunc(oldest.segs, func(s Segment) bool { return s.Name == seg.Name })
		}
		oldest.mu.Unlock()
		total -= seg.Bytes
	}
	r.pruneClips(now)
}

// remove deletes a segment's file; c.mu is held.
func (r *Recorder) remove(c *camera, s Segment) bool {
	if err := os.Remove(filepath.Join(c.dir, s.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.log.Error("recording: old segment not removed", "camera", c.id, "segment", s.Name, "err", err)
		return false
	}
	return true
}

// pruneClips removes the clips older than record.evidence_days.
func (r *Recorder) pruneClips(now time.Time) {
	before := now.AddDate(0, 0, -r.cfg.EvidenceDays).UnixMilli()
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, cl := range r.clips {
		if cl.CreatedMS >= before || cl.State == ClipPending {
			continue
		}
		for _, p := range []string{r.ClipPath(id), filepath.Join(r.clipDir, id+".json")} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				r.log.Error("old clip not removed", "clip", id, "err", err)
			}
		}
		delete(r.clips, id)
	}
}
