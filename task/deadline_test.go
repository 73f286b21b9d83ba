package task_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"qianliyan/configs"
	"qianliyan/task"
)

// check runs CheckDeadlines on s and gives what it raised as
// "task-name/stage", sorted.
func check(t *testing.T, s *task.Store, names map[string]string) []string {
	t.Helper()
	ds, err := s.CheckDeadlines(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, names[d.TaskID]+"/"+string(d.Stage))
	}
	slices.Sort(out)
	return out
}

func overdueEntries(t *testing.T, s *task.Store, id string) []string {
	t.Helper()
	tl, err := s.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range tl {
		if e.Action == task.Overdue {
			if e.By != "system" || e.Role != task.System || e.Source != task.BySystem || e.From != e.To {
				t.Errorf("overdue entry %+v: want by the system, no change of state", e)
			}
			out = append(out, fmt.Sprintf("%s@%s: %s", e.Stage, time.UnixMilli(e.AtMS).Sub(start), e.Note))
		}
	}
	return out
}

func TestOverdueOncePerStageAndAcrossRestarts(t *testing.T) {
	e := newEnv(t, defaultLimits)
	a := inState(t, e.Store, task.Dispatched) // at 0: claim due 5m, resolve due 24h
	b := inState(t, e.Store, task.Dispatched)
	c := inState(t, e.Store, task.Dispatched)
	names := map[string]string{a.ID: "A", b.ID: "B", c.ID: "C"}
	at := func(d time.Duration) { e.clock.Set(start.Add(d)) }

	at(time.Minute)
	do(t, e.Store, b.ID, w1, task.Claim, task.Request{}) // arrive due 31m
	do(t, e.Store, c.ID, w1, task.Claim, task.Request{})
	at(4 * time.Minute)
	do(t, e.Store, c.ID, w1, task.Arrive, task.Request{Evidence: &task.Evidence{GPS: near}})
	do(t, e.Store, c.ID, w1, task.Submit, goodRequest(task.Submit)) // C is done in time: no deadline left
	e.takeEvents()

	at(5*time.Minute - time.Millisecond)
	if got := check(t, e.Store, names); len(got) != 0 {
		t.Errorf("a millisecond before the claim limit: %v, want nothing", got)
	}
	at(5 * time.Minute)
	// Two bridges on one Redis check at the same moment: one of them marks it.
	other := e.restart()
	var wg sync.WaitGroup
	got := make([][]string, 2)
	for i, s := range []*task.Store{e.Store, other} {
		wg.Go(func() { got[i] = check(t, s, names) })
	}
	wg.Wait()
	if all := append(got[0], got[1]...); !slices.Equal(all, []string{"A/claim"}) {
		t.Errorf("at the claim limit: %v, want [A/claim] once", all)
	}
	if got := check(t, e.Store, names); len(got) != 0 {
		t.Errorf("checked again: %v, want nothing", got)
	}
	if ev := e.takeEvents(); !slices.Equal(ev, []string{"overdue:overdue:" + a.ID}) {
		t.Errorf("events %v, want one overdue event for A", ev)
	}
	if tk, _ := e.Get(ctx, a.ID); tk.State != task.Dispatched || tk.OverdueMS[task.StageClaim] != start.Add(5*time.Minute).UnixMilli() {
		t.Errorf("A after its claim limit: state %s overdue %v, want still dispatched, claim overdue at 5m", tk.State, tk.OverdueMS)
	}

	at(31 * time.Minute)
	if got := check(t, e.Store, names); !slices.Equal(got, []string{"B/arrive"}) {
		t.Errorf("at 31m: %v, want [B/arrive]", got)
	}
	at(32 * time.Minute)
	do(t, e.Store, a.ID, w1, task.Claim, task.Request{}) // late; arrive due 62m

	// The bridge restarts; the limits are in Redis.
	s2 := e.restart()
	at(24 * time.Hour)
	if got := check(t, s2, names); !slices.Equal(got, []string{"A/arrive", "A/resolve", "B/resolve"}) {
		t.Errorf("after the restart, at 24h: %v, want [A/arrive A/resolve B/resolve]", got)
	}
	if got := check(t, e.Store, names); len(got) != 0 {
		t.Errorf("the old store checks again: %v, want nothing", got)
	}

	// A re-dispatch starts a new claim limit; the resolve limit stays spent.
	at(24*time.Hour + time.Minute)
	do(t, e.Store, b.ID, staff, task.Dispatch, task.Request{Worker: "w2", Grid: "g2"})
	at(24*time.Hour + 6*time.Minute)
	if got := check(t, s2, names); !slices.Equal(got, []string{"B/claim"}) {
		t.Errorf("after the re-dispatch: %v, want [B/claim]", got)
	}
	at(72 * time.Hour)
	if got := check(t, s2, names); len(got) != 0 {
		t.Errorf("days later: %v, want nothing more", got)
	}

	wantA := []string{
		"claim@5m0s: not claimed within 5m of dispatch",
		"arrive@24h0m0s: not arrived within 30m of the claim",
		"resolve@24h0m0s: not submitted within 24h of the first dispatch",
	}
	wantB := []string{
		"arrive@31m0s: not arrived within 30m of the claim",
		"resolve@24h0m0s: not submitted within 24h of the first dispatch",
		"claim@24h6m0s: not claimed within 5m of dispatch",
	}
	if got := overdueEntries(t, s2, a.ID); !slices.Equal(got, wantA) {
		t.Errorf("A's overdue entries\n got: %q\nwant: %q", got, wantA)
	}
	if got := overdueEntries(t, s2, b.ID); !slices.Equal(got, wantB) {
		t.Errorf("B's overdue entries\n got: %q\nwant: %q", got, wantB)
	}
	if got := overdueEntries(t, s2, c.ID); len(got) != 0 {
		t.Errorf("C was in time, but has %q", got)
	}
	due, err := e.rdb.ZRange(ctx, e.prefix+"{t}:tasks:due", 0, -1).Result()
	if err != nil || len(due) != 0 {
		t.Errorf("deadlines left: %v %v, want none (A arrive-overdue, B dispatched with spent limits, C submitted)", due, err)
	}
}

func TestZeroLimitsAreOff(t *testing.T) {
	e := newEnv(t, configs.Tasks{ArriveWithin: configs.Duration(time.Minute)})
	a := inState(t, e.Store, task.Dispatched)
	e.clock.Add(48 * time.Hour)
	if got := check(t, e.Store, nil); len(got) != 0 {
		t.Errorf("with claim and resolve limits off: %v, want nothing", got)
	}
	do(t, e.Store, a.ID, w1, task.Claim, task.Request{})
	e.clock.Add(time.Minute)
	if got := check(t, e.Store, map[string]string{a.ID: "A"}); !slices.Equal(got, []string{"A/arrive"}) {
		t.Errorf("arrive limit of 1m: %v, want [A/arrive]", got)
	}
}

func TestStageDoneInTimeDropsItsDeadline(t *testing.T) {
	e := newEnv(t, defaultLimits)
	tk := inState(t, e.Store, task.Dispatched)
	dueOf := func() []string {
		m, err := e.rdb.ZRangeWithScores(ctx, e.prefix+"{t}:tasks:due", 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, z := range m {
			out = append(out, fmt.Sprintf("%s@%s", strings.TrimPrefix(z.Member.(string), tk.ID+"|"), time.UnixMilli(int64(z.Score)).Sub(start)))
		}
		return out
	}
	if got := dueOf(); !slices.Equal(got, []string{"claim@5m0s", "resolve@24h0m0s"}) {
		t.Errorf("dispatched: deadlines %v, want claim at 5m and resolve at 24h", got)
	}
	e.clock.Add(time.Minute)
	do(t, e.Store, tk.ID, w1, task.Claim, task.Request{})
	if got := dueOf(); !slices.Equal(got, []string{"arrive@31m0s", "resolve@24h0m0s"}) {
		t.Errorf("claimed: deadlines %v, want arrive at 31m and resolve at 24h", got)
	}
	do(t, e.Store, tk.ID, w1, task.Arrive, task.Request{Evidence: &task.Evidence{GPS: near}})
	do(t, e.Store, tk.ID, w1, task.Submit, goodRequest(task.Submit))
	if got := dueOf(); len(got) != 0 {
		t.Errorf("submitted: deadlines %v, want none", got)
	}
	e.clock.Add(48 * time.Hour)
	if got := check(t, e.Store, nil); len(got) != 0 {
		t.Errorf("every stage done in time, yet %v", got)
	}
}

func TestRunMarksOverdueUntilCancelled(t *testing.T) {
	e := newEnv(t, defaultLimits)
	tk := inState(t, e.Store, task.Dispatched)
	e.takeEvents()
	e.clock.Add(time.Hour)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ev := e.takeEvents(); len(ev) > 0 {
			if !slices.Equal(ev, []string{"overdue:overdue:" + tk.ID}) {
				t.Errorf("Run emitted %v, want one overdue event", ev)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run marked nothing overdue within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v, want nil when cancelled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of cancel")
	}
}

// TestTwoScannersMarkEachStageOnce: two bridges on one Redis check the
// deadlines of many tasks at once, again and again: every overdue stage is
// marked once, with one entry and one event.
func TestTwoScannersMarkEachStageOnce(t *testing.T) {
	e := newEnv(t, defaultLimits)
	var ids []string
	for range 30 {
		ids = append(ids, inState(t, e.Store, task.Dispatched).ID)
	}
	e.takeEvents()
	e.clock.Add(6 * time.Minute) // every claim limit passed
	other := e.restart()
	var wg sync.WaitGroup
	marked := make([]int, 2)
	for i, s := range []*task.Store{e.Store, other} {
		wg.Go(func() {
			for range 5 {
				ds, err := s.CheckDeadlines(ctx)
				if err != nil {
					t.Error(err)
				}
				marked[i] += len(ds)
			}
		})
	}
	wg.Wait()
	if marked[0]+marked[1] != len(ids) {
		t.Errorf("the two scanners marked %d and %d stages, want %d in all", marked[0], marked[1], len(ids))
	}
	if ev := e.takeEvents(); len(ev) != len(ids) {
		t.Errorf("%d overdue events, want %d", len(ev), len(ids))
	}
	for _, id := range ids {
		if got := overdueEntries(t, e.Store, id); len(got) != 1 {
			t.Errorf("task %s has overdue entries %q, want one", id, got)
		}
	}
}

// TestRunScansOnlyWhileHeld: a store whose ScanOnlyWhen says no (another
// member holds the overdue duty) marks nothing; the one that holds it does.
func TestRunScansOnlyWhileHeld(t *testing.T) {
	e := newEnv(t, defaultLimits)
	tk := inState(t, e.Store, task.Dispatched)
	e.takeEvents()
	e.clock.Add(time.Hour)
	var mu sync.Mutex
	asked := 0
	e.ScanOnlyWhen(func(context.Context) bool { mu.Lock(); asked++; mu.Unlock(); return false })
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = e.Run(runCtx); close(done) }()
	time.Sleep(1500 * time.Millisecond)
	cancel()
	<-done
	mu.Lock()
	if asked == 0 {
		t.Error("Run never asked whether it holds the duty")
	}
	mu.Unlock()
	if ev := e.takeEvents(); len(ev) != 0 {
		t.Fatalf("a store that does not hold the duty marked %v", ev)
	}
	holder := e.restart()
	holder.ScanOnlyWhen(func(context.Context) bool { return true })
	runCtx, cancel = context.WithCancel(ctx)
	defer cancel()
	go func() { _ = holder.Run(runCtx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ev := e.takeEvents(); len(ev) > 0 {
			if !slices.Equal(ev, []string{"overdue:overdue:" + tk.ID}) {
				t.Errorf("the holder emitted %v, want one overdue event", ev)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the holder marked nothing overdue within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
