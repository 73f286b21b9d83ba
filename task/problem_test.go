package task_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"qianliyan/configs"
	"qianliyan/task"
)

// fall is incident i of the knocked-over bin of zone 垃圾桶 of camera cam7.
func fall(i int) task.NewTask {
	return task.NewTask{Kind: configs.ZoneChanged, IncidentID: fmt.Sprintf("fall-%02d", i), Camera: "cam7", Zone: "垃圾桶", Grid: "g1",
		Location: place, Photo: fmt.Sprintf("snap/fall-%02d.jpg", i)}
}

// TestTwentyFallsAreOneTask: the same bin falling twenty times while its task
// is open is one task with twenty timeline lines (the create and 19
// recurrences, each with its snapshot and incident); the same incident
// again adds nothing; another zone or kind is another task.
func TestTwentyFallsAreOneTask(t *testing.T) {
	limits := defaultLimits
	limits.AutoAccept = []string{configs.ZoneChanged}
	e := newEnv(t, limits)
	var first *task.Task
	for i := range 20 {
		e.clock.Add(time.Minute)
		tk, err := e.Create(ctx, camera, fall(i))
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = tk
		} else if tk.ID != first.ID {
			t.Fatalf("fall %d made task %s, want it added to %s", i, tk.ID, first.ID)
		}
	}
	if again, _ := e.Create(ctx, camera, fall(19)); again.Repeats != 19 {
		t.Errorf("the last incident again: repeats %d, want still 19", again.Repeats)
	}
	tl, err := e.Timeline(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	recurs := 0
	for _, en := range tl[2:] {
		if en.Action == task.Recur && en.Source == task.ByCamera && en.Evidence != nil && en.Incident != "" &&
			en.Evidence.Snapshot == "snap/"+en.Incident+".jpg" && en.From == task.Accepted && en.To == task.Accepted {
			recurs++
		}
	}
	if len(tl) != 21 || tl[0].Action != task.Create || tl[0].Incident != "fall-00" || tl[1].Action != task.Accept || recurs != 19 {
		t.Errorf("timeline of %d entries (%d good recurrences), want create, accept and 19 recurrences each with its incident and snapshot", len(tl), recurs)
	}
	if _, total, _ := e.List(ctx, task.Filter{}); total != 1 {
		t.Errorf("%d tasks from 20 falls of one bin, want 1", total)
	}
	for _, n := range []task.NewTask{
		{Kind: configs.ZoneChanged, IncidentID: "other-zone", Camera: "cam7", Zone: "巷口", Grid: "g1"},
		{Kind: configs.Loitering, IncidentID: "other-kind", Camera: "cam7", Zone: "垃圾桶", Grid: "g1"},
		{Kind: configs.ZoneChanged, IncidentID: "other-camera", Camera: "cam8", Zone: "垃圾桶", Grid: "g1"},
	} {
		if tk, err := e.Create(ctx, camera, n); err != nil || tk.ID == first.ID {
			t.Errorf("incident %s: %v, task %v; want a task of its own", n.IncidentID, err, tk)
		}
	}
}

// TestRacingFallsMakeOneTask: incidents of one problem created at once (two
// bridges, say) still give one task.
func TestRacingFallsMakeOneTask(t *testing.T) {
	e := newEnv(t, defaultLimits)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			tk, err := e.Create(ctx, camera, fall(i))
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = tk.ID
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("racing incidents gave tasks %v, want one", ids)
		}
	}
	if tk, _ := e.Get(ctx, ids[0]); tk.Repeats != 7 || tk.Entries != 8 {
		t.Errorf("task after 8 racing incidents: %d repeats, %d entries; want 7 and 8", tk.Repeats, tk.Entries)
	}
}

// TestProblemBackSoonAfterCloseReopens: within tasks.reopen_within of the
// close the task is reopened (reported again, worker and proposal gone);
// later, or after a rejection, a new task is made.
func TestProblemBackSoonAfterCloseReopens(t *testing.T) {
	limits := defaultLimits
	limits.ReopenWithin = configs.Duration(time.Hour)
	e := newEnv(t, limits)
	tk, err := e.Create(ctx, camera, fall(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range path {
		do(t, e.Store, tk.ID, step.by, step.act, step.req)
	}
	e.clock.Add(59 * time.Minute)
	re, err := e.Create(ctx, camera, fall(1))
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := e.Timeline(ctx, re.ID)
	last := tl[len(tl)-1]
	if re.ID != tk.ID || re.State != task.Reported || re.Worker != "" || re.Proposal != nil || re.Repeats != 1 ||
		last.Action != task.Reopen || last.From != task.Closed || last.To != task.Reported || last.Incident != "fall-01" {
		t.Errorf("fall 59 min after the close: task %+v, last entry %+v; want %s reopened, reported, without worker", re, last, tk.ID)
	}
	// dealt with again, closed, and back after more than an hour: new task
	for _, step := range path {
		do(t, e.Store, re.ID, step.by, step.act, step.req)
	}
	e.clock.Add(61 * time.Minute)
	late, err := e.Create(ctx, camera, fall(2))
	if err != nil || late.ID == tk.ID || late.State != task.Reported {
		t.Errorf("fall 61 min after the close: %v %+v, want a new task", err, late)
	}
	// a rejected task (a false alarm) is not reopened either
	do(t, e.Store, late.ID, staff, task.Reject, task.Request{Note: "误报"})
	after, err := e.Create(ctx, camera, fall(3))
	if err != nil || after.ID == late.ID {
		t.Errorf("fall after a rejection: %v, task %s; want a new one", err, after.ID)
	}
}

// TestMergeMarksADuplicate: staff merge one task into another: it is
// rejected as its duplicate, the other's timeline says so, and what comes
// of the duplicate's problem joins the task it was merged into.
func TestMergeMarksADuplicate(t *testing.T) {
	e := newEnv(t, defaultLimits)
	kept := inState(t, e.Store, task.Dispatched)
	dup, err := e.Create(ctx, camera, fall(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		a    task.Actor
		into string
		kind error
	}{
		{w1, kept.ID, task.ErrForbidden},
		{staff, "", task.ErrInvalid},
		{staff, dup.ID, task.ErrInvalid},
		{staff, "Tnope", task.ErrNotFound},
	} {
		if _, _, err := e.Transition(ctx, dup.ID, c.a, task.Merge, task.Request{Into: c.into}); !errors.Is(err, c.kind) {
			t.Errorf("merge by %s into %q: %v, want %v", c.a.ID, c.into, err, c.kind)
		}
	}
	e.takeEvents()
	got, entry := do(t, e.Store, dup.ID, staff, task.Merge, task.Request{Into: kept.ID, RequestID: "m1"})
	if got.State != task.Rejected || got.DuplicateOf != kept.ID || entry.Action != task.Merge || entry.Other != kept.ID ||
		entry.Note != "duplicate of "+kept.ID {
		t.Errorf("merged: %+v, entry %+v", got, entry)
	}
	k, _ := e.Get(ctx, kept.ID)
	tl, _ := e.Timeline(ctx, kept.ID)
	if j := tl[len(tl)-1]; k.State != task.Dispatched || j.Action != task.Join || j.Other != dup.ID || j.By != staff.ID || k.Entries != j.Seq {
		t.Errorf("the kept task %+v ends with %+v, want a join entry naming %s", k, j, dup.ID)
	}
	if ev := e.takeEvents(); len(ev) != 2 {
		t.Errorf("events %v, want the merge and the join", ev)
	}
	if _, _, err := e.Transition(ctx, kept.ID, staff, task.Merge, task.Request{Into: dup.ID}); !errors.Is(err, task.ErrConflict) {
		t.Errorf("merging into a rejected duplicate: %v, want a conflict", err)
	}
	// the bin falls again: it joins the task the duplicate went into
	again, err := e.Create(ctx, camera, fall(1))
	if err != nil || again.ID != kept.ID || again.Repeats != 1 {
		t.Errorf("the duplicate's problem again: %v, task %s with %d repeats; want %s", err, again.ID, again.Repeats, kept.ID)
	}
}
