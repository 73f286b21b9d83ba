package detect

import (
	"context"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"qianliyan/configs"
	"qianliyan/ingest"
)

// Mode is how much of a camera detection decodes.
type Mode int32

// The modes.
const (
	// Idle decodes key frames only: cheap, for quiet cameras.
	Idle Mode = iota
	// Active decodes every frame and analyses Rate pictures a second.
	Active
	// Watch analyses WatchRate pictures a second, while a task on the
	// camera waits for verification.
	Watch
)

// Source is what detection needs of a camera's stream.
type Source interface {
	Subscribe(name string, queueLen int, fromGOP bool) *ingest.Subscription
}

// Options tune a camera's detection.
type Options struct {
	Thresholds Thresholds
	Rate       float64       // analyses per second in Active mode (default 2)
	WatchRate  float64       // in Watch mode (default 5)
	CalmFor    time.Duration // calm time before references are taken (default 1 min)
	Mode       Mode          // starting mode (default Active)
	SnapDir    string        // where incident snapshots go
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
}

// WatcherStats are a camera's detection figures.
type WatcherStats struct {
	Decoded  uint64 `json:"decoded"`
	Analyzed uint64 `json:"analyzed"`
	Mode     string `json:"mode"`
	HasRef   bool   `json:"has_reference"`
}

// NewWatcher returns the watcher of one camera; Run starts it.
func NewWatcher(cam configs.Camera, src Source, store *Store, opts Options) *Watcher {
	opts.defaults()
	w := &Watcher{cam: cam, src: src, store: store, opts: opts, refWant: map[string]bool{}}
	w.mode.Store(int32(opts.Mode))
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

// Stats returns the watcher's figures.
func (w *Watcher) Stats() WatcherStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Mode = [...]string{"idle", "active", "watch"}[w.Mode()]
	return s
}

// Run analyses the camera until ctx ends or its stream closes.
func (w *Watcher) Run(ctx context.Context) error {
	sub := w.src.Subscribe("detect", 64, true)
	defer sub.Close()
	a := newAnalysis(w.cam, w.opts.Thresholds)
	defer a.close()
	var dec *Decoder
	defer func() {
		if dec != nil {
			dec.Close()
		}
	}()
	var codec ingest.Codec
	var epoch uint32
	continuous := false // the decoder has every frame since a key frame
	var last time.Time
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
		if u.Epoch != epoch || u.Codec != codec {
			epoch, continuous = u.Epoch, false
		}
		if !u.Key && (mode == Idle || !continuous) {
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
		w.mu.Unlock()
		now := w.opts.Now()
		rate := w.opts.Rate
		if mode == Watch {
			rate = w.opts.WatchRate
		}
		if mode != Idle && now.Sub(last) < time.Duration(float64(time.Second)/rate) {
			continue
		}
		last = now
		w.analyse(ctx, a, img, now)
	}
}

func (w *Watcher) analyse(ctx context.Context, a *analysis, img *image.YCbCr, now time.Time) {
	gray, err := Gray(img, AnalysisSize)
	if err != nil {
		return
	}
	defer gray.Close()
	motion := a.motion.Apply(gray)

	w.mu.Lock()
	want := w.refWant
	w.refWant = map[string]bool{}
	w.stats.Analyzed++
	w.stats.HasRef = a.tamper.HasReference()
	w.mu.Unlock()
	// references: asked for, or the first calm stretch
	if len(motion) > 0 || a.calmSince.IsZero() {
		a.calmSince = now
	}
	if !a.tamper.HasReference() && now.Sub(a.calmSince) >= w.opts.CalmFor {
		want[""] = true
	}
	if want[""] {
		a.tamper.SetReference(gray)
	}
	for _, z := range a.zones {
		if want[""] || want[z.Name] {
			z.SetReference(gray)
			_, _, _ = w.store.End(ctx, w.cam.ID, z.Name, ZoneChanged, now)
		}
	}

	for i, z := range a.zones {
		change, diff := z.Update(gray, motion, now, w.opts.Thresholds)
		switch change {
		case Raised:
			conf := min(1, diff/(3*w.opts.Thresholds.ZoneDiff))
			w.raise(ctx, Incident{Camera: w.cam.ID, Zone: z.Name, Kind: ZoneChanged, Confidence: conf}, img, &w.cam.Zones[i], now)
		case Cleared:
			w.end(ctx, z.Name, ZoneChanged, now)
		}
	}
	switch change, kind := a.tamper.Update(gray, now, w.opts.Thresholds); change {
	case Raised:
		w.raise(ctx, Incident{Camera: w.cam.ID, Kind: CameraTampered, Detail: kind, Confidence: 0.9}, img, nil, now)
	case Cleared:
		w.end(ctx, "", CameraTampered, now)
	}
}

func (w *Watcher) raise(ctx context.Context, in Incident, img *image.YCbCr, zone *configs.Zone, now time.Time) {
	in.ID = NewID(now)
	if w.opts.SnapDir != "" {
		if file, err := writeSnapshot(w.opts.SnapDir, in.ID, img, zone); err == nil {
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
	tamper    *Tamper
	calmSince time.Time
}

func newAnalysis(cam configs.Camera, th Thresholds) *analysis {
	a := &analysis{motion: NewMotion(th), tamper: NewTamper()}
	for _, z := range cam.Zones {
		a.zones = append(a.zones, NewZone(z, AnalysisSize))
	}
	return a
}

func (a *analysis) close() {
	a.motion.Close()
	a.tamper.Close()
	for _, z := range a.zones {
		z.Close()
	}
}
