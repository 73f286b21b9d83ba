package task_test

import (
	"errors"
	"reflect"
	"testing"

	"qianliyan/task"
)

func TestClipsAreListedInTheEntriesOfTheirSteps(t *testing.T) {
	e := newEnv(t, defaultLimits)
	clip := func(id string) *task.Clip {
		return &task.Clip{ID: id, Camera: "cam7", StartMS: start.UnixMilli() - 10000, EndMS: start.UnixMilli() + 20000}
	}
	n := task.NewTask{Kind: "zone_changed", IncidentID: "0c1", Camera: "cam7", Zone: "垃圾桶", Grid: "g1", Location: place, Photo: "snap/i1.jpg", Clip: clip("Cincident1")}
	tk, err := e.Create(ctx, camera, n)
	if err != nil {
		t.Fatal(err)
	}
	n.IncidentID, n.Clip = "0c2", clip("Crecur1")
	if _, err := e.Create(ctx, camera, n); err != nil {
		t.Fatal(err)
	}
	do(t, e.Store, tk.ID, staff, task.Accept, task.Request{})
	do(t, e.Store, tk.ID, staff, task.Dispatch, task.Request{Worker: "w1", Grid: "g1"})
	do(t, e.Store, tk.ID, w1, task.Claim, task.Request{})
	if _, _, err := e.CameraArrived(ctx, tk.ID, "snap/p.jpg", e.clock.Now(), clip("Carrive1")); err != nil {
		t.Fatal(err)
	}
	do(t, e.Store, tk.ID, w1, task.Submit, task.Request{Evidence: &task.Evidence{Photo: "photo/f.jpg", Clip: clip("Csubmit1")}})
	if _, _, err := e.ProposeVerified(ctx, tk.ID, "b.jpg", "a.jpg", task.Message{Text: "looks normal"}, clip("Cverify1")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.CameraRework(ctx, tk.ID, task.Message{Text: "still differs"}, "s.jpg", clip("Crework1")); err != nil {
		t.Fatal(err)
	}
	tl, err := e.Timeline(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[task.Action]string{task.Create: "Cincident1", task.Recur: "Crecur1", task.Arrive: "Carrive1",
		task.Submit: "Csubmit1", task.Propose: "Cverify1", task.Rework: "Crework1"}
	for _, en := range tl {
		id, ok := want[en.Action]
		if !ok {
			continue
		}
		delete(want, en.Action)
		if en.Evidence == nil || !reflect.DeepEqual(en.Evidence.Clip, clip(id)) {
			t.Errorf("%s entry evidence %+v, want clip %s of cam7 from before to after", en.Action, en.Evidence, id)
		}
	}
	if len(want) > 0 {
		t.Errorf("no entries for %v", want)
	}
	bad := task.Request{Evidence: &task.Evidence{Photo: "p.jpg", Clip: &task.Clip{Camera: "cam7", StartMS: 2, EndMS: 1}}}
	if _, _, err := e.Transition(ctx, tk.ID, w1, task.Claim, bad); !errors.Is(err, task.ErrInvalid) {
		t.Errorf("a clip without an id, ending before it starts: want ErrInvalid, got %v", err)
	}
}
