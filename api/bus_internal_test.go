package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/detect"
	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
	"qianliyan/task"
)

// TestBusOnRedisCluster: on a real Redis Cluster of three masters, a task
// event and an incident one member sends reach the subscribers of the
// other member, and the sender's own bus hands it nothing back (its own
// subscribers got it at once, from its store).
func TestBusOnRedisCluster(t *testing.T) {
	rdb, _ := redistest.ClusterClient(t)
	evA, evB := newEvents(), newEvents()
	a, b := newBus(rdb, "qly:bus:", "a", evA, nil), newBus(rdb, "qly:bus:", "b", evB, nil)
	staff := Principal{ID: "staff", Role: RoleStaff}
	subA, _ := evA.subscribe(staff, func(string) bool { return false })
	subB, _ := evB.subscribe(staff, func(string) bool { return false })
	var tasksSeen []string
	var mu sync.Mutex
	b.taskSubs = append(b.taskSubs, func(ev task.Event) { mu.Lock(); tasksSeen = append(tasksSeen, ev.Task.ID); mu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.run(ctx) })
	wg.Go(func() { b.run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	// until b is subscribed, a's first sends may go nowhere: send until one arrives
	got := func(sub *eventSub, within time.Duration, send func()) (eventMsg, bool) {
		deadline := time.After(within)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if send != nil {
				send()
			}
			select {
			case m := <-sub.ch:
				return m, true
			case <-deadline:
				return eventMsg{}, false
			case <-tick.C:
			}
		}
	}
	m, ok := got(subB, 10*time.Second, func() { a.sendTask(task.Event{Type: "task", Task: &task.Task{ID: "T1", Grid: "g1"}}) })
	var ev task.Event
	if !ok || m.name != "task" || json.Unmarshal(m.data, &ev) != nil || ev.Task == nil || ev.Task.ID != "T1" {
		t.Fatalf("b's subscriber got %q %s (%v), want a's task T1", m.name, m.data, ok)
	}
	for len(subB.ch) > 0 { // the repeats sent while b was subscribing
		<-subB.ch
	}
	a.sendIncident(detect.Incident{ID: "in1", Camera: "cam2", Kind: detect.CameraOffline})
	if m, ok := got(subB, 5*time.Second, nil); !ok || m.name != "incident" {
		t.Errorf("b's subscriber got %q %s (%v), want a's incident", m.name, m.data, ok)
	}
	if m, ok := got(subA, 300*time.Millisecond, nil); ok {
		t.Errorf("a's own bus handed a's subscriber %q %s: its own events must not come back", m.name, m.data)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tasksSeen) == 0 || tasksSeen[0] != "T1" {
		t.Errorf("b's OnOtherMembersTask functions got %v, want T1", tasksSeen)
	}
}

// TestBusLosingRedisRestartsTheEventStreams: when the bus's subscription
// is cut (CLIENT KILL, as a Redis restart or a network cut does), go-redis
// subscribes again, and the member ends its clients' event streams, since
// what was published meanwhile is lost: the pages reconnect and reload.
// Events flow again after it.
func TestBusLosingRedisRestartsTheEventStreams(t *testing.T) {
	o := redistest.Options(t)
	o.ClientName = fmt.Sprintf("bus-test-%d", time.Now().UnixNano())
	rdb := redis.NewClient(o)
	t.Cleanup(func() { rdb.Close() })
	_, prefix := redistest.Client(t, "bus")
	ev := newEvents()
	a, b := newBus(rdb, prefix, "a", ev, nil), newBus(redistest.Connect(t), prefix, "b", newEvents(), nil)
	staff := Principal{ID: "staff", Role: RoleStaff}
	before, _ := ev.subscribe(staff, func(string) bool { return false })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.run(ctx) })
	wg.Go(func() { b.run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	// a's subscription connection, by its name
	var id string
	testenv.WaitFor(t, "a's subscription", 5*time.Second, func() bool {
		list, _ := rdb.ClientList(context.Background()).Result()
		for _, line := range strings.Split(list, "\n") {
			if strings.Contains(line, " name="+o.ClientName+" ") && strings.Contains(line, " sub=1 ") {
				f, _ := strings.CutPrefix(strings.Fields(line)[0], "id=")
				id = f
			}
		}
		return id != ""
	})
	if n, err := rdb.Do(context.Background(), "CLIENT", "KILL", "ID", id).Int(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL ID %s = %d, %v", id, n, err)
	}
	ended := false
	deadline := time.After(10 * time.Second)
	for !ended {
		select {
		case _, ok := <-before.ch:
			ended = !ok
		case <-deadline:
			t.Fatalf("the event stream of a's client still runs 10 s after a's subscription was cut (subscribed again %d times)", a.resubs.Load())
		}
	}
	if a.resubs.Load() != 1 {
		t.Errorf("a subscribed again %d times, want once", a.resubs.Load())
	}
	// a client that reconnects gets the other member's events again
	after, _ := ev.subscribe(staff, func(string) bool { return false })
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for got := false; !got; {
		b.sendTask(task.Event{Type: "task", Task: &task.Task{ID: "T2", Grid: "g1"}})
		select {
		case m := <-after.ch:
			got = m.name == "task"
		case <-deadline:
			t.Fatal("no event of b reached a's new client after a subscribed again")
		case <-tick.C:
		}
	}
}

// TestAClientTooSlowForItsStreamHasItEnded: rather than miss an event
// unawares, a subscriber whose buffer is full has its stream ended (its
// page reconnects and reloads); the others go on.
func TestAClientTooSlowForItsStreamHasItEnded(t *testing.T) {
	e := newEvents()
	staff := Principal{ID: "staff", Role: RoleStaff}
	slow, _ := e.subscribe(staff, func(string) bool { return false })
	quick, _ := e.subscribe(staff, func(string) bool { return false })
	for i := range subBuffer + 40 {
		e.publish("task", fmt.Appendf(nil, `{"n":%d}`, i), toCenter)
		if i < subBuffer-4 {
			continue
		}
		for len(quick.ch) > 0 {
			<-quick.ch
		}
	}
	n := 0
	for open := true; open; {
		select {
		case _, open = <-slow.ch:
			if open {
				n++
			}
		case <-time.After(time.Second):
			t.Fatalf("the slow client's stream still runs after %d events it could not take", 40)
		}
	}
	if n != cap(slow.ch) {
		t.Errorf("the slow client's stream gave %d events before it ended, want its buffer's %d", n, cap(slow.ch))
	}
	e.publish("task", []byte(`{"n":"last"}`), toCenter)
	if m := <-quick.ch; string(m.data) != `{"n":"last"}` {
		t.Errorf("the quick client got %s next, want the last event", m.data)
	}
}
