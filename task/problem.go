package task

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// One task per problem. A problem is what a camera sees in one zone, of one
// incident kind: the bin of zone 垃圾桶 of camera 7 knocked over. Its
// incidents come and go (the bin falls, is put back, falls again); their
// task is one, and each new incident is a line of its timeline. The hash
// <prefix>tasks:problems maps "camera|zone|kind" to the last task of the
// problem.

func (s *Store) problemsKey() string { return s.prefix + "tasks:problems" }

func problemOf(camera, zone, kind string) string { return camera + "|" + zone + "|" + kind }

// maxDuplicateHops bounds how far lastOfProblem follows merged tasks.
const maxDuplicateHops = 8

// lastOfProblem reads, under tx's WATCH, the last task of a problem: the one
// the index names, or the task it was merged into. Nil when the problem has
// none.
func (s *Store) lastOfProblem(ctx context.Context, tx *redis.Tx, camera, zone, kind string) (*Task, error) {
	if camera == "" || kind == "" {
		return nil, nil
	}
	id, err := tx.HGet(ctx, s.problemsKey(), problemOf(camera, zone, kind)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for range maxDuplicateHops {
		if err := tx.Watch(ctx, s.taskKey(id)).Err(); err != nil {
			return nil, err
		}
		t, err := s.read(ctx, tx, id)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil || t.DuplicateOf == "" {
			return t, err
		}
		id = t.DuplicateOf
	}
	return nil, nil
}

// recur is what a new incident of its problem does to last: an open task
// gets a "recur" entry; a task closed within tasks.reopen_within is
// reopened (back to reported, or accepted when the kind is auto-accepted);
// nil otherwise (a new task is due). The incident's snapshot is the entry's
// evidence.
func (s *Store) recur(last *Task, a Actor, n NewTask, now int64) (*Task, []*Entry) {
	t := last.clone()
	t.Repeats++
	t.UpdatedMS = now
	e := &Entry{Seq: t.Entries + 1, AtMS: now, From: last.State, To: last.State, By: a.ID, Role: a.Role,
		Source: entrySource(a), Incident: n.IncidentID}
	if n.Photo != "" || n.Clip != nil {
		e.Evidence = &Evidence{Snapshot: n.Photo, Clip: n.Clip}
	}
	switch within := s.limits.ReopenWithin.D().Milliseconds(); {
	case last.State.Open():
		e.Action, e.Note = Recur, strings.TrimSpace("the problem came back: "+n.Description)
		e.Code, e.Params = MsgRecur, map[string]any{"what": n.what()}
		t.Entries++
		return t, []*Entry{e}
	case last.State == Closed && within > 0 && now-last.StateMS <= within:
		e.Action, e.To, e.Note = Reopen, Reported, strings.TrimSpace("reopened: the problem came back after the close. "+n.Description)
		e.Code, e.Params = MsgReopen, map[string]any{"what": n.what()}
		t.Proposal, t.Worker = nil, ""
		t.enter(Reported, now)
		t.Entries++
		entries := []*Entry{e}
		if n.Accept {
			acc := &Entry{Seq: t.Entries + 1, AtMS: now, Action: Accept, From: Reported, To: Accepted, By: SystemActor().ID,
				Role: System, Source: BySystem, Note: "accepted automatically: " + n.Kind + " is in tasks.auto_accept",
				Code: MsgAutoAccepted, Params: map[string]any{"kind": n.Kind}}
			t.enter(Accepted, now)
			t.Entries++
			entries = append(entries, acc)
		}
		return t, entries
	}
	return nil, nil
}
