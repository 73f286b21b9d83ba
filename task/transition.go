package task

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Request is what a transition carries besides who makes it and which.
type Request struct {
	// RequestID is the client's id for this request (at most 128 bytes). A
	// retry with the same id on the same task by the same actor returns the
	// first result, even after the task has moved on, once the actor's role
	// may still make the action; the same id with another action or by
	// someone else is a conflict, and tells nothing of the first. Ids are
	// kept 24 hours. Empty: no retry protection.
	RequestID string
	Worker    string // dispatch: the worker to send (required)
	Grid      string // dispatch: the grid (default: the task's grid)
	Note      string // why, in words: required to reject without a Reason; at most 1000 characters
	Reason    string // reject: RejectFalseAlarm or RejectDuplicate
	Into      string // merge: the task this one duplicates (required)
	Evidence  *Evidence
	note      Message // the bridge's own note as a message (Entry.Code, Entry.Params)
}

// requestTTL is how long a request id is remembered for retries.
const requestTTL = 24 * time.Hour

// replay is what a request id keeps: who made which transition, and its
// result.
type replay struct {
	By     string `json:"by"`
	Action Action `json:"action"`
	Task   *Task  `json:"task"`
	Entry  *Entry `json:"entry"`
}

// Transition makes transition act on task id for actor a, atomically, and
// returns the task after it and its new timeline entry. The errors wrap
// ErrNotFound, ErrInvalid, ErrForbidden or ErrConflict (a *TransitionError
// when the state does not allow act; it names what would be allowed).
//
// What each transition needs: reject a Note (the reason); dispatch a Worker
// (and a Grid unless the task has one); a worker's arrive a GPS fix within
// tasks.arrive_radius_m of the task's place (when the place is known); the
// system's arrive a camera Snapshot; submit a Photo. Verify without evidence
// takes the camera's proposal, if there is one, as its evidence.
func (s *Store) Transition(ctx context.Context, id string, a Actor, act Action, req Request) (*Task, *Entry, error) {
	return s.transition(ctx, id, a, act, req, 0)
}

// transition is Transition with the time of the step given (atMS > 0): a
// camera's observation may reach the store a little after it happened.
func (s *Store) transition(ctx context.Context, id string, a Actor, act Action, req Request, atMS int64) (*Task, *Entry, error) {
	if _, ok := Rules[act]; !ok {
		return nil, nil, refuse(ErrInvalid, "%q is not a transition; the transitions are %s", act, joinActions(Actions))
	}
	if a.ID == "" {
		return nil, nil, refuse(ErrInvalid, "who acts is not known")
	}
	if err := checkRequest(&req); err != nil {
		return nil, nil, err
	}
	keys := []string{s.taskKey(id)}
	if req.RequestID != "" {
		keys = append(keys, s.reqKey(id, req.RequestID))
	}
	if act == Merge {
		if req.Into = strings.TrimSpace(req.Into); req.Into == "" {
			return nil, nil, refuseMsg(ErrInvalid, MsgMergeNeedsInto, nil, "a merge needs the task this one duplicates (into)")
		}
		if req.Into == id {
			return nil, nil, refuseMsg(ErrInvalid, MsgMergeSelf, nil, "a task cannot be merged into itself")
		}
		keys = append(keys, s.taskKey(req.Into))
	}
	var (
		t        *Task
		e        *Entry
		replayed bool
		joined   *Task // merge: the task merged into, after
		join     *Entry
	)
	err := s.watch(ctx, func(tx *redis.Tx) error {
		t, e, replayed, joined, join = nil, nil, false, nil, nil
		if req.RequestID != "" {
			data, err := tx.Get(ctx, keys[1]).Bytes()
			switch {
			case err == nil:
				var r replay
				if err := json.Unmarshal(data, &r); err != nil {
					return fmt.Errorf("request %s is damaged: %w", req.RequestID, err)
				}
				// A request id is no key to someone else's result: only its
				// maker gets it again, and only while still allowed to act.
				if r.By != a.ID {
					return refuseMsg(ErrConflict, MsgRequestUsed, map[string]any{"id": id}, "request id %s was already used by someone else on task %s; send a new one", req.RequestID, id)
				}
				if r.Action != act {
					return refuseMsg(ErrConflict, MsgRequestUsed, map[string]any{"id": id}, "request %s was already used to %s task %s", req.RequestID, r.Action, id)
				}
				if err := checkRole(a, act); err != nil {
					return err
				}
				t, e, replayed = r.Task, r.Entry, true
				return nil
			case !errors.Is(err, redis.Nil):
				return err
			}
		}
		old, err := s.read(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := check(old, a, act); err != nil {
			return err
		}
		at := s.now()
		if atMS > 0 {
			at = min(max(atMS, old.StateMS), at)
		}
		nt, ne, err := s.apply(old, a, act, req, at)
		if err != nil {
			return err
		}
		var into *Task
		if act == Merge {
			if into, err = s.read(ctx, tx, req.Into); err != nil {
				return err
			}
			if into.State == Rejected {
				return refuseMsg(ErrConflict, MsgMergeRejected, map[string]any{"id": into.ID}, "task %s is rejected; merge into the task it duplicates instead", into.ID)
			}
			nt.DuplicateOf, ne.Other = into.ID, into.ID
			joined = into.clone()
			joined.Entries++
			joined.UpdatedMS = at
			join = &Entry{Seq: joined.Entries, AtMS: at, Action: Join, From: into.State, To: into.State, By: a.ID, Role: a.Role,
				Source: entrySource(a), Other: id, Note: ne.Note}
		}
		var rec []byte
		if req.RequestID != "" {
			if rec, err = json.Marshal(replay{By: a.ID, Action: act, Task: nt, Entry: ne}); err != nil {
				return err
			}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if rec != nil {
				p.Set(ctx, keys[1], rec, requestTTL)
			}
			if into != nil {
				if err := s.queue(ctx, p, into, joined, join); err != nil {
					return err
				}
			}
			return s.queue(ctx, p, old, nt, ne)
		})
		if err == nil {
			t, e = nt, ne
		}
		return err
	}, keys...)
	if err != nil {
		return nil, nil, wrapStore(id, string(act), err)
	}
	if !replayed {
		s.emit("task", t, e)
		if join != nil {
			s.emit("task", joined, join)
		}
	}
	return t, e, nil
}

// apply makes the transition on a copy of old, checking what the request
// carries, and returns the task after it and the timeline entry.
func (s *Store) apply(old *Task, a Actor, act Action, req Request, at int64) (*Task, *Entry, error) {
	t := old.clone()
	rule := Rules[act]
	e := &Entry{
		Seq: old.Entries + 1, AtMS: at, Action: act, From: old.State, To: rule.To,
		By: a.ID, Role: a.Role, Source: entrySource(a), Note: strings.TrimSpace(req.Note), RequestID: req.RequestID,
		Code: req.note.Code, Params: req.note.Params,
	}
	if !req.Evidence.empty() {
		ev := *req.Evidence
		if ev.GPS != nil {
			g := *ev.GPS
			ev.GPS = &g
		}
		if ev.Clip != nil {
			c := *ev.Clip
			ev.Clip = &c
		}
		e.Evidence = &ev
	}
	switch act {
	case Reject:
		if r := req.Reason; r != "" && r != RejectFalseAlarm && r != RejectDuplicate {
			return nil, nil, refuseMsg(ErrInvalid, MsgRejectReason, map[string]any{"reason": r}, "the reason of a rejection is %s or %s, not %q", RejectFalseAlarm, RejectDuplicate, r)
		}
		e.Reason = req.Reason
		if e.Note == "" && e.Reason == "" {
			return nil, nil, refuseMsg(ErrInvalid, MsgRejectNeedsReason, nil, "a rejection needs a reason: a false alarm, or a duplicate of which task")
		}
	case Dispatch:
		worker, grid := strings.TrimSpace(req.Worker), cmp.Or(strings.TrimSpace(req.Grid), old.Grid)
		if worker == "" {
			return nil, nil, refuseMsg(ErrInvalid, MsgDispatchNeedsWho, nil, "a dispatch needs the worker to send")
		}
		if grid == "" {
			return nil, nil, refuseMsg(ErrInvalid, MsgDispatchNeedsGrid, map[string]any{"id": old.ID}, "a dispatch needs a grid: task %s has none", old.ID)
		}
		if old.State == Dispatched && worker == old.Worker && grid == old.Grid {
			return nil, nil, refuseMsg(ErrConflict, MsgAlreadyDispatched, map[string]any{"id": old.ID, "worker": worker, "grid": grid}, "task %s is already dispatched to %s in grid %s", old.ID, worker, grid)
		}
		t.Worker, t.Grid, e.Worker, e.Grid = worker, grid, worker, grid
		t.Proposal = nil // a new assignment: what the camera saw before no longer counts
	case Arrive:
		if a.Role != Worker {
			if e.Evidence == nil || e.Evidence.Snapshot == "" {
				return nil, nil, refuse(ErrInvalid, "the system confirms an arrival only with a camera snapshot")
			}
			break
		}
		if e.Evidence == nil || e.Evidence.GPS == nil {
			return nil, nil, refuseMsg(ErrInvalid, MsgArriveNeedsGPS, nil, "checking in on arrival needs a GPS fix")
		}
		if g := e.Evidence.GPS; old.Location.known() {
			d := DistanceM(g.Lat, g.Lng, old.Location.Lat, old.Location.Lng)
			g.DistanceM = math.Round(d*10) / 10
			if r := s.limits.ArriveRadiusM; r > 0 && d > r {
				return nil, nil, refuseMsg(ErrInvalid, MsgTooFar, map[string]any{"distance_m": math.Round(d), "radius_m": r}, "you are %.0f m from the task's place; check in within %g m of it", d, r)
			}
		}
	case Submit:
		if e.Evidence == nil || e.Evidence.Photo == "" {
			return nil, nil, refuseMsg(ErrInvalid, MsgSubmitNeedsPhoto, nil, "submitting needs a photo of the fix")
		}
	case Verify:
		if p := old.Proposal; p != nil && e.Evidence == nil {
			e.Evidence = &Evidence{Verdict: p.Verdict, Before: p.Before, After: p.After, VerdictCode: p.VerdictCode, VerdictParams: p.VerdictParams}
			if e.Note == "" {
				e.Note = "confirmed what camera " + p.Camera + " saw"
				e.Code, e.Params = MsgConfirmed, map[string]any{"camera": p.Camera}
			}
		}
	case Rework:
		t.Proposal = nil
		e.Worker, e.Grid = old.Worker, old.Grid
	case Merge:
		if e.Note == "" {
			e.Note = "duplicate of " + strings.TrimSpace(req.Into)
			e.Code, e.Params = MsgDuplicateOf, map[string]any{"id": strings.TrimSpace(req.Into)}
		}
	}
	t.enter(rule.To, at)
	t.Entries++
	return t, e, nil
}

func checkRequest(r *Request) error {
	if len(r.RequestID) > 128 || strings.ContainsFunc(r.RequestID, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return refuse(ErrInvalid, "a request id is at most 128 characters, without spaces or control characters")
	}
	if n := utf8.RuneCountInString(r.Note); n > MaxNote {
		return refuseMsg(ErrInvalid, MsgNoteTooLong, map[string]any{"n": n, "max": MaxNote}, "the note is %d characters long; at most %d are allowed", n, MaxNote)
	}
	if len(r.Worker) > 128 || len(r.Grid) > 128 {
		return refuse(ErrInvalid, "a worker or grid id is at most 128 characters")
	}
	ev := r.Evidence
	if ev == nil {
		return nil
	}
	for _, f := range []string{ev.Snapshot, ev.Photo, ev.Verdict, ev.Before, ev.After} {
		if len(f) > 1024 {
			return refuse(ErrInvalid, "a piece of evidence is longer than 1024 bytes")
		}
	}
	if c := ev.Clip; c != nil && (c.ID == "" || len(c.ID) > 64 || len(c.Camera) > 64 || c.EndMS < c.StartMS) {
		return refuse(ErrInvalid, "a clip needs an id of at most 64 bytes and an end after its start")
	}
	if g := ev.GPS; g != nil {
		if !(g.Lat >= -90 && g.Lat <= 90 && g.Lng >= -180 && g.Lng <= 180) || (g.Lat == 0 && g.Lng == 0) {
			return refuseMsg(ErrInvalid, MsgGPSNotOnMap, map[string]any{"lat": g.Lat, "lng": g.Lng}, "the GPS fix %g,%g is not a place on the map", g.Lat, g.Lng)
		}
		if !(g.AccuracyM >= 0) {
			return refuse(ErrInvalid, "the GPS accuracy %g m is not a distance", g.AccuracyM)
		}
	}
	return nil
}

// DistanceM is the great-circle distance between two points in metres.
func DistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	const earth = 6371008.8
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earth * math.Asin(math.Sqrt(min(h, 1)))
}

func joinActions(as []Action) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}
