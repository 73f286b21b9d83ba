package task

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
)

// Store keeps tasks in Redis. Under the prefix (e.g. "qly:") and the hash
// tag {t}, so "qly:{t}:task:{ID}":
//
//	task:{ID}            hash, field "json": the task (one HGET reads it)
//	task:{ID}:timeline   stream of its entries, field "json"
//	task:{ID}:req:<rid>  the result of a transition, for retries (24 h)
//	task:{ID}:ratings    hash, rater id → rating
//	tasks:state:<state>, tasks:grid:<grid>, tasks:worker:<id>,
//	tasks:reporter:<id>, tasks:camera:<id>, tasks:created
//	                     sorted sets of task ids, scored by creation time
//	tasks:due            sorted set of "<ID>|<stage>", scored by deadline
//	tasks:incident       hash, incident id → task id
//
// Every change is one MULTI/EXEC under WATCH of the task's hash, so of two
// conflicting changes one wins and the other sees the new state. A change
// touches the task's keys and the shared indexes in one transaction, which
// Redis Cluster allows only within one slot: the {t} tag puts every task
// key in one slot (the braces of {ID}, after it, no longer choose it).
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	limits configs.Tasks
	clock  func() time.Time
	// scanWhen gates Run's deadline checks (ScanOnlyWhen); nil: always.
	scanWhen func(context.Context) bool
	// replicas is how many replicas must have a change before the store
	// says it is made (WaitForReplicas), within replicaWait.
	replicas    int
	replicaWait time.Duration

	mu   sync.Mutex
	subs []func(Event)
}

// NewStore returns a store under prefix with the time limits and rules of
// limits. clock gives the time (nil: time.Now), so tests of time limits need
// not sleep.
func NewStore(rdb redis.UniversalClient, prefix string, limits configs.Tasks, clock func() time.Time) *Store {
	if clock == nil {
		clock = time.Now
	}
	return &Store{rdb: rdb, prefix: prefix + slotTag, limits: limits, clock: clock}
}

// OnChange adds fn to the functions called after every stored change, in
// the goroutine that made it. fn must not block and must not change the
// task or entry it gets.
func (s *Store) OnChange(fn func(Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, fn)
}

func (s *Store) emit(typ string, t *Task, e *Entry) {
	s.mu.Lock()
	subs := slices.Clone(s.subs)
	s.mu.Unlock()
	for _, fn := range subs {
		fn(Event{Type: typ, Task: t, Entry: e})
	}
}

// slotTag follows the prefix of every task key (see Store).
const slotTag = "{t}:"

// The keys; the layout is in Store's comment.
func (s *Store) taskKey(id string) string       { return s.prefix + "task:{" + id + "}" }
func (s *Store) timelineKey(id string) string   { return s.taskKey(id) + ":timeline" }
func (s *Store) reqKey(id, rid string) string   { return s.taskKey(id) + ":req:" + rid }
func (s *Store) ratingsKey(id string) string    { return s.taskKey(id) + ":ratings" }
func (s *Store) indexKey(kind, v string) string { return s.prefix + "tasks:" + kind + ":" + v }
func (s *Store) stateKey(st State) string       { return s.indexKey("state", string(st)) }
func (s *Store) createdKey() string             { return s.prefix + "tasks:created" }
func (s *Store) dueKey() string                 { return s.prefix + "tasks:due" }
func (s *Store) incidentKey() string            { return s.prefix + "tasks:incident" }
func dueMember(id string, stage Stage) string   { return id + "|" + string(stage) }

func (s *Store) now() int64 { return s.clock().UnixMilli() }

// scoreRange gives the bounds of [from, to) in milliseconds for ZRANGEBYSCORE;
// 0 leaves a side open.
func scoreRange(from, to int64) (lo, hi string) {
	lo, hi = "-inf", "+inf"
	if from > 0 {
		lo = strconv.FormatInt(from, 10)
	}
	if to > 0 {
		hi = "(" + strconv.FormatInt(to, 10)
	}
	return lo, hi
}

// cameraOf gives the camera of a CameraActor.
func cameraOf(a Actor) (string, bool) { return strings.CutPrefix(a.ID, "camera:") }

// entrySource is who confirmed a step: a person, a camera or the system.
func entrySource(a Actor) string {
	if a.Role != System {
		return ByPerson
	}
	if _, ok := cameraOf(a); ok {
		return ByCamera
	}
	return BySystem
}

// WaitForReplicas makes every change wait, after its EXEC, until n
// replicas of the Redis primary have it (WAIT n), at most within; a change
// they do not confirm in time is reported as failed (it may still be
// kept). Behind Sentinel, n = 1 means a change the store acknowledged
// survives a failover to a replica: without it, what the old primary took
// after the last replication and before the switch is lost. 0 (the
// default) waits for nothing. Call it before the store is used.
func (s *Store) WaitForReplicas(n int, within time.Duration) {
	s.replicas, s.replicaWait = n, within
}

// ErrNotReplicated is returned (wrapped) for a change that the replicas
// WaitForReplicas asks for did not confirm in time.
var ErrNotReplicated = errors.New("the change is not confirmed by the Redis replicas in time; it may be lost on a failover: try again")

// watch runs fn under WATCH of keys until it commits or fails for another
// reason than a concurrent change; then waits for the replicas
// (WaitForReplicas), on the transaction's connection, which WAIT needs.
func (s *Store) watch(ctx context.Context, fn func(*redis.Tx) error, keys ...string) error {
	if s.replicas > 0 {
		inner := fn
		fn = func(tx *redis.Tx) error {
			if err := inner(tx); err != nil {
				return err
			}
			n, err := tx.Wait(ctx, s.replicas, s.replicaWait).Result()
			if err != nil {
				return fmt.Errorf("wait for the replicas: %w", err)
			}
			if n < int64(s.replicas) {
				return fmt.Errorf("%w (%d of %d within %s)", ErrNotReplicated, n, s.replicas, s.replicaWait)
			}
			return nil
		}
	}
	for range 100 {
		err := s.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return fmt.Errorf("task store: too many concurrent changes to %s", keys[0])
}

type hgetter interface {
	HGet(ctx context.Context, key, field string) *redis.StringCmd
}

func (s *Store) read(ctx context.Context, c hgetter, id string) (*Task, error) {
	data, err := c.HGet(ctx, s.taskKey(id), "json").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, refuseMsg(ErrNotFound, MsgNotFound, map[string]any{"id": id}, "no task %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read task %s: %w", id, err)
	}
	var t Task
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("task %s is damaged: %w", id, err)
	}
	return &t, nil
}

// Get returns one task.
func (s *Store) Get(ctx context.Context, id string) (*Task, error) {
	return s.read(ctx, s.rdb, id)
}

// getMany reads tasks in one round trip, leaving out those that are gone.
func (s *Store) getMany(ctx context.Context, ids []string) ([]*Task, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGet(ctx, s.taskKey(id), "json")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read tasks: %w", err)
	}
	out := make([]*Task, 0, len(ids))
	for _, c := range cmds {
		data, err := c.Bytes()
		if err != nil {
			continue
		}
		var t Task
		if json.Unmarshal(data, &t) == nil {
			out = append(out, &t)
		}
	}
	return out, nil
}

// Timeline returns every entry of a task, oldest first.
func (s *Store) Timeline(ctx context.Context, id string) ([]Entry, error) {
	msgs, err := s.rdb.XRange(ctx, s.timelineKey(id), "-", "+").Result()
	if err != nil {
		return nil, fmt.Errorf("read timeline of %s: %w", id, err)
	}
	if len(msgs) == 0 {
		// Every task has its create entry: no entries, no task.
		if _, err := s.Get(ctx, id); err != nil {
			return nil, err
		}
	}
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		var e Entry
		data, _ := m.Values["json"].(string)
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return nil, fmt.Errorf("timeline of %s is damaged at %s: %w", id, m.ID, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// queue adds to p the commands that store t (old is its stored version, nil
// for a new task) and appends entries to its timeline, keeping the indexes
// and the deadlines in step.
func (s *Store) queue(ctx context.Context, p redis.Pipeliner, old, t *Task, entries ...*Entry) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	p.HSet(ctx, s.taskKey(t.ID), "json", data)
	for _, e := range entries {
		ed, err := json.Marshal(e)
		if err != nil {
			return err
		}
		p.XAdd(ctx, &redis.XAddArgs{Stream: s.timelineKey(t.ID), Values: map[string]any{"json": ed}})
	}
	z := redis.Z{Score: float64(t.CreatedMS), Member: t.ID}
	move := func(kind, from, to string, isNew bool) {
		if !isNew && from == to {
			return
		}
		if !isNew && from != "" {
			p.ZRem(ctx, s.indexKey(kind, from), t.ID)
		}
		if to != "" {
			p.ZAdd(ctx, s.indexKey(kind, to), z)
		}
	}
	if old == nil {
		old = &Task{}
		p.ZAdd(ctx, s.createdKey(), z)
		move("reporter", "", t.Reporter, true)
		move("camera", "", t.Camera, true)
		move("state", "", string(t.State), true)
		move("grid", "", t.Grid, true)
		move("worker", "", t.Worker, true)
	} else {
		move("state", string(old.State), string(t.State), false)
		move("grid", old.Grid, t.Grid, false)
		move("worker", old.Worker, t.Worker, false)
	}
	if old.State != t.State || old.StateMS != t.StateMS {
		for _, st := range stages {
			p.ZRem(ctx, s.dueKey(), dueMember(t.ID, st))
		}
		for st, due := range s.deadlines(t) {
			p.ZAdd(ctx, s.dueKey(), redis.Z{Score: float64(due), Member: dueMember(t.ID, st)})
		}
	}
	return nil
}

// clone copies t deeply enough to change it.
func (t *Task) clone() *Task {
	c := *t
	c.Since = make(map[State]int64, len(t.Since)+1)
	for k, v := range t.Since {
		c.Since[k] = v
	}
	if t.OverdueMS != nil {
		c.OverdueMS = make(map[Stage]int64, len(t.OverdueMS))
		for k, v := range t.OverdueMS {
			c.OverdueMS[k] = v
		}
	}
	if t.Proposal != nil {
		p := *t.Proposal
		c.Proposal = &p
	}
	return &c
}

// enter moves t to state st at ms.
func (t *Task) enter(st State, ms int64) {
	t.State, t.StateMS, t.UpdatedMS = st, ms, ms
	if t.Since[st] == 0 {
		t.Since[st] = ms
	}
}

// NewTask is what Create needs to know of a new task.
type NewTask struct {
	Title       string   // required, at most 100 characters; from the incident kind when empty for the system
	Description string   // at most 2000 characters
	Kind        string   // the incident's kind (system only)
	IncidentID  string   // required for the system: one task per incident
	Camera      string   // the camera it was seen on, if any
	Zone        string   // the zone of that camera, if any
	Grid        string   // the grid it is in (the camera's grid for incidents)
	Location    Location // where it is, if known
	Photo       string   // a path or URL: the reporter's photo, or the incident's snapshot
	Clip        *Clip    // incidents: the camera's video around the incident (its create, recur or reopen entry lists it)
	// Accept, for staff and admins, accepts the task at once (a second
	// timeline entry) instead of leaving it reported for 核单.
	Accept bool
	// DescriptionMsg is the description as a message, when the bridge wrote
	// it (its Text is then Description).
	DescriptionMsg Message
}

// KindTitles are the default titles of tasks from incidents, one for each
// of configs.IncidentKinds (a test checks).
var KindTitles = map[string]string{
	configs.ZoneChanged:    "区域异常",
	configs.Loitering:      "人员逗留",
	configs.CameraTampered: "摄像头被遮挡或移动",
	configs.CameraOffline:  "摄像头离线",
}

// Create stores a new task reported by a, and returns it.
//
// What a task starts as depends on who reports it: a resident's report has the
// source "resident", a worker's "patrol", staff's and admins' "staff"; each
// starts reported, or accepted at once when staff set NewTask.Accept. The
// system (SystemActor or a CameraActor) creates tasks from incidents: source
// "incident", one task per problem: a new incident of the camera, zone and
// kind of an open task joins that task's timeline (recur), one within
// tasks.reopen_within of its task's close reopens it, and creating again
// for the same incident id returns its task. A new task of an incident kind
// in the configured auto_accept list is accepted by the system at once.
func (s *Store) Create(ctx context.Context, a Actor, n NewTask) (*Task, error) {
	if a.ID == "" {
		return nil, refuse(ErrInvalid, "who reports the task is not known")
	}
	source := map[Role]string{Resident: FromResident, Worker: FromPatrol, Staff: FromStaff, Admin: FromStaff, System: FromIncident}[a.Role]
	if source == "" {
		return nil, refuse(ErrForbidden, "%q is not a role", a.Role)
	}
	if n.Accept && a.Role != Staff && a.Role != Admin {
		return nil, refuse(ErrForbidden, "only staff may accept a task as they create it")
	}
	if a.Role == System {
		if n.IncidentID == "" {
			return nil, refuse(ErrInvalid, "a task from the system needs an incident id")
		}
		if strings.TrimSpace(n.Title) == "" {
			n.Title = KindTitles[n.Kind]
			if n.Title == "" {
				n.Title = n.Kind
			}
			if n.Zone != "" {
				n.Title += " · " + n.Zone
			}
		}
		n.Accept = slices.Contains(s.limits.AutoAccept, n.Kind)
	} else if n.IncidentID != "" || n.Kind != "" {
		return nil, refuse(ErrForbidden, "only the system creates tasks from incidents")
	}
	if err := checkNewTask(&n); err != nil {
		return nil, err
	}

	now := s.now()
	t := &Task{
		ID: newID(time.UnixMilli(now)), Title: strings.TrimSpace(n.Title), Description: n.Description, Source: source,
		DescriptionCode: n.DescriptionMsg.Code, DescriptionParams: n.DescriptionMsg.Params,
		Kind: n.Kind, IncidentID: n.IncidentID, Camera: n.Camera, Zone: n.Zone, Grid: n.Grid, Location: n.Location,
		Reporter: a.ID, Photo: n.Photo, CreatedMS: now, Since: map[State]int64{},
	}
	t.enter(Reported, now)
	created := &Entry{Seq: 1, AtMS: now, Action: Create, To: Reported, By: a.ID, Role: a.Role, Source: entrySource(a), Incident: n.IncidentID}
	if n.Photo != "" {
		created.Evidence = &Evidence{Photo: n.Photo}
		if source == FromIncident {
			created.Evidence = &Evidence{Snapshot: n.Photo}
		}
	}
	if n.Clip != nil && source == FromIncident {
		if created.Evidence == nil {
			created.Evidence = &Evidence{}
		}
		created.Evidence.Clip = n.Clip
	}
	entries := []*Entry{created}
	if n.Accept {
		acc := &Entry{Seq: 2, AtMS: now, Action: Accept, From: Reported, To: Accepted, By: a.ID, Role: a.Role, Source: entrySource(a)}
		if a.Role == System {
			acc.By, acc.Source = SystemActor().ID, BySystem
			acc.Note = "accepted automatically: " + n.Kind + " is in tasks.auto_accept"
			acc.Code, acc.Params = MsgAutoAccepted, map[string]any{"kind": n.Kind}
		}
		t.enter(Accepted, now)
		entries = append(entries, acc)
	}
	t.Entries = len(entries)

	if source != FromIncident {
		// under watch for WaitForReplicas (a new key: nothing to conflict with)
		err := s.watch(ctx, func(tx *redis.Tx) error {
			_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { return s.queue(ctx, p, nil, t, entries...) })
			return err
		}, s.taskKey(t.ID))
		if err != nil {
			return nil, fmt.Errorf("store task %s: %w", t.ID, err)
		}
		s.emitAll(t, entries)
		return t, nil
	}

	var (
		existing *Task    // the task of this incident, or of its problem
		added    []*Entry // what the incident added to an existing task
	)
	err := s.watch(ctx, func(tx *redis.Tx) error {
		existing, added = nil, nil
		id, err := tx.HGet(ctx, s.incidentKey(), n.IncidentID).Result()
		switch {
		case err == nil:
			existing, err = s.read(ctx, tx, id)
			return err
		case !errors.Is(err, redis.Nil):
			return err
		}
		last, err := s.lastOfProblem(ctx, tx, n.Camera, n.Zone, n.Kind)
		if err != nil {
			return err
		}
		if last != nil {
			if nt, es := s.recur(last, a, n, now); nt != nil {
				_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.HSet(ctx, s.incidentKey(), n.IncidentID, nt.ID)
					return s.queue(ctx, p, last, nt, es...)
				})
				if err == nil {
					existing, added = nt, es
				}
				return err
			}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, s.incidentKey(), n.IncidentID, t.ID)
			p.HSet(ctx, s.problemsKey(), problemOf(n.Camera, n.Zone, n.Kind), t.ID)
			return s.queue(ctx, p, nil, t, entries...)
		})
		return err
	}, s.incidentKey(), s.problemsKey())
	if err != nil {
		return nil, fmt.Errorf("store task for incident %s: %w", n.IncidentID, err)
	}
	if existing != nil {
		s.emitAll(existing, added)
		return existing, nil
	}
	s.emitAll(t, entries)
	return t, nil
}

// TasksOfIncidents returns, for each of the incident ids that has one, the
// id of the task it made or joined, in one round trip.
func (s *Store) TasksOfIncidents(ctx context.Context, incidents []string) (map[string]string, error) {
	out := map[string]string{}
	if len(incidents) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.incidentKey(), incidents...).Result()
	if err != nil {
		return nil, fmt.Errorf("read the tasks of incidents: %w", err)
	}
	for i, v := range vals {
		if id, ok := v.(string); ok && id != "" {
			out[incidents[i]] = id
		}
	}
	return out, nil
}

func (s *Store) emitAll(t *Task, entries []*Entry) {
	for _, e := range entries {
		s.emit("task", t, e)
	}
}

// The longest texts a task takes, in characters (runes); the API and the
// pages take the same.
const (
	MaxTitle       = 100
	MaxDescription = 2000
	MaxNote        = 1000
	MaxComment     = 500 // of a rating
	MaxReport      = 500 // the description of a report from a phone (POST /api/reports)
)

func checkNewTask(n *NewTask) error {
	switch {
	case strings.TrimSpace(n.Title) == "":
		return refuseMsg(ErrInvalid, MsgTitleNeeded, nil, "a task needs a title")
	case utf8.RuneCountInString(n.Title) > MaxTitle:
		return refuseMsg(ErrInvalid, MsgTitleTooLong, map[string]any{"n": utf8.RuneCountInString(n.Title), "max": MaxTitle}, "the title is %d characters long; at most %d are allowed", utf8.RuneCountInString(n.Title), MaxTitle)
	case utf8.RuneCountInString(n.Description) > MaxDescription:
		return refuseMsg(ErrInvalid, MsgDescriptionTooLong, map[string]any{"n": utf8.RuneCountInString(n.Description), "max": MaxDescription}, "the description is %d characters long; at most %d are allowed", utf8.RuneCountInString(n.Description), MaxDescription)
	case n.Location.Lat < -90 || n.Location.Lat > 90 || n.Location.Lng < -180 || n.Location.Lng > 180:
		return refuseMsg(ErrInvalid, MsgNotOnMap, map[string]any{"lat": n.Location.Lat, "lng": n.Location.Lng}, "the location %g,%g is not on the map", n.Location.Lat, n.Location.Lng)
	}
	for _, f := range []string{n.Camera, n.Zone, n.Grid, n.Photo, n.Kind, n.IncidentID, n.Location.Address} {
		if len(f) > 1024 {
			return refuse(ErrInvalid, "a field of the task is longer than 1024 bytes")
		}
	}
	return nil
}

// Filter selects tasks for List; zero fields select everything.
type Filter struct {
	State    State
	Grid     string
	Grids    []string // any of these grids (a worker of several); with Grid, Grid wins
	Worker   string
	Reporter string
	Camera   string
	FromMS   int64 // created at or after
	ToMS     int64 // created before
	Limit    int   // default 50, at most 500
	Offset   int
}

// List returns the tasks that match f, newest first, from f.Offset on, and
// how many match in all.
func (s *Store) List(ctx context.Context, f Filter) ([]*Task, int, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	f.Offset = max(f.Offset, 0)
	if f.Grid == "" && len(f.Grids) > 0 {
		return s.listGrids(ctx, f)
	}
	ts, total, err := s.list(ctx, f)
	if ts == nil {
		ts = []*Task{}
	}
	return ts, total, err
}

// listGrids lists the tasks f selects in any of f.Grids. The indexes hold
// one grid each, so the grids are listed one by one and merged, newest
// first.
func (s *Store) listGrids(ctx context.Context, f Filter) ([]*Task, int, error) {
	need := f.Offset + f.Limit
	all := []*Task{}
	total := 0
	for _, g := range slices.Compact(slices.Sorted(slices.Values(f.Grids))) {
		// the first need of each grid's tasks hold the page, in pages the
		// store allows
		gf := f
		gf.Grid, gf.Grids, gf.Offset = g, nil, 0
		for {
			gf.Limit = min(need-gf.Offset, 500)
			ts, n, err := s.list(ctx, gf)
			if err != nil {
				return nil, 0, err
			}
			all = append(all, ts...)
			gf.Offset += len(ts)
			if len(ts) == 0 || gf.Offset >= min(n, need) {
				total += n
				break
			}
		}
	}
	slices.SortFunc(all, func(a, b *Task) int {
		return cmp.Or(cmp.Compare(b.CreatedMS, a.CreatedMS), strings.Compare(b.ID, a.ID))
	})
	lo := min(f.Offset, len(all))
	return all[lo:min(lo+f.Limit, len(all))], total, nil
}

// list lists the tasks f selects in one grid or all.
func (s *Store) list(ctx context.Context, f Filter) ([]*Task, int, error) {
	var keys []string
	for kind, v := range map[string]string{"state": string(f.State), "grid": f.Grid, "worker": f.Worker, "reporter": f.Reporter, "camera": f.Camera} {
		if v != "" {
			keys = append(keys, s.indexKey(kind, v))
		}
	}
	lo, hi := scoreRange(f.FromMS, f.ToMS)
	if len(keys) <= 1 {
		key := s.createdKey()
		if len(keys) == 1 {
			key = keys[0]
		}
		total, err := s.rdb.ZCount(ctx, key, lo, hi).Result()
		if err != nil {
			return nil, 0, fmt.Errorf("list tasks: %w", err)
		}
		ids, err := s.rdb.ZRevRangeByScore(ctx, key, &redis.ZRangeBy{Min: lo, Max: hi, Offset: int64(f.Offset), Count: int64(f.Limit)}).Result()
		if err != nil {
			return nil, 0, fmt.Errorf("list tasks: %w", err)
		}
		ts, err := s.getMany(ctx, ids)
		return ts, int(total), err
	}

	// Several filters: walk the smallest index and check the others.
	cards := make([]*redis.IntCmd, len(keys))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cards[i] = p.ZCount(ctx, k, lo, hi)
		}
		return nil
	}); err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", err)
	}
	best := 0
	for i := range cards {
		if cards[i].Val() < cards[best].Val() {
			best = i
		}
	}
	ids, err := s.rdb.ZRevRangeByScore(ctx, keys[best], &redis.ZRangeBy{Min: lo, Max: hi}).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", err)
	}
	var out []*Task
	total := 0
	for chunk := range slices.Chunk(ids, 500) {
		ts, err := s.getMany(ctx, chunk)
		if err != nil {
			return nil, 0, err
		}
		for _, t := range ts {
			if !f.match(t) {
				continue
			}
			if total >= f.Offset && len(out) < f.Limit {
				out = append(out, t)
			}
			total++
		}
	}
	return out, total, nil
}

func (f *Filter) match(t *Task) bool {
	return (f.State == "" || t.State == f.State) && (f.Grid == "" || t.Grid == f.Grid) &&
		(f.Worker == "" || t.Worker == f.Worker) && (f.Reporter == "" || t.Reporter == f.Reporter) &&
		(f.Camera == "" || t.Camera == f.Camera) && t.CreatedMS >= f.FromMS && (f.ToMS <= 0 || t.CreatedMS < f.ToMS)
}
