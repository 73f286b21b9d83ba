package ingest

import (
	"context"
	"log/slog"
	"sync"

	"qianliyan/configs"
)

// Hub owns one Reader and one Stream per configured camera, and one more
// for each camera's detection sub-stream (detect_url) when detection runs.
type Hub struct {
	order   []string
	readers map[string]*Reader
	subs    map[string]*Reader // detection sub-streams by camera id
}

// NewHub builds the readers of every camera in cfg; Run starts them.
func NewHub(cfg *configs.Config, log *slog.Logger) *Hub {
	h := &Hub{readers: make(map[string]*Reader, len(cfg.Cameras)), subs: map[string]*Reader{}}
	for _, cam := range cfg.Cameras {
		s := NewStream(cam.ID, cfg.Ingest.GOPMaxBytes)
		h.readers[cam.ID] = NewReader(cam, cfg.Ingest, s, log)
		h.order = append(h.order, cam.ID)
		if cam.DetectURL != "" && cfg.Detect.Mode != configs.ModeOff {
			sub := cam
			sub.ID, sub.URL = cam.ID+"/detect", cam.DetectURL
			h.subs[cam.ID] = NewReader(sub, cfg.Ingest, NewStream(sub.ID, cfg.Ingest.GOPMaxBytes), log)
		}
	}
	return h
}

// Run reads every camera until ctx ends, then closes their streams.
func (h *Hub) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, rs := range []map[string]*Reader{h.readers, h.subs} {
		for _, r := range rs {
			wg.Go(func() { _ = r.Run(ctx) })
		}
	}
	wg.Wait()
	for _, rs := range []map[string]*Reader{h.readers, h.subs} {
		for _, r := range rs {
			r.stream.Close()
		}
	}
	return nil
}

// DetectStream returns the stream detection should read: the camera's
// sub-stream when it has a detect_url, else its main stream; nil for an
// unknown camera.
func (h *Hub) DetectStream(id string) *Stream {
	if r, ok := h.subs[id]; ok {
		return r.stream
	}
	return h.Stream(id)
}

// Cameras returns the camera ids in config order.
func (h *Hub) Cameras() []string { return h.order }

// Stream returns the camera's stream, or nil for an unknown camera.
func (h *Hub) Stream(id string) *Stream {
	if r, ok := h.readers[id]; ok {
		return r.stream
	}
	return nil
}

// Health returns the camera's health; ok is false for an unknown camera.
func (h *Hub) Health(id string) (Health, bool) {
	r, ok := h.readers[id]
	if !ok {
		return Health{}, false
	}
	return r.Health(), true
}

// Healths returns every camera's health in config order.
func (h *Hub) Healths() []Health {
	out := make([]Health, 0, len(h.order))
	for _, id := range h.order {
		out = append(out, h.readers[id].Health())
	}
	return out
}
