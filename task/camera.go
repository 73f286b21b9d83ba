package task

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The camera's part. Package confirm turns what detection sees into these
// steps: Watching and WatchOf say which tasks wait on which camera and zone
// (and so which cameras to watch closely); for a person seen entering a
// zone it calls CameraArrived on the claimed tasks of that zone; for a zone
// back to normal for tasks.verify_hold, ProposeVerified on the submitted
// ones; when a submitted task's zone still differs, CameraRework. Each
// returns an error wrapping ErrConflict when the task has moved on, which
// the caller can ignore.

// Watch is an open task that a camera can confirm.
type Watch struct {
	Camera   string `json:"camera"`
	Zone     string `json:"zone,omitempty"`
	TaskID   string `json:"task"`
	State    State  `json:"state"`
	Worker   string `json:"worker,omitempty"`
	StateMS  int64  `json:"state_ms"` // since when it is in State
	Proposed bool   `json:"proposed"` // verification already proposed in this state
}

// watchedStates are the states in which a camera may still confirm a step.
var watchedStates = []State{Dispatched, Claimed, Arrived, Submitted}

// Watching lists the tasks on a camera in the states dispatched, claimed,
// arrived and submitted, ordered by camera, zone and task.
func (s *Store) Watching(ctx context.Context) ([]Watch, error) {
	cmds := make([]*redis.StringSliceCmd, len(watchedStates))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, st := range watchedStates {
			cmds[i] = p.ZRange(ctx, s.stateKey(st), 0, -1)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list watched tasks: %w", err)
	}
	var ids []string
	for _, c := range cmds {
		ids = append(ids, c.Val()...)
	}
	ts, err := s.getMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := []Watch{}
	for _, t := range ts {
		if w, ok := WatchOf(t); ok {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b Watch) int {
		return cmp.Or(strings.Compare(a.Camera, b.Camera), strings.Compare(a.Zone, b.Zone), strings.Compare(a.TaskID, b.TaskID))
	})
	return out, nil
}

// WatchOf gives the task as a camera sees it, and whether a camera can still
// confirm a step of it (it is on a camera, dispatched, claimed, arrived or
// submitted): what a task event tells the camera's side.
func WatchOf(t *Task) (Watch, bool) {
	if t.Camera == "" || !slices.Contains(watchedStates, t.State) {
		return Watch{}, false
	}
	return Watch{Camera: t.Camera, Zone: t.Zone, TaskID: t.ID, State: t.State, Worker: t.Worker,
		StateMS: t.StateMS, Proposed: t.proposed()}, true
}

// proposed reports whether the camera proposed verification since the task
// entered its current state.
func (t *Task) proposed() bool {
	return t.Proposal != nil && t.Proposal.State == t.State && t.Proposal.AtMS >= t.StateMS
}

// cameraActor is the actor for a camera step on t.
func (s *Store) cameraActor(ctx context.Context, id string) (*Task, Actor, error) {
	t, err := s.Get(ctx, id)
	if err != nil {
		return nil, Actor{}, err
	}
	if t.Camera == "" {
		return nil, Actor{}, refuse(ErrInvalid, "task %s is not on a camera", id)
	}
	return t, CameraActor(t.Camera), nil
}

// CameraArrived records that the task's camera saw a person in its zone at
// at: the claimed task becomes arrived, with the source "camera" and the
// snapshot (and the clip, if any) as evidence.
func (s *Store) CameraArrived(ctx context.Context, id, snapshot string, at time.Time, clip *Clip) (*Task, *Entry, error) {
	t, a, err := s.cameraActor(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return s.transition(ctx, id, a, Arrive, Request{
		Note:     "seen on camera " + t.Camera,
		Evidence: &Evidence{Snapshot: snapshot, Clip: clip},
		note:     Message{Code: MsgSeenOnCamera, Params: map[string]any{"camera": t.Camera}},
	}, at.UnixMilli())
}

// ProposeVerified records that the task's zone has looked like its reference
// again for the hold time: a Proposal on the task and a "propose" entry in
// its timeline, without changing its state; staff verify with one click. It
// applies to arrived and submitted tasks, once per state. The clip, if any,
// is the entry's video evidence.
func (s *Store) ProposeVerified(ctx context.Context, id, before, after string, verdict Message, clip *Clip) (*Task, *Entry, error) {
	_, a, err := s.cameraActor(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	ev := &Evidence{Before: before, After: after, Verdict: verdict.Text, VerdictCode: verdict.Code, VerdictParams: verdict.Params, Clip: clip}
	if err := checkRequest(&Request{Evidence: ev}); err != nil {
		return nil, nil, err
	}
	var t *Task
	var e *Entry
	err = s.watch(ctx, func(tx *redis.Tx) error {
		old, err := s.read(ctx, tx, id)
		if err != nil {
			return err
		}
		if old.State != Arrived && old.State != Submitted {
			return refuse(ErrConflict, "verification is proposed only for a task that is arrived or submitted; task %s is %s", id, old.State)
		}
		if old.proposed() {
			return refuse(ErrConflict, "verification of task %s is already proposed", id)
		}
		now := s.now()
		nt := old.clone()
		cam, _ := cameraOf(a)
		nt.Proposal = &Proposal{AtMS: now, State: old.State, Camera: cam, Verdict: verdict.Text, Before: before, After: after,
			VerdictCode: verdict.Code, VerdictParams: verdict.Params}
		nt.UpdatedMS = now
		nt.Entries++
		ne := &Entry{Seq: nt.Entries, AtMS: now, Action: Propose, From: old.State, To: old.State, By: a.ID, Role: System,
			Source: ByCamera, Note: "verification proposed (seen on camera)", Code: MsgProposed, Evidence: ev}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { return s.queue(ctx, p, old, nt, ne) })
		if err == nil {
			t, e = nt, ne
		}
		return err
	}, s.taskKey(id))
	if err != nil {
		return nil, nil, wrapStore(id, "propose verification", err)
	}
	s.emit("task", t, e)
	return t, e, nil
}

// CameraRework sends a submitted or verified task back to its worker because
// the task's camera still sees its zone differ from the reference; the
// clip, if any, is the entry's video evidence.
func (s *Store) CameraRework(ctx context.Context, id string, verdict Message, snapshot string, clip *Clip) (*Task, *Entry, error) {
	_, a, err := s.cameraActor(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return s.transition(ctx, id, a, Rework, Request{
		Note:     "the zone still differs (seen on camera)",
		Evidence: &Evidence{Verdict: verdict.Text, VerdictCode: verdict.Code, VerdictParams: verdict.Params, Snapshot: snapshot, Clip: clip},
		note:     Message{Code: MsgStillDiffers},
	}, 0)
}

// wrapStore adds what was being done to errors that are not refusals.
func wrapStore(id, doing string, err error) error {
	var re *Error
	var te *TransitionError
	if errors.As(err, &re) || errors.As(err, &te) {
		return err
	}
	return fmt.Errorf("task %s: %s: %w", id, doing, err)
}
