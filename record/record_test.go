package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"qianliyan/configs"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/testenv"
)

// gop is camsim's GOP: 2 s.
const gop = 2 * time.Second

// rig is a camsim camera pulled by an ingest.Hub and recorded.
type rig struct {
	cam  *camsimproc.Proc
	cfg  *configs.Config
	hub  *ingest.Hub
	rec  *Recorder
	stop func()
}

// newRig records camera 1 of a fresh camsim into a temporary data_dir,
// segments of segLen; extra YAML goes under record:.
func newRig(t *testing.T, segLen time.Duration, record string) *rig {
	t.Helper()
	cam := camsimproc.Start(t, "-cameras", "1", "-size", "640x360")
	return startRig(t, cam, t.TempDir(), segLen, record)
}

func startRig(t *testing.T, cam *camsimproc.Proc, dir string, segLen time.Duration, record string) *rig {
	t.Helper()
	y := fmt.Sprintf("data_dir: %s\ningest: {backoff_min: 200ms, backoff_max: 500ms, stall_timeout: 2s}\nrecord:\n%s\ncameras:\n  - {id: cam1, name: 一, grid: g, url: %q, transport: tcp}\n",
		dir, record, cam.URL(1))
	cfg, err := configs.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	hub := ingest.NewHub(cfg, log)
	rec, err := New(cfg, hub, log)
	if err != nil {
		t.Fatal(err)
	}
	rec.SegmentLength = segLen
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = hub.Run(ctx); done <- struct{}{} }()
	go func() { _ = rec.Run(ctx); done <- struct{}{} }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			<-done
		}
	}
	t.Cleanup(stop)
	return &rig{cam: cam, cfg: cfg, hub: hub, rec: rec, stop: stop}
}

// probe is what ffprobe says of a file.
type probe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Packets []struct {
		DTS   string `json:"dts_time"`
		PTS   string `json:"pts_time"`
		Flags string `json:"flags"`
	} `json:"packets"`
}

func (p probe) duration() time.Duration {
	f, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return time.Duration(f * float64(time.Second))
}

// ffprobe reads path with ffprobe (an independent reader) and checks what
// every recording must be: H.264, starting at a key frame, timestamps
// going up, and it decodes from the start.
func ffprobe(t *testing.T, path string) probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_format", "-show_packets", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	if len(p.Streams) != 1 || p.Streams[0].CodecName != "h264" {
		t.Fatalf("%s: streams %+v, want one h264 stream", path, p.Streams)
	}
	if len(p.Packets) == 0 || !strings.Contains(p.Packets[0].Flags, "K") {
		t.Fatalf("%s: first packet %+v, want a key frame", path, p.Packets[:min(1, len(p.Packets))])
	}
	last := -1.0
	for i, pk := range p.Packets {
		d, err := strconv.ParseFloat(pk.DTS, 64)
		if err != nil || d <= last {
			t.Fatalf("%s: packet %d dts %q after %g: timestamps must go up", path, i, pk.DTS, last)
		}
		last = d
	}
	// Playable from the start: ffmpeg decodes the first second without an error.
	dec := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", path, "-t", "1", "-f", "null", "-")
	if msg, err := dec.CombinedOutput(); err != nil || len(strings.TrimSpace(string(msg))) > 0 {
		t.Fatalf("%s does not decode from its start: %v %s", path, err, msg)
	}
	return p
}

func near(got, want, tol time.Duration) bool { return got >= want-tol && got <= want+tol }

func TestSegmentsAreStandaloneH264FromAKeyFrame(t *testing.T) {
	r := newRig(t, 4*time.Second, "  keep: 1m")
	testenv.WaitFor(t, "three closed segments", 40*time.Second, func() bool {
		return len(r.rec.Segments("cam1", 0, 1<<62)) >= 3
	})
	segs := r.rec.Segments("cam1", 0, 1<<62)
	for i, s := range segs[:3] {
		path, ok := r.rec.SegmentPath("cam1", s.Name)
		if !ok {
			t.Fatalf("segment %s has no path", s.Name)
		}
		p := ffprobe(t, path)
		if got := p.duration(); !near(got, 4*time.Second, gop) {
			t.Errorf("segment %d lasts %v (ffprobe), want 4 s ± one GOP", i, got)
		}
		if named := time.Duration(s.EndMS-s.StartMS) * time.Millisecond; !near(named, p.duration(), 100*time.Millisecond) {
			t.Errorf("segment %d is named %v long, ffprobe says %v", i, named, p.duration())
		}
		if i > 0 && s.StartMS != segs[i-1].EndMS {
			t.Errorf("segment %d starts at %d, the one before ends at %d: want back to back", i, s.StartMS, segs[i-1].EndMS)
		}
	}
	st, _ := r.rec.Stats("cam1")
	if st.Units == 0 || st.Dropped != 0 {
		t.Errorf("stats %+v, want units written and none dropped", st)
	}
}

func TestCameraWithBFramesIsRecordedInDecodingOrder(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1", "-size", "640x360", "-bframes", "2")
	r := startRig(t, cam, t.TempDir(), 4*time.Second, "  keep: 1m")
	testenv.WaitFor(t, "a closed segment", 40*time.Second, func() bool {
		return len(r.rec.Segments("cam1", 0, 1<<62)) >= 1
	})
	s := r.rec.Segments("cam1", 0, 1<<62)[0]
	path, _ := r.rec.SegmentPath("cam1", s.Name)
	p := ffprobe(t, path) // decoding times go up, it decodes
	reordered := 0
	for _, pk := range p.Packets {
		if pk.PTS != pk.DTS {
			reordered++
		}
	}
	if reordered == 0 {
		t.Errorf("no packet's presentation time differs from its decoding time: the B-frames were not kept in order")
	}
	if got := p.duration(); !near(got, 4*time.Second, gop) {
		t.Errorf("segment lasts %v, want 4 s ± one GOP", got)
	}
}

// waitClip waits until the clip is no longer pending.
func waitClip(t *testing.T, rec *Recorder, id string, within time.Duration) Clip {
	t.Helper()
	var cl Clip
	testenv.WaitFor(t, "clip "+id+" cut", within, func() bool {
		cl, _ = rec.ClipInfo(id)
		return cl.State != ClipPending
	})
	return cl
}

func TestClipIsCutOnKeyFramesAroundItsMoment(t *testing.T) {
	r := newRig(t, 4*time.Second, "  before: 5s\n  after: 4s")
	testenv.WaitFor(t, "two closed segments", 40*time.Second, func() bool {
		return len(r.rec.Segments("cam1", 0, 1<<62)) >= 2
	})
	at := time.Now()
	cl, err := r.rec.Clip("cam1", "T1", "incident", at)
	if err != nil {
		t.Fatal(err)
	}
	if cl.State != ClipPending || cl.StartMS != at.Add(-5*time.Second).UnixMilli() || cl.EndMS != at.Add(4*time.Second).UnixMilli() {
		t.Fatalf("clip asked = %+v, want pending from at-5s to at+4s", cl)
	}
	cl = waitClip(t, r.rec, cl.ID, 4*time.Second+clipGrace+3*time.Second)
	if playable := time.Since(at); playable > 4*time.Second+5*time.Second {
		t.Errorf("clip playable %v after its moment, want within after + 5 s", playable)
	}
	if cl.State != ClipReady || cl.Short {
		t.Fatalf("clip = %+v, want ready and whole", cl)
	}
	if early := time.Duration(cl.StartMS-cl.FirstMS) * time.Millisecond; early < 0 || early > gop {
		t.Errorf("clip's first frame is %v before its start, want 0 to one GOP", early)
	}
	p := ffprobe(t, r.rec.ClipPath(cl.ID))
	want := time.Duration(cl.EndMS-cl.FirstMS) * time.Millisecond
	if got := p.duration(); !near(got, want, 200*time.Millisecond) || !near(got, 9*time.Second, gop) {
		t.Errorf("clip lasts %v (ffprobe), want %v (9 s asked, ± one GOP)", got, want)
	}
	if fi, err := os.Stat(r.rec.ClipPath(cl.ID)); err != nil || fi.Size() != cl.Bytes {
		t.Errorf("clip file: %v, size vs %d", err, cl.Bytes)
	}
}

func TestCameraDroppingOutGivesAShorterClipThatSaysSo(t *testing.T) {
	r := newRig(t, 4*time.Second, "  before: 2s\n  after: 8s")
	testenv.WaitFor(t, "a closed segment", 40*time.Second, func() bool {
		return len(r.rec.Segments("cam1", 0, 1<<62)) >= 1
	})
	cl, err := r.rec.Clip("cam1", "", "incident", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	r.cam.Stop() // the camera drops out about 5 s into the 10 s clip
	cl = waitClip(t, r.rec, cl.ID, 8*time.Second+clipGrace+3*time.Second)
	if cl.State != ClipReady || !cl.Short || !strings.Contains(cl.Note, "dropped out") {
		t.Fatalf("clip = %+v, want ready, short, and a note that the camera dropped out", cl)
	}
	p := ffprobe(t, r.rec.ClipPath(cl.ID))
	if got := p.duration(); got >= 8*time.Second || got < 2*time.Second {
		t.Errorf("clip lasts %v, want the ~5 s before the camera dropped out", got)
	}
}

func TestRestartKeepsSegmentsAndClipsAndQuotaSparesEvidence(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1", "-size", "640x360")
	dir := t.TempDir()
	r := startRig(t, cam, dir, time.Second, "  before: 1s\n  after: 1s")
	testenv.WaitFor(t, "five closed segments", 40*time.Second, func() bool {
		return len(r.rec.Segments("cam1", 0, 1<<62)) >= 5
	})
	cl, err := r.rec.Clip("cam1", "T1", "submit", time.Now().Add(-1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	cl = waitClip(t, r.rec, cl.ID, 10*time.Second)
	if cl.State != ClipReady {
		t.Fatalf("clip = %+v, want ready", cl)
	}
	r.stop()
	before := r.rec.Segments("cam1", 0, 1<<62)
	// A clip asked just before the stop, not cut yet: the restart cuts it.
	last := before[len(before)-1]
	waiting, err := r.rec.Clip("cam1", "T2", "incident", time.UnixMilli(last.EndMS-1500))
	if err != nil {
		t.Fatal(err)
	}

	// A restart: the index comes back from the files, the clip too.
	cfg := r.cfg
	cfg.Record.MaxBytes = 16 << 20
	again, err := New(cfg, r.hub, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	after := again.Segments("cam1", 0, 1<<62)
	if len(after) < len(before) {
		t.Fatalf("after a restart %d segments, want the %d written before", len(after), len(before))
	}
	for i := range before {
		if before[i].Name != after[i].Name {
			t.Fatalf("segment %d: %s before the restart, %s after", i, before[i].Name, after[i].Name)
		}
	}
	if got, ok := again.ClipInfo(cl.ID); !ok || got.State != ClipReady || got.Task != "T1" {
		t.Fatalf("clip after a restart = %+v, %v; want it ready, of task T1", got, ok)
	}
	if got, _ := again.ClipInfo(waiting.ID); got.State != ClipPending {
		t.Fatalf("a clip waiting at the stop is %+v after the restart, want still pending", got)
	}
	again.cutDue()
	if got, _ := again.ClipInfo(waiting.ID); got.State != ClipReady || got.Short || got.Task != "T2" {
		t.Fatalf("a clip waiting at the stop, cut after the restart = %+v, want ready, whole, of task T2", got)
	}
	ffprobe(t, again.ClipPath(waiting.ID))

	// The quota: make it one segment smaller than what is there, with a
	// pending clip needing the oldest segment. The second oldest goes.
	var total int64
	for _, s := range after {
		total += s.Bytes
	}
	again.cfg.MaxBytes = int(total - 1)
	oldest, second := after[0], after[1]
	again.clips["C0000000000test"] = &Clip{ID: "C0000000000test", Camera: "cam1", State: ClipPending,
		StartMS: oldest.StartMS + 10, EndMS: oldest.StartMS + 20, CreatedMS: time.Now().UnixMilli()}
	again.pending["C0000000000test"] = struct{}{}
	again.Prune()
	left := again.Segments("cam1", 0, 1<<62)
	if len(left) != len(after)-1 || left[0].Name != oldest.Name || left[1].Name == second.Name {
		t.Fatalf("after the quota: %v; want all but the second oldest %s (the oldest is evidence)", names(left), second.Name)
	}
	if _, err := os.Stat(filepath.Join(dir, "rec", "cam1", second.Name)); !os.IsNotExist(err) {
		t.Errorf("the second oldest segment's file is still there: %v", err)
	}
	// record.keep: everything is old an hour later, but the evidence stays,
	// and the clip (kept for evidence_days) too.
	again.now = func() time.Time { return time.Now().Add(time.Hour) }
	again.Prune()
	if left := again.Segments("cam1", 0, 1<<62); len(left) != 1 || left[0].Name != oldest.Name {
		t.Fatalf("an hour later: %v, want only the evidence %s", names(left), oldest.Name)
	}
	if _, err := os.Stat(again.ClipPath(cl.ID)); err != nil {
		t.Errorf("clip removed with the segments: %v", err)
	}
	again.now = func() time.Time { return time.Now().AddDate(0, 0, 181) }
	again.Prune()
	if _, err := os.Stat(again.ClipPath(cl.ID)); !os.IsNotExist(err) {
		t.Errorf("clip still there after evidence_days: %v", err)
	}
}

func names(segs []Segment) []string {
	var out []string
	for _, s := range segs {
		out = append(out, s.Name)
	}
	return out
}

func TestRepairKeepsTheWholeFragmentsOfAHalfWrittenSegment(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1", "-size", "640x360")
	before := goleak.IgnoreCurrent()
	r := startRig(t, cam, t.TempDir(), 4*time.Second, "  keep: 1m")
	testenv.WaitFor(t, "a closed segment", 40*time.Second, func() bool {
		return len(r.rec.Segments("cam1", 0, 1<<62)) >= 1
	})
	r.stop()
	goleak.VerifyNone(t, before) // the recorder stops its goroutines with its context
	s := r.rec.Segments("cam1", 0, 1<<62)[0]
	dir := filepath.Join(r.cfg.DataDir, "rec", "cam1")
	b, err := os.ReadFile(filepath.Join(dir, s.Name))
	if err != nil {
		t.Fatal(err)
	}
	// A crash mid-write: a .part file whose last fragment is cut short.
	part := filepath.Join(dir, strconv.FormatInt(s.EndMS+5000, 10)+".part")
	if err := os.WriteFile(part, b[:len(b)-1000], 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := New(r.cfg, r.hub, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	segs := again.Segments("cam1", s.EndMS+5000, 1<<62)
	if len(segs) != 1 {
		t.Fatalf("after repair: %v, want the half-written segment kept", names(again.Segments("cam1", 0, 1<<62)))
	}
	path, _ := again.SegmentPath("cam1", segs[0].Name)
	p := ffprobe(t, path)
	if got := p.duration(); got <= 0 || got >= time.Duration(s.EndMS-s.StartMS)*time.Millisecond {
		t.Errorf("repaired segment lasts %v, want less than the %d ms it was cut from", got, s.EndMS-s.StartMS)
	}
}

// A clip still waiting when the bridge stopped, of a camera the new config
// no longer records, fails with a note that says so; the recorder goes on.
func TestPendingClipOfACameraNoLongerRecordedFails(t *testing.T) {
	dir := t.TempDir()
	y := fmt.Sprintf("data_dir: %s\ncameras:\n  - {id: cam1, name: 一, grid: g, url: \"rtsp://127.0.0.1:1/x\", record: off}\n", dir)
	cfg, err := configs.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	before := &Recorder{clipDir: filepath.Join(dir, "clips")}
	if err := os.MkdirAll(before.clipDir, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	waiting := &Clip{ID: newClipID(now), Camera: "cam1", Task: "T1", State: ClipPending,
		StartMS: now.Add(-time.Minute).UnixMilli(), EndMS: now.Add(-30 * time.Second).UnixMilli(), CreatedMS: now.UnixMilli()}
	if err := before.saveClip(waiting); err != nil {
		t.Fatal(err)
	}
	rec, err := New(cfg, ingest.NewHub(cfg, log), log)
	if err != nil {
		t.Fatal(err)
	}
	rec.cutDue()
	got, ok := rec.ClipInfo(waiting.ID)
	if !ok || got.State != ClipFailed || !strings.Contains(got.Note, "not recorded any more") {
		t.Fatalf("clip = %+v, %v; want failed, with a note that the camera is not recorded any more", got, ok)
	}
	if _, err := rec.Clip("cam1", "T2", "incident", now); !errors.Is(err, ErrNotRecorded) {
		t.Errorf("a new clip of the camera: %v, want ErrNotRecorded", err)
	}
}
