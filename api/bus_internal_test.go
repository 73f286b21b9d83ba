package api

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"qianliyan/detect"
	"qianliyan/internal/redistest"
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
