package detect

import (
	"context"
	"sync"
	"time"

	"qianliyan/configs"
	"qianliyan/ingest"
)

// Cameras is what the detector needs from ingest: the stream to analyse
// (a sub-stream when the camera has one) and the camera's health.
type Cameras interface {
	DetectStream(id string) *ingest.Stream
	Health(id string) (ingest.Health, bool)
}

// Detector runs a Watcher per camera and raises camera_offline from
// ingest's health.
type Detector struct {
	cams         Cameras
	store        *Store
	watchers     map[string]*Watcher
	order        []string
	offlineAfter time.Duration
	now          func() time.Time
}

// NewDetector builds the watchers of every configured camera. A camera
// offline for longer than offlineAfter raises camera_offline.
func NewDetector(cfg *configs.Config, cams Cameras, store *Store, opts Options, offlineAfter time.Duration) *Detector {
	opts.defaults()
	d := &Detector{cams: cams, store: store, watchers: map[string]*Watcher{}, offlineAfter: offlineAfter, now: opts.Now}
	for _, cam := range cfg.Cameras {
		if s := cams.DetectStream(cam.ID); s != nil {
			d.watchers[cam.ID] = NewWatcher(cam, s, store, opts)
			d.order = append(d.order, cam.ID)
		}
	}
	return d
}

// Watcher returns the camera's watcher, or nil.
func (d *Detector) Watcher(id string) *Watcher { return d.watchers[id] }

// Run moves the incidents of an older key layout (Store.Migrate), then
// watches every camera until ctx ends.
func (d *Detector) Run(ctx context.Context) error {
	// before any watcher raises: a repeat must find its open incident
	_, _ = d.store.Migrate(ctx)
	var wg sync.WaitGroup
	for _, w := range d.watchers {
		wg.Go(func() { _ = w.Run(ctx) })
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		d.checkOffline(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

func (d *Detector) checkOffline(ctx context.Context) {
	now := d.now()
	for _, id := range d.order {
		h, ok := d.cams.Health(id)
		// an idle camera is not read on purpose (another member of the
		// cluster reads it): its owner judges it
		if !ok || h.Idle {
			continue
		}
		if h.Online {
			_, _, _ = d.store.End(ctx, id, "", CameraOffline, now)
			continue
		}
		if now.Sub(h.Since) >= d.offlineAfter {
			_, _ = d.store.Raise(ctx, Incident{Camera: id, Kind: CameraOffline, Detail: h.LastError, Confidence: 1,
				Code: MsgOffline, Params: map[string]any{"error": h.LastError}}, now)
		}
	}
}
