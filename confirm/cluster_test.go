package confirm

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"qianliyan/detect"
	"qianliyan/internal/testenv"
	"qianliyan/task"
)

// entries counts the entries of task id with action act.
func (e *confirmEnv) entries(t *testing.T, id string, act task.Action) int {
	t.Helper()
	tl, err := e.tasks.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, en := range tl {
		if en.Action == act {
			n++
		}
	}
	return n
}

// TestTwoMembersConfirmEachStepOnce: two bridges on one Redis, each with
// its own stores and confirmer, both detecting on the camera (as during a
// takeover) and each told of the other's task changes (the API's event
// bus): the same incident handed to both makes one task, the same problem
// raised by both at once one incident and one task, the person seen by
// both one arrival, the fixed zone seen by both one verification proposal.
func TestTwoMembersConfirmEachStepOnce(t *testing.T) {
	e := newConfirmEnv(t)
	c1, _ := e.start(t)
	tasks2 := task.NewStore(e.rdb, e.prefix, e.cfg.Tasks, nil)
	inc2 := detect.NewStore(e.rdb, e.prefix)
	c2 := New(e.cfg, tasks2, e.cameras, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	c2.every, c2.now = 10*time.Millisecond, e.clock.Now
	c2.Attach(inc2)
	e.tasks.OnChange(c2.TaskChanged)
	tasks2.OnChange(c1.TaskChanged)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c2.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	handled := func(want1, want2 uint64) {
		t.Helper()
		testenv.WaitFor(t, "both confirmers to take the news", 5*time.Second, func() bool {
			return c1.handled.Load() >= want1 && c2.handled.Load() >= want2
		})
	}
	list := func() []*task.Task {
		t.Helper()
		l, _, err := e.tasks.List(context.Background(), task.Filter{Camera: "bin"})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	// one incident handed to both confirmers
	in := e.raise(t, binZone, detect.ZoneChanged, "in-1.jpg") // member 1's store hands it to c1
	c2.incident(in)
	handled(1, 1)
	tk := e.taskOf(t, in.ID)
	if l := list(); len(l) != 1 || tk.Entries != 2 || tk.Repeats != 0 {
		t.Fatalf("one incident handed to two confirmers: %d tasks, the task with %d entries and %d repeats; want 1 task of 2 entries (create, accept)",
			len(l), tk.Entries, tk.Repeats)
	}

	// both members detect the same problem at once
	var wg sync.WaitGroup
	ids := make([]string, 2)
	for i, s := range []*detect.Store{e.incidents, inc2} {
		wg.Go(func() {
			x, err := s.Raise(context.Background(), detect.Incident{Camera: "bin", Zone: "巷口", Kind: detect.ZoneChanged, Confidence: 0.7}, time.Now())
			if err != nil {
				t.Error(err)
			}
			ids[i] = x.ID
		})
	}
	wg.Wait()
	if ids[0] != ids[1] {
		t.Fatalf("the same problem raised by two members opened incidents %s and %s, want one", ids[0], ids[1])
	}
	other := e.taskOf(t, ids[0])
	time.Sleep(200 * time.Millisecond)
	if l := list(); len(l) != 2 {
		t.Fatalf("%d tasks after the second problem, want 2", len(l))
	}
	if x, _ := e.tasks.Get(context.Background(), other.ID); x.Entries != 2 || x.Repeats != 0 {
		t.Errorf("the task of the problem raised twice: %d entries, %d repeats; want 2 and 0", x.Entries, x.Repeats)
	}

	// claimed through member 1, seen by member 2 only: member 2 knew of
	// the claim from member 1's task changes
	e.move(t, other.ID, staff, task.Dispatch, task.Request{Worker: "worker1"})
	e.move(t, other.ID, worker1, task.Claim, task.Request{})
	h2 := c2.handled.Load()
	if err := inc2.Observe(context.Background(), detect.Observation{Camera: "bin", Zone: "巷口", Kind: detect.PersonEntered, AtMS: time.Now().UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	handled(0, h2+1)
	e.waitState(t, other.ID, task.Arrived)

	// dispatched and claimed through member 1; both see the person enter
	e.move(t, tk.ID, staff, task.Dispatch, task.Request{Worker: "worker1"})
	e.move(t, tk.ID, worker1, task.Claim, task.Request{})
	o := detect.Observation{Camera: "bin", Zone: binZone, Kind: detect.PersonEntered, AtMS: time.Now().UnixMilli(), Snapshot: "p-1.jpg"}
	h1 := c1.handled.Load()
	h2 = c2.handled.Load()
	for _, s := range []*detect.Store{e.incidents, inc2} {
		wg.Go(func() {
			if err := s.Observe(context.Background(), o); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	handled(h1+1, h2+1)
	e.waitState(t, tk.ID, task.Arrived)
	if n := e.entries(t, tk.ID, task.Arrive); n != 1 {
		t.Errorf("the person seen by two members: %d arrivals, want 1", n)
	}

	// the zone looks right again, seen by both; submitted; held past verify_hold
	looks := detect.Observation{Camera: "bin", Zone: binZone, Kind: detect.ZoneMatches, AtMS: e.clock.Now().Add(-time.Second).UnixMilli()}
	left := detect.Observation{Camera: "bin", Zone: binZone, Kind: detect.PersonLeft, AtMS: time.Now().UnixMilli()}
	for _, ob := range []detect.Observation{left, looks} {
		for _, s := range []*detect.Store{e.incidents, inc2} {
			if err := s.Observe(context.Background(), ob); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.move(t, tk.ID, worker1, task.Submit, task.Request{Evidence: &task.Evidence{Photo: "fix-1.jpg"}})
	e.clock.Add(2500 * time.Millisecond)
	testenv.WaitFor(t, "a verification proposal", 5*time.Second, func() bool {
		x, err := e.tasks.Get(context.Background(), tk.ID)
		return err == nil && x.Proposal != nil
	})
	e.cam.waitRounds(t, 20) // both confirmers judged again and again
	if n := e.entries(t, tk.ID, task.Propose); n != 1 {
		t.Errorf("the fix seen by two members: %d proposals, want 1", n)
	}
}

// TestResyncMakesTheTaskOfAnIncidentLeftWithout: an incident raised by a
// member that stopped before its confirmer made the task (here: a store
// no confirmer listens to) gets its task at a resync of any member, once
// it is older than repairAfter; one that has a task gets no second.
func TestResyncMakesTheTaskOfAnIncidentLeftWithout(t *testing.T) {
	e := newConfirmEnv(t)
	gone := detect.NewStore(e.rdb, e.prefix) // the stopped member's
	in, err := gone.Raise(context.Background(), detect.Incident{Camera: "bin", Zone: binZone, Kind: detect.ZoneChanged, Confidence: 0.8}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := New(e.cfg, e.tasks, e.cameras, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	c.every, c.resync, c.now = 10*time.Millisecond, 20*time.Millisecond, e.clock.Now
	c.Attach(detect.NewStore(e.rdb, e.prefix))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	count := func() int {
		l, _, err := e.tasks.List(context.Background(), task.Filter{Camera: "bin"})
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	time.Sleep(200 * time.Millisecond) // some resyncs
	if n := count(); n != 0 {
		t.Fatalf("%d tasks made for an incident younger than %v, want none yet", n, repairAfter)
	}
	e.clock.Add(repairAfter)
	tk := e.taskOf(t, in.ID)
	time.Sleep(200 * time.Millisecond) // more resyncs
	if n := count(); n != 1 || tk.Entries != 2 {
		t.Errorf("after more resyncs: %d tasks, the task with %d entries; want one task of 2 entries", n, tk.Entries)
	}
}
