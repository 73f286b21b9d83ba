package ingest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"qianliyan/configs"
)

// subSuffix names a camera's sub-stream to the relay: Stream and Health
// take SubID(camera) as well as a camera id.
const subSuffix = "/sub"

// SubID is the id of camera's sub-stream for Hub.Stream and Hub.Health
// (camera ids never hold a slash).
func SubID(camera string) string { return camera + subSuffix }

// Hub owns one Reader and one Stream per configured camera, one more for
// each camera's sub-stream (sub_url), read only while someone needs it, and
// one for each camera's detection stream (detect_url) when detection runs.
type Hub struct {
	// SubLinger is how long a sub-stream is still read after its last
	// reader left (DefaultSubLinger); set it before Run.
	SubLinger time.Duration
	// Gated, set before Run, has Run read only the cameras Own names (a
	// member of a cluster reads the cameras it owns); otherwise Run reads
	// every camera.
	Gated bool

	order   []string
	readers map[string]*Reader
	subs    map[string]*demand // sub-streams by camera id
	detects map[string]*Reader // detection streams by camera id

	mu      sync.Mutex
	ctx     context.Context     // Run's, while it runs
	owned   map[string]bool     // as Own last said
	running map[string]*running // the cameras read now, by id
}

// running is one camera's readers (main and detection) while they run.
type running struct {
	stop context.CancelCauseFunc
	done chan struct{}
}

// NewHub builds the readers of every camera in cfg; Run starts them.
func NewHub(cfg *configs.Config, log *slog.Logger) *Hub {
	h := &Hub{SubLinger: DefaultSubLinger, readers: make(map[string]*Reader, len(cfg.Cameras)),
		subs: map[string]*demand{}, detects: map[string]*Reader{}, owned: map[string]bool{}, running: map[string]*running{}}
	for _, cam := range cfg.Cameras {
		s := NewStream(cam.ID, cfg.Ingest.GOPMaxBytes)
		h.readers[cam.ID] = NewReader(cam, cfg.Ingest, s, log)
		h.order = append(h.order, cam.ID)
		if cam.SubURL != "" {
			sub := cam
			sub.ID, sub.URL = SubID(cam.ID), cam.SubURL
			h.subs[cam.ID] = newDemand(NewReader(sub, cfg.Ingest, NewStream(sub.ID, cfg.Ingest.GOPMaxBytes), log), DefaultSubLinger)
		}
		if cam.DetectURL != "" && cfg.Detect.Mode != configs.ModeOff {
			det := cam
			det.ID, det.URL = cam.ID+"/detect", cam.DetectURL
			h.detects[cam.ID] = NewReader(det, cfg.Ingest, NewStream(det.ID, cfg.Ingest.GOPMaxBytes), log)
		}
	}
	return h
}

// Run reads every camera (only those Own names when Gated) until ctx
// ends, then closes their streams. A sub-stream is read only while it has
// subscribers or was wanted (Want) within SubLinger.
func (h *Hub) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	h.mu.Lock()
	h.ctx = ctx
	for _, id := range h.order {
		if !h.Gated || h.owned[id] {
			h.start(id)
			continue
		}
		// quietly: at start nobody has read it yet, nothing changed
		waiting := func(hl *Health) { hl.Idle = true; hl.setReason(waitReason) }
		h.readers[id].update(waiting)
		if det := h.detects[id]; det != nil {
			det.update(waiting)
		}
		if d := h.subs[id]; d != nil {
			d.release(true)
		}
	}
	h.mu.Unlock()
	for _, d := range h.subs {
		d.linger.Store(int64(h.SubLinger))
		wg.Go(func() { d.Run(ctx) })
	}
	<-ctx.Done()
	h.mu.Lock()
	h.ctx = nil
	for id, r := range h.running {
		<-r.done
		delete(h.running, id)
	}
	h.mu.Unlock()
	wg.Wait()
	for _, rs := range []map[string]*Reader{h.readers, h.detects} {
		for _, r := range rs {
			r.stream.Close()
		}
	}
	for _, d := range h.subs {
		d.r.stream.Close()
	}
	return nil
}

// Own makes cameras the ones this hub reads, when it is Gated: it starts
// the readers of those it did not read and stops those of the others,
// whose health then says another member reads them. The streams stay, so
// their subscribers (viewers, detection) carry on when a camera comes
// back. Own may be called before Run.
func (h *Hub) Own(cameras []string) {
	owned := make(map[string]bool, len(cameras))
	for _, id := range cameras {
		owned[id] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.owned = owned
	if h.ctx == nil || !h.Gated {
		return
	}
	for _, id := range h.order {
		r := h.running[id]
		switch {
		case owned[id] && r == nil:
			h.start(id)
		case !owned[id] && r != nil:
			// under the lock: a camera given back at once must not have two
			// runs of one reader
			r.stop(errReleased)
			<-r.done
			delete(h.running, id)
			if d := h.subs[id]; d != nil {
				d.release(true)
			}
		}
	}
}

// start runs the camera's readers under Run's context; h.mu is held.
func (h *Hub) start(id string) {
	ctx, stop := context.WithCancelCause(h.ctx)
	r := &running{stop: stop, done: make(chan struct{})}
	h.running[id] = r
	main, det := h.readers[id], h.detects[id]
	main.starting()
	if det != nil {
		det.starting()
	}
	go func() {
		defer close(r.done)
		var wg sync.WaitGroup
		wg.Go(func() { _ = main.Run(ctx) })
		if det != nil {
			wg.Go(func() { _ = det.Run(ctx) })
		}
		wg.Wait()
	}()
	if d := h.subs[id]; d != nil {
		d.release(false)
	}
}

// Reads reports whether the hub reads the camera now.
func (h *Hub) Reads(camera string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running[camera] != nil
}

// ReadHealths returns the health of the cameras the hub reads now, in
// config order: what a member of a cluster reports to the others.
func (h *Hub) ReadHealths() []Health {
	out := make([]Health, 0, len(h.order))
	for _, id := range h.order {
		if h.Reads(id) {
			hl, _ := h.Health(id)
			out = append(out, hl)
		}
	}
	return out
}

// HasSub reports whether the camera has a sub-stream.
func (h *Hub) HasSub(camera string) bool {
	_, ok := h.subs[camera]
	return ok
}

// WantSub starts reading the camera's sub-stream, if it has one, and
// waits until it is online, ctx ends or within has passed; it returns the
// sub-stream's health then (ok false: no sub-stream). A viewer calls it
// before it subscribes; the stream is then kept for SubLinger at least.
func (h *Hub) WantSub(ctx context.Context, camera string, within time.Duration) (Health, bool) {
	d, ok := h.subs[camera]
	if !ok {
		return Health{}, false
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(within)
	for {
		// wanted while waiting too: connecting may take longer than the linger
		d.Want()
		if hl := d.r.Health(); hl.Online {
			return hl, true
		}
		select {
		case <-ctx.Done():
			return d.r.Health(), true
		case <-deadline:
			return d.r.Health(), true
		case <-t.C:
		}
	}
}

// DetectStream returns the stream detection should read: the camera's
// detection stream when it has a detect_url, else its sub-stream when it
// has a sub_url (the same scene in smaller pictures: a fraction of the
// decoding; detection's subscription keeps it read), else its main
// stream; nil for an unknown camera.
func (h *Hub) DetectStream(id string) *Stream {
	if r, ok := h.detects[id]; ok {
		return r.stream
	}
	if d := h.subs[id]; d != nil {
		return d.r.stream
	}
	return h.Stream(id)
}

// Cameras returns the camera ids in config order.
func (h *Hub) Cameras() []string { return h.order }

// Stream returns the camera's stream, or its sub-stream for SubID(camera);
// nil for an unknown camera or one without a sub-stream.
func (h *Hub) Stream(id string) *Stream {
	if r := h.reader(id); r != nil {
		return r.stream
	}
	return nil
}

func (h *Hub) reader(id string) *Reader {
	if cam, ok := strings.CutSuffix(id, subSuffix); ok {
		if d := h.subs[cam]; d != nil {
			return d.r
		}
		return nil
	}
	return h.readers[id]
}

// Health returns the camera's health, with its sub-stream's in Sub, or the
// sub-stream's alone for SubID(camera); ok is false for an unknown camera.
func (h *Hub) Health(id string) (Health, bool) {
	r := h.reader(id)
	if r == nil {
		return Health{}, false
	}
	hl := r.Health()
	if d := h.subs[id]; d != nil {
		sub := d.r.Health()
		hl.Sub = &sub
	}
	return hl, true
}

// Healths returns every camera's health in config order, each with its
// sub-stream's in Sub.
func (h *Hub) Healths() []Health {
	out := make([]Health, 0, len(h.order))
	for _, id := range h.order {
		hl, _ := h.Health(id)
		out = append(out, hl)
	}
	return out
}
