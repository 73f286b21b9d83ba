package detect

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"qianliyan/configs"
	"qianliyan/ingest"
	"qianliyan/internal/av"
)

// Mode is how much of a camera detection decodes; the names are shared with
// the config and the API (configs.DetectMode).
type Mode = configs.DetectMode

// The modes a watcher runs in.
const (
	// Idle decodes key frames only: cheap, for quiet cameras.
	Idle = configs.ModeIdle
	// Active decodes every frame and analyses Rate pictures a second
	// (key frames only on a camera without zones).
	Active = configs.ModeActive
	// Watch analyses WatchRate pictures a second and keeps the last
	// picture, while a task on the camera waits for the camera's word.
	Watch = configs.ModeWatch
	// Auto decodes key frames while the camera is calm and every frame
	// while something happens near a zone (see stepper).
	Auto = configs.ModeAuto
)

// Source is what detection needs of a camera's stream.
type Source interface {
	Subscribe(name string, queueLen int, fromGOP bool) *ingest.Subscription
}

// Options tune a camera's detection.
type Options struct {
	Thresholds Thresholds
	Rate       float64        // analyses per second in Active mode (default 2)
	WatchRate  float64        // in Watch mode (default 5)
	CalmFor    time.Duration  // calm time before references are taken (default 1 min)
	StepDown   time.Duration  // Auto: stepped up this long after the last stir near a zone (default 10 s)
	Mode       Mode           // starting mode (default Active)
	SnapDir    string         // where incident snapshots go
	Objects    *SharedObjects // when set, finds people instead of the HOG detector
	Now        func() time.Time
	Log        *slog.Logger
}

func (o *Options) defaults() {
	if o.Rate == 0 {
		o.Rate = 2
	}
	if o.WatchRate == 0 {
		o.WatchRate = 5
	}
	if o.CalmFor == 0 {
		o.CalmFor = time.Minute
	}
	if o.StepDown == 0 {
		o.StepDown = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Watcher runs the analyzers of one camera over its stream.
type Watcher struct {
	cam   configs.Camera
	src   Source
	store *Store
	opts  Options
	mode  atomic.Int32

	mu      sync.Mutex
	refWant map[string]bool // zones (and "" for the whole camera) to take a reference of
	stats   WatcherStats
	looks   []ZoneLook
	last    *image.YCbCr // the last analysed picture, kept in Watch mode
	thumb   thumbnail    // the last analysed picture, small, for the wall's overview
}

// ZoneLook is how a zone looked at the last analysis: what the task loop
// checks before it proposes that a fix holds.
type ZoneLook struct {
	Zone         string  `json:"zone"`
	HasRef       bool    `json:"has_reference"`
	Diff         float64 `json:"diff"`                      // mean luma difference from the reference
	MatchSinceMS int64   `json:"match_since_ms,omitempty"`  // since when it matches its reference; 0 while it differs
	PersonMS     int64   `json:"person_since_ms,omitempty"` // since when someone is in it; 0 for nobody
}

// WatcherStats are a camera's detection figures.
type WatcherStats struct {
	Decoded  uint64 `json:"decoded"`
	Width    int    `json:"width"` // of the pictures decoded (the sub-stream's, if any)
	Height   int    `json:"height"`
	Analyzed uint64 `json:"analyzed"`
	Mode     Mode   `json:"mode"`
	HasRef   bool   `json:"has_reference"`
	Stepped  bool   `json:"stepped_up,omitempty"` // Auto: decoding every frame now
	StepUps  uint64 `json:"step_ups,omitempty"`   // Auto: times it stepped up
}

// NewWatcher returns the watcher of one camera; Run starts it.
func NewWatcher(cam configs.Camera, src Source, store *Store, opts Options) *Watcher {
	opts.defaults()
	w := &Watcher{cam: cam, src: src, store: store, opts: opts, refWant: map[string]bool{}}
	w.mode.Store(int32(opts.Mode))
	for _, z := range cam.Zones { // looks before the first analysis: no reference yet
		w.looks = append(w.looks, ZoneLook{Zone: z.Name})
	}
	return w
}

// SetMode switches the camera's mode (the task loop calls it).
func (w *Watcher) SetMode(m Mode) { w.mode.Store(int32(m)) }

// Mode returns the camera's mode.
func (w *Watcher) Mode() Mode { return Mode(w.mode.Load()) }

// TakeReference makes the next analysed picture the normal look of zone
// ("" for the whole camera and every zone).
func (w *Watcher) TakeReference(zone string) {
	w.mu.Lock()
	w.refWant[zone] = true
	w.mu.Unlock()
}

// Looks returns how each zone looked at the last analysis (every zone
// without a reference before the first).
func (w *Watcher) Looks() []ZoneLook {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.looks)
}

// ErrNoPicture is returned by Snapshot when the camera is not in Watch mode
// or nothing was analysed yet.
var ErrNoPicture = errors.New("no recent picture: the camera is not being watched")

// Snapshot saves the last analysed picture (kept in Watch mode only) with
// zone outlined ("" for none) in the snapshot folder and returns its file
// name.
func (w *Watcher) Snapshot(zone string) (string, error) {
	w.mu.Lock()
	img := w.last
	w.mu.Unlock()
	if img == nil || w.Mode() != Watch {
		return "", ErrNoPicture
	}
	return writeSnapshot(w.opts.SnapDir, NewID(w.opts.Now()), img, w.zone(zone))
}

// Thumbnail returns the camera's last analysed picture, 320 pixels wide, as
// a JPEG, and when it was analysed; ErrNoPicture before the first. It costs
// no decoding: on a calm camera the picture is its last key frame.
func (w *Watcher) Thumbnail() ([]byte, time.Time, error) { return w.thumb.get() }

// zone returns the configured zone of that name, or nil.
func (w *Watcher) zone(name string) *configs.Zone {
	for i := range w.cam.Zones {
		if w.cam.Zones[i].Name == name {
			return &w.cam.Zones[i]
		}
	}
	return nil
}

// Stats returns the watcher's figures.
func (w *Watcher) Stats() WatcherStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Mode = w.Mode()
	return s
}

// Run analyses the camera until ctx ends or its stream closes.
func (w *Watcher) Run(ctx context.Context) error {
	sub := w.src.Subscribe("detect", 64, true)
	defer sub.Close()
	a := newAnalysis(w.cam, w.opts.Thresholds, w.opts.Log)
	defer a.close()
	var dec *av.Decoder
	defer func() {
		if dec != nil {
			dec.Close()
		}
	}()
	var codec ingest.Codec
	var epoch uint32
	continuous := false // the decoder has every frame since a key frame
	var last time.Time
	var st stepper
	for {
		var u *ingest.Unit
		select {
		case <-ctx.Done():
			return nil
		case u = <-sub.C:
			if u == nil {
				return nil
			}
		}
		mode := w.Mode()
		now := w.opts.Now()
		// A camera without zones has only its whole picture to judge
		// (covered, turned), which key frames show well enough.
		auto := mode == Auto && len(w.cam.Zones) > 0
		keyOnly := mode == Idle || len(w.cam.Zones) == 0 || (auto && !st.up)
		if u.Epoch != epoch || u.Codec != codec {
			epoch, continuous = u.Epoch, false
		}
		if !u.Key && (keyOnly || !continuous) {
			continuous = false
			continue
		}
		if dec == nil || u.Codec != codec {
			if dec != nil {
				dec.Close()
			}
			var err error
			if dec, err = NewDecoder(u.Codec, 1); err != nil {
				w.opts.Log.Warn("detection cannot decode", "camera", w.cam.ID, "err", err)
				return err
			}
			codec = u.Codec
		}
		img, err := dec.Decode(u.NALUs)
		if err != nil || img == nil {
			continuous = false
			continue
		}
		continuous = true
		w.mu.Lock()
		w.stats.Decoded++
		w.stats.Width, w.stats.Height = img.Rect.Dx(), img.Rect.Dy()
		w.mu.Unlock()
		rate := w.opts.Rate
		if mode == Watch {
			rate = w.opts.WatchRate
		}
		if !keyOnly && now.Sub(last) < a.interval(rate, now, w.opts.Thresholds) {
			continue
		}
		last = now
		w.analyse(ctx, a, img, now)
		if auto {
			st.settle(a.stir, now, w.opts.StepDown)
			w.setStepped(&st)
		}
	}
}

// setStepped publishes Auto mode's state in the stats.
func (w *Watcher) setStepped(st *stepper) {
	w.mu.Lock()
	w.stats.Stepped, w.stats.StepUps = st.up, st.ups
	w.mu.Unlock()
}

func (w *Watcher) analyse(ctx context.Context, a *analysis, img *image.YCbCr, now time.Time) {
	gray, err := Gray(img, AnalysisSize)
	if err != nil {
		return
	}
	defer gray.Close()
	motion := a.motion.Apply(gray, img.Rect.Dy())

	w.mu.Lock()
	want := w.refWant
	w.refWant = map[string]bool{}
	w.stats.Analyzed++
	w.stats.HasRef = a.tamper.HasReference()
	w.mu.Unlock()
	// References: asked for, or the first calm stretch. The camera is calm
	// while little of it moves (a car passing is fine), a zone while nothing
	// moves in it.
	if movingShare(motion) > calmShare || a.calmSince.IsZero() {
		a.calmSince = now
	}
	if !a.tamper.HasReference() && now.Sub(a.calmSince) >= w.opts.CalmFor {
		want[""] = true
	}
	if want[""] {
		a.tamper.SetReference(gray)
	}
	for i, z := range a.zones {
		if !z.HasReference() && z.Calm(motion, now) >= w.opts.CalmFor {
			want[z.Name] = true
		}
		if want[""] || want[z.Name] {
			z.SetReference(gray)
			a.told[i] = ""
			_, _, _ = w.store.End(ctx, w.cam.ID, z.Name, ZoneChanged, now)
		}
	}

	// People first: the zones are compared without them.
	// Idle cameras analyse a key frame every GOP: too far apart to follow
	// anyone, and the cost would be wasted on 128 quiet cameras. A calm
	// camera in Auto mode looks for people on its key frames only when
	// something moved near a zone (a key frame that stirs steps it up).
	if a.people != nil && len(a.zones) > 0 && w.Mode() != Idle {
		w.watchPeople(ctx, a, img, motion, now)
	}
	people := a.peopleBoxes(img, now, w.opts.Thresholds)
	for i, z := range a.zones {
		change, diff := z.Update(gray, motion, now, w.opts.Thresholds, people...)
		w.reportLook(ctx, a, i, now)
		switch change {
		case Raised:
			conf := min(1, diff/(3*w.opts.Thresholds.ZoneDiff))
			var marks []image.Rectangle
			for _, r := range z.ChangedAreas(gray, people...) {
				marks = append(marks, toPicture(r, img))
			}
			w.raise(ctx, Incident{Camera: w.cam.ID, Zone: z.Name, Kind: ZoneChanged, Confidence: conf,
				Code: MsgZoneChanged, Params: map[string]any{"zone": z.Name}}, img, &w.cam.Zones[i], now, marks...)
		case Cleared:
			w.end(ctx, z.Name, ZoneChanged, now)
		}
	}
	switch change, kind := a.tamper.Update(gray, now, w.opts.Thresholds); change {
	case Raised:
		w.raise(ctx, Incident{Camera: w.cam.ID, Kind: CameraTampered, Detail: kind, Code: tamperCodes[kind], Confidence: 0.9}, img, nil, now)
	case Cleared:
		w.end(ctx, "", CameraTampered, now)
	}
	w.keep(a, img)
	w.thumb.keep(img, now)
	a.stir = a.stirring(motion)
}

// reportLook tells the task loop when zone i starts or stops matching its
// reference (an observation per change, none per analysis). A new
// reference starts the zone's story again: its first analysis is told.
func (w *Watcher) reportLook(ctx context.Context, a *analysis, i int, now time.Time) {
	z := a.zones[i]
	if !z.HasReference() {
		a.told[i] = ""
		return
	}
	kind, at := ZoneDiffers, now
	if since := z.MatchSince(); !since.IsZero() {
		kind, at = ZoneMatches, since
	}
	if a.told[i] == kind {
		return
	}
	a.told[i] = kind
	w.observe(ctx, Observation{Camera: w.cam.ID, Zone: z.Name, Kind: kind, AtMS: at.UnixMilli(), Diff: z.LastDiff()}, nil, nil)
}

// calmShare is the share of the picture that may move while the camera
// still counts as calm for its reference.
const calmShare = 0.05

// movingShare is the share of the analysis picture covered by motion.
func movingShare(motion []image.Rectangle) float64 {
	var a int
	for _, r := range motion {
		a += area(r)
	}
	return float64(a) / float64(AnalysisSize.X*AnalysisSize.Y)
}

// keep records the zones' looks and, in Watch mode, the picture.
func (w *Watcher) keep(a *analysis, img *image.YCbCr) {
	looks := make([]ZoneLook, len(a.zones))
	for i, z := range a.zones {
		looks[i] = ZoneLook{Zone: z.Name, HasRef: z.HasReference(), Diff: z.LastDiff(),
			MatchSinceMS: msOrZero(z.MatchSince()), PersonMS: msOrZero(a.inZone[i].Since())}
	}
	var last *image.YCbCr
	if w.Mode() == Watch {
		last = copyYCbCr(img)
	}
	w.mu.Lock()
	w.looks, w.last = looks, last
	w.mu.Unlock()
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func copyYCbCr(img *image.YCbCr) *image.YCbCr {
	c := *img
	c.Y, c.Cb, c.Cr = slices.Clone(img.Y), slices.Clone(img.Cb), slices.Clone(img.Cr)
	return &c
}

// watchPeople looks for people where something moved near a zone and
// around the people tracked, follows them, and reports each person who
// comes into, stays in and leaves each zone.
func (w *Watcher) watchPeople(ctx context.Context, a *analysis, img *image.YCbCr, motion []image.Rectangle, now time.Time) {
	th := w.opts.Thresholds
	var regions, moved []image.Rectangle
	for _, m := range motion {
		full := toPicture(m, img)
		moved = append(moved, full)
		for _, z := range a.zones {
			if z.Near(m) {
				regions = append(regions, full)
				break
			}
		}
	}
	// Someone tracked leaves only by moving: while nothing has moved where
	// they were since they were last found, they are still there (the
	// detector misses people who stand still as often as it finds them).
	looks := a.tracker.Look(now, th)
	var found []Person
	switch {
	case len(regions) == 0 && len(looks) == 0:
	case w.opts.Objects != nil:
		var err error
		if found, err = w.opts.Objects.People(img); err != nil {
			w.opts.Log.Warn("object model failed", "camera", w.cam.ID, "err", err)
		}
	default:
		// Motion and the tracked people's boxes are searched apart: merged,
		// a tracked box (a big false find kept by its look) set the scale
		// for a new person's motion beside it, and the detector, looking
		// for someone of that size, found nobody walking in.
		found = a.people.Find(img, regions, th.PersonScore)
		if len(looks) > 0 {
			found = suppress(append(found, a.people.Find(img, looks, th.PersonScore)...))
		}
	}
	gone := a.tracker.Follow(img, found, moved, now, th)
	sx := float64(img.Rect.Dx()) / float64(AnalysisSize.X)
	sy := float64(img.Rect.Dy()) / float64(AnalysisSize.Y)
	for i, z := range a.zones {
		inside := func(p image.Point) bool { return z.Contains(image.Pt(int(float64(p.X)/sx), int(float64(p.Y)/sy))) }
		for _, e := range a.inZone[i].Update(a.tracker.Tracks(), gone, inside, now, th) {
			switch e.Kind {
			case Entered:
				w.observe(ctx, Observation{Camera: w.cam.ID, Zone: z.Name, Kind: PersonEntered, Track: e.Track, AtMS: e.Since.UnixMilli(),
					Box: e.Box, Score: e.Score}, img, &w.cam.Zones[i])
			case Left:
				w.observe(ctx, Observation{Camera: w.cam.ID, Zone: z.Name, Kind: PersonLeft, Track: e.Track, AtMS: now.UnixMilli(),
					DwellMS: e.Dwell.Milliseconds(), Box: e.Box}, nil, nil)
			case Loiters:
				// no clock time in the words: whose clock would it be? The page
				// shows since_ms in the center's zone.
				dwell := now.Sub(e.Since).Round(time.Second)
				w.raise(ctx, Incident{Camera: w.cam.ID, Zone: z.Name, Kind: Loitering, Confidence: min(1, e.Score),
					Detail: fmt.Sprintf("in the zone for %s", dwell), Code: MsgLoitering,
					Params: map[string]any{"zone": z.Name, "since_ms": e.Since.UnixMilli(), "dwell_s": int64(dwell / time.Second)}},
					img, &w.cam.Zones[i], now, e.Box)
			case LoiterEnded:
				w.end(ctx, z.Name, Loitering, now)
			}
		}
	}
}

// toPicture scales r from analysis pixels to img's.
func toPicture(r image.Rectangle, img *image.YCbCr) image.Rectangle {
	sx := float64(img.Rect.Dx()) / float64(AnalysisSize.X)
	sy := float64(img.Rect.Dy()) / float64(AnalysisSize.Y)
	return image.Rect(int(float64(r.Min.X)*sx), int(float64(r.Min.Y)*sy), int(float64(r.Max.X)*sx), int(float64(r.Max.Y)*sy))
}

// maskFor is how long after its last find a track still hides its box from
// the zone comparison: a false find standing still must not hide a change
// for ever.
const maskFor = 10 * time.Second

// peopleBoxes returns the boxes of the confirmed tracks found in the last
// maskFor, in analysis pixels, a little larger (a shadow, an arm out): what
// the zones leave out.
func (a *analysis) peopleBoxes(img *image.YCbCr, now time.Time, th Thresholds) []image.Rectangle {
	if a.tracker == nil {
		return nil
	}
	sx := float64(AnalysisSize.X) / float64(img.Rect.Dx())
	sy := float64(AnalysisSize.Y) / float64(img.Rect.Dy())
	var out []image.Rectangle
	for _, t := range a.tracker.Tracks() {
		if !t.Confirmed(th) || now.Sub(t.LastFound) >= maskFor {
			continue
		}
		b := t.Box.Inset(-t.Box.Dy() / 10)
		out = append(out, image.Rect(int(float64(b.Min.X)*sx), int(float64(b.Min.Y)*sy), int(math.Ceil(float64(b.Max.X)*sx)), int(math.Ceil(float64(b.Max.Y)*sy))))
	}
	return out
}

func overlapsAny(r image.Rectangle, rs []image.Rectangle) bool {
	for _, x := range rs {
		if r.Overlaps(x) {
			return true
		}
	}
	return false
}

// observe stores an observation, with a snapshot when img is given.
func (w *Watcher) observe(ctx context.Context, o Observation, img *image.YCbCr, zone *configs.Zone) {
	if img != nil && w.opts.SnapDir != "" {
		if file, err := writeSnapshot(w.opts.SnapDir, NewID(w.opts.Now()), img, zone, o.Box); err == nil {
			o.Snapshot = file
		}
	}
	if err := w.store.Observe(ctx, o); err != nil {
		w.opts.Log.Error("observation not stored", "camera", w.cam.ID, "zone", o.Zone, "err", err)
		return
	}
	w.opts.Log.Info("observation", "camera", w.cam.ID, "zone", o.Zone, "kind", o.Kind, "dwell_ms", o.DwellMS)
}

func (w *Watcher) raise(ctx context.Context, in Incident, img *image.YCbCr, zone *configs.Zone, now time.Time, marks ...image.Rectangle) {
	in.ID = NewID(now)
	if w.opts.SnapDir != "" {
		if file, err := writeSnapshot(w.opts.SnapDir, in.ID, img, zone, marks...); err == nil {
			in.Snapshot = file
		} else {
			w.opts.Log.Warn("incident snapshot not saved", "camera", w.cam.ID, "err", err)
		}
	}
	got, err := w.store.Raise(ctx, in, now)
	if err != nil {
		w.opts.Log.Error("incident not stored", "camera", w.cam.ID, "kind", in.Kind, "err", err)
		return
	}
	w.opts.Log.Info("incident", "camera", w.cam.ID, "zone", in.Zone, "kind", in.Kind, "detail", in.Detail, "incident", got.ID)
}

func (w *Watcher) end(ctx context.Context, zone, kind string, now time.Time) {
	if in, ok, err := w.store.End(ctx, w.cam.ID, zone, kind, now); err != nil {
		w.opts.Log.Error("incident not ended", "camera", w.cam.ID, "kind", kind, "err", err)
	} else if ok {
		w.opts.Log.Info("incident ended", "camera", w.cam.ID, "zone", zone, "kind", kind, "incident", in.ID)
	}
}

// analysis is the analyzers of one camera.
type analysis struct {
	motion    *Motion
	zones     []*Zone
	tracker   *Tracker
	inZone    []*ZonePeople // per zone
	stir      bool          // the last analysis saw something near a zone (Auto mode follows it)
	told      []string      // per zone: the last zone observation reported since its reference (ZoneMatches, ZoneDiffers or "")
	people    *People       // nil when the camera has no zones
	tamper    *Tamper
	calmSince time.Time
}

func newAnalysis(cam configs.Camera, th Thresholds, log *slog.Logger) *analysis {
	a := &analysis{motion: NewMotion(th), tamper: NewTamper(), tracker: NewTracker()}
	for _, z := range cam.Zones {
		a.zones = append(a.zones, NewZone(z, AnalysisSize))
		a.inZone = append(a.inZone, NewZonePeople(z.Kind == "restricted"))
		a.told = append(a.told, "")
	}
	if len(cam.Zones) > 0 {
		var err error
		if a.people, err = NewPeople(); err != nil {
			log.Warn("people detection off", "camera", cam.ID, "err", err)
		} else {
			a.people.SetSizes(th.PersonMinPx, th.PersonMaxPx)
		}
	}
	return a
}

// confirmEvery is how much faster than its rate a camera is analysed while
// someone found once waits for the find that confirms them: the second
// find comes a fraction of a second later instead of a whole interval, and
// that interval was most of an arrival's latency.
const confirmEvery = 4

// interval is the time from one analysis to the next at rate: shorter
// while a track found in the last second is not confirmed yet.
func (a *analysis) interval(rate float64, now time.Time, th Thresholds) time.Duration {
	d := time.Duration(float64(time.Second) / rate)
	for _, t := range a.tracker.Tracks() {
		if !t.Confirmed(th) && now.Sub(t.FirstSeen) < time.Second {
			return d / confirmEvery
		}
	}
	return d
}

func (a *analysis) close() {
	a.motion.Close()
	a.tamper.Close()
	if a.people != nil {
		a.people.Close()
	}
	for _, z := range a.zones {
		z.Close()
	}
}
