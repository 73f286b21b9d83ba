package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/detect"
	"qianliyan/task"
)

// events fans camera changes, incidents and task changes out to
// server-sent-event subscribers, each of whom gets only what its principal
// may see.
type events struct {
	mu   sync.Mutex
	subs map[*eventSub]struct{}
	last map[string]string // camera id → what was last published about it
	all  map[string][]byte // camera id → its latest event data
	// center gives a resident's view of a task event (nil: as it is).
	center *task.Center
}

type eventSub struct {
	who Principal // whose stream this is
	ch  chan eventMsg
}

type eventMsg struct {
	name string
	data []byte
}

// visibleTo says whether an event may go to a subscriber, by the
// subscriber's principal. Every publish names one; a new kind of event
// (tasks: the center and the task's grid workers) brings its own.
type visibleTo func(who Principal) bool

// toCenter sends an event to staff and admin only.
func toCenter(who Principal) bool { return who.SeesAll() }

// publish sends event name with data to every subscriber visible allows.
func (e *events) publish(name string, data []byte, visible visibleTo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sendLocked(eventMsg{name: name, data: data}, visible)
}

// sendLocked sends msg to the subscribers visible allows. A subscriber too
// slow to take it has its stream ended rather than miss an event unawares:
// its client reconnects and reloads what it shows.
func (e *events) sendLocked(msg eventMsg, visible visibleTo) {
	for sub := range e.subs {
		if visible(sub.who) {
			select {
			case sub.ch <- msg:
			default:
				e.endLocked(sub)
			}
		}
	}
}

// endLocked ends sub's stream (serveEvents returns).
func (e *events) endLocked(sub *eventSub) {
	close(sub.ch)
	delete(e.subs, sub)
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
		public, grid := c.Public, c.Grid
		e.sendLocked(eventMsg{name: "camera", data: data}, func(who Principal) bool { return who.mayWatch(public, grid) })
	}
}

// publishIncident sends an incident change to the center.
func (e *events) publishIncident(in detect.Incident) {
	e.publish("incident", mustJSON(in), toCenter)
}

// publishTask sends a task change (task.Store.OnChange) as `event: task`
// with {"type", "task", "entry"}: to the center, to the workers of the
// task's grid, and to the resident who reported it.
func (e *events) publishTask(ev task.Event) {
	if ev.Task == nil {
		return
	}
	grid, reporter := ev.Task.Grid, ev.Task.Reporter
	e.mu.Lock()
	defer e.mu.Unlock()
	// made for the first subscriber who gets each: often nobody listens
	var msg, residentMsg *eventMsg
	for sub := range e.subs {
		if !seesTaskEvent(sub.who, grid, reporter) {
			continue
		}
		m := &msg
		if sub.who.Role == RoleResident && e.center != nil {
			m = &residentMsg // the reporter: no logins, no GPS (task.Center.Redact)
		}
		if *m == nil {
			out := ev
			if m == &residentMsg {
				a := actorOf(sub.who)
				out.Task, out.Entry = e.center.Redact(a, ev.Task), e.center.RedactEntry(a, ev.Task, ev.Entry)
			}
			*m = &eventMsg{name: "task", data: mustJSON(out)}
		}
		select {
		case sub.ch <- **m:
		default: // as in sendLocked: a stuck client misses a change
		}
	}
}

// seesTaskEvent says whether who gets the events of a task in grid
// reported by reporter.
func seesTaskEvent(who Principal, grid, reporter string) bool {
	return who.SeesAll() || who.InGrid(grid) || who.Role == RoleResident && !who.Anonymous() && who.ID == reporter
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// subBuffer is how many events a stream holds for its client: a wall of
// 128 cameras that all go offline at once gets 128 in a burst.
const subBuffer = 256

// subscribe adds who's stream; first is the latest state of every camera
// mayWatch lets who see.
func (e *events) subscribe(who Principal, mayWatch func(id string) bool) (*eventSub, []eventMsg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	sub := &eventSub{who: who, ch: make(chan eventMsg, subBuffer)}
	e.subs[sub] = struct{}{}
	var first []eventMsg
	for id, data := range e.all {
		if mayWatch(id) {
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

// closeAll ends every stream: at shutdown, and when this member may have
// missed other members' events (the bus lost Redis for a while). The
// clients reconnect (within sseRetry) and reload.
func (e *events) closeAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for sub := range e.subs {
		e.endLocked(sub)
	}
}

// sseRetry is how soon a client reconnects after its stream ended (the
// SSE retry field; the browser's own default is about 3 s).
const sseRetry = time.Second

// serveEvents streams `event: camera` messages: every camera the caller may
// watch at once, then each change; `event: incident` to the center only;
// `event: task` to whom publishTask says. A comment every 15 s keeps proxies
// from closing.
func (s *Server) serveEvents(c *gin.Context) error {
	who := principal(c)
	sub, first := s.events.subscribe(who, func(id string) bool {
		cam := s.cfg.Camera(id)
		return cam != nil && who.MayWatch(cam)
	})
	defer s.events.unsubscribe(sub)
	if len(first) == 0 {
		// Run has not published yet: send the current state directly
		for _, cam := range s.cameraList(who) {
			first = append(first, eventMsg{name: "camera", data: mustJSON(cam)})
		}
	}
	w := c.Writer
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(m eventMsg) bool {
		s.writeDeadline(c)
		_, err := w.Write([]byte("event: " + m.name + "\ndata: " + string(m.data) + "\n\n"))
		w.Flush()
		return err == nil
	}
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", sseRetry.Milliseconds()); err != nil {
		return nil
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
			s.writeDeadline(c)
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return nil
			}
			w.Flush()
		}
	}
}
