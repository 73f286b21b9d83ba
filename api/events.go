package api

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/detect"
)

// events fans camera changes out to server-sent-event subscribers.
type events struct {
	mu   sync.Mutex
	subs map[*eventSub]struct{}
	last map[string]string // camera id → what was last published about it
	all  map[string][]byte // camera id → its latest event data
}

type eventSub struct {
	staff bool
	ch    chan eventMsg
}

type eventMsg struct {
	public bool
	name   string
	data   []byte
}

func newEvents() *events {
	return &events{subs: map[*eventSub]struct{}{}, last: map[string]string{}, all: map[string][]byte{}}
}

// publishChanges sends the cameras whose state a viewer would notice
// (online, warning, codec, viewers) changed since the last call.
func (e *events) publishChanges(cams []Camera) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range cams {
		c.Sessions = nil
		data, err := json.Marshal(c)
		if err != nil {
			continue
		}
		key := string(mustJSON([]any{c.Health.Online, c.Health.Warning, c.Health.Codec, c.Viewers, c.Health.LastError}))
		e.all[c.ID] = data
		if e.last[c.ID] == key {
			continue
		}
		e.last[c.ID] = key
		msg := eventMsg{public: c.Public, name: "camera", data: data}
		for sub := range e.subs {
			if sub.staff || msg.public {
				select {
				case sub.ch <- msg:
				default: // a stuck client misses a change; the next one carries the state
				}
			}
		}
	}
}

// publishIncident sends an incident change to staff subscribers.
func (e *events) publishIncident(in detect.Incident) {
	msg := eventMsg{name: "incident", data: mustJSON(in)}
	e.mu.Lock()
	defer e.mu.Unlock()
	for sub := range e.subs {
		if sub.staff {
			select {
			case sub.ch <- msg:
			default:
			}
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (e *events) subscribe(staff bool, public func(id string) bool) (*eventSub, []eventMsg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	sub := &eventSub{staff: staff, ch: make(chan eventMsg, 64)}
	e.subs[sub] = struct{}{}
	var first []eventMsg
	for id, data := range e.all {
		if staff || public(id) {
			first = append(first, eventMsg{name: "camera", data: data})
		}
	}
	return sub, first
}

func (e *events) unsubscribe(sub *eventSub) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.subs, sub)
}

func (e *events) closeAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for sub := range e.subs {
		close(sub.ch)
		delete(e.subs, sub)
	}
}

// serveEvents streams `event: camera` messages: every visible camera at
// once, then each change; a comment every 15 s keeps proxies from closing.
func (s *Server) serveEvents(c *gin.Context) error {
	staff := s.isStaff(c)
	sub, first := s.events.subscribe(staff, func(id string) bool {
		cam := s.cfg.Camera(id)
		return cam != nil && cam.Public
	})
	defer s.events.unsubscribe(sub)
	if len(first) == 0 {
		// Run has not published yet: send the current state directly
		for _, cam := range s.cameraList(staff) {
			first = append(first, eventMsg{name: "camera", data: mustJSON(cam)})
		}
	}
	w := c.Writer
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(m eventMsg) bool {
		_, err := w.Write([]byte("event: " + m.name + "\ndata: " + string(m.data) + "\n\n"))
		w.Flush()
		return err == nil
	}
	for _, m := range first {
		if !write(m) {
			return nil
		}
	}
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-c.Request.Context().Done():
			return nil
		case m, ok := <-sub.ch:
			if !ok || !write(m) {
				return nil
			}
		case <-ping.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return nil
			}
			w.Flush()
		}
	}
}
