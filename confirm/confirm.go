// Package confirm is the camera's word on the center's tasks ("confirmed on
// camera"): it turns what detection sees into steps of the task loop.
//
//   - A new incident becomes a task placed on the camera's grid (accepted at
//     once when its kind is in tasks.auto_accept), or a line of the task of
//     its problem (camera, zone, kind) while that one is open: one task per
//     problem (task.Store.Create).
//   - A camera with a task on one of its zones in state dispatched, claimed,
//     arrived or submitted is in detect.Watch mode, and goes back to the
//     configured mode when none is left.
//   - A person entering the zone of a claimed task makes it arrived, seen on
//     camera, with the observation's snapshot.
//   - A submitted task whose zone has matched its reference for
//     tasks.verify_hold gets a verification proposal with the before and
//     after pictures; one whose zone still differs, with nobody in it, is
//     sent back (see reworkAfter).
//
// It works from events: incidents and observations from detect.Store
// (person_entered, person_left, zone_matches, zone_differs) and task changes
// from task.Store. Nothing is polled per second but the clock; a slow resync
// (tasks from Redis, zone looks from the cameras) repairs what a restart or
// a dropped event left wrong.
package confirm

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"qianliyan/configs"
	"qianliyan/detect"
	"qianliyan/record"
	"qianliyan/task"
)

// The codes of the verdicts the confirmer writes (task.Evidence.VerdictCode).
const (
	MsgZoneMatches = "verdict.zone_matches" // {zone, held_s}
	MsgZoneDiffers = "verdict.zone_differs" // {zone, differed_s, diff}
)

// Camera is what the confirmer needs of a camera's detection
// (*detect.Watcher has it).
type Camera interface {
	SetMode(detect.Mode)
	Mode() detect.Mode
	Looks() []detect.ZoneLook
	Snapshot(zone string) (string, error)
	Stats() detect.WatcherStats
}

// Cameras returns a camera's detection, or nil when it has none.
type Cameras func(camera string) Camera

// DetectorCameras gives the cameras of a detector (a nil *detect.Watcher
// comes out as a nil Camera).
func DetectorCameras(d *detect.Detector) Cameras {
	return func(camera string) Camera {
		if w := d.Watcher(camera); w != nil {
			return w
		}
		return nil
	}
}

// Clipper keeps a clip of a camera's video around a moment as evidence of
// a step (*record.Recorder has it).
type Clipper interface {
	Clip(camera, task, reason string, at time.Time) (record.Clip, error)
	SetTask(id, task string) error
}

// ClipOf asks cl for a clip of camera around at, evidence of taskID (may
// be empty) for reason, and returns it as a timeline entry lists it; nil
// when there is no clipper or the camera is not recorded.
func ClipOf(cl Clipper, log *slog.Logger, camera, taskID, reason string, at time.Time) *task.Clip {
	if cl == nil || camera == "" {
		return nil
	}
	c, err := cl.Clip(camera, taskID, reason, at)
	if err != nil {
		if !errors.Is(err, record.ErrNotRecorded) {
			log.Warn("no clip kept", "camera", camera, "task", taskID, "reason", reason, "err", err)
		}
		return nil
	}
	return EntryClip(c)
}

// EntryClip is clip c as a timeline entry lists it.
func EntryClip(c record.Clip) *task.Clip {
	return &task.Clip{ID: c.ID, Camera: c.Camera, StartMS: c.StartMS, EndMS: c.EndMS}
}

// queueLen bounds the incidents and observations waiting for the
// confirmer; past it they are dropped and counted, detection never waits.
const queueLen = 256

// staleAfter is how long a camera may go without a new analysis before its
// zone looks no longer count: it went offline, or detection stalled.
const staleAfter = 3 * time.Second

// Confirmer is the glue between detection and tasks (see the package
// comment). Detection and the task store call it on their own goroutines;
// it hands their news to its own goroutine (Run) and never blocks them.
type Confirmer struct {
	tasks  *task.Store
	center *task.Center
	cams   Cameras
	rest   detect.Mode   // the configured mode a camera returns to
	hold   time.Duration // tasks.verify_hold
	every  time.Duration // how often deadlines are looked at (1 s)
	resync time.Duration // how often tasks and looks are read again (30 s)
	now    func() time.Time
	log    *slog.Logger
	clips  Clipper // nil: no clips
	// incidents is the store Attach subscribed to, read again at each
	// resync for the open incidents left without a task (nil before).
	incidents *detect.Store

	jobs    chan job
	poke    chan struct{}
	dropped atomic.Uint64
	handled atomic.Uint64 // jobs done (tests wait on it)

	mu      sync.Mutex
	changed map[string]*task.Task // task events not yet applied, by id

	// Owned by Run's goroutine.
	waiting  map[string]task.Watch // task id → open task on a camera
	zones    map[zoneKey]*zoneState
	watched  map[string]bool      // cameras this confirmer put in Watch mode
	differ   map[string]time.Time // submitted task id → since when its zone has differed with nobody in it
	analyzed map[string]analyses  // camera → its analyses when last counted
}

// zoneKey names a zone of a camera.
type zoneKey struct{ camera, zone string }

// zoneState is what the confirmer knows of a zone from observations.
type zoneState struct {
	hasRef     bool
	matchSince time.Time // zero while it differs
	diff       float64   // at the last zone_differs
	people     int       // people in it (entered and not yet left)
}

// analyses is a camera's count of analysed pictures and when it last grew.
type analyses struct {
	n  uint64
	at time.Time
}

// job is one piece of news from detection.
type job struct {
	incident    *detect.Incident
	observation *detect.Observation
}

// New returns a confirmer over the cameras of cfg; Attach connects it to
// the stores, Run starts it.
func New(cfg *configs.Config, tasks *task.Store, cams Cameras, log *slog.Logger) *Confirmer {
	c := &Confirmer{
		tasks: tasks, center: task.NewCenter(cfg), cams: cams, rest: cfg.Detect.Mode,
		hold: cfg.Tasks.VerifyHold.D(), every: time.Second, resync: 30 * time.Second, now: time.Now, log: log,
		jobs: make(chan job, queueLen), poke: make(chan struct{}, 1), changed: map[string]*task.Task{},
		waiting: map[string]task.Watch{}, zones: map[zoneKey]*zoneState{},
		watched: map[string]bool{}, differ: map[string]time.Time{}, analyzed: map[string]analyses{},
	}
	return c
}

// KeepClips makes the confirmer keep a clip of every incident and camera
// verdict (arrival, verification proposed, rework) in the task's timeline.
// Call it before Run.
func (c *Confirmer) KeepClips(cl Clipper) { c.clips = cl }

// Attach subscribes the confirmer to the incidents and observations of
// detection and to the changes of tasks. Call it before detection runs.
func (c *Confirmer) Attach(incidents *detect.Store) {
	c.incidents = incidents
	incidents.OnChange(c.incident)
	incidents.OnObservation(c.observation)
	c.tasks.OnChange(c.TaskChanged)
}

// Dropped is how many incidents and observations were dropped because the
// confirmer was behind.
func (c *Confirmer) Dropped() uint64 { return c.dropped.Load() }

// incident takes a stored incident change; only a new incident counts.
func (c *Confirmer) incident(in detect.Incident) {
	// Raise stores a new incident with started == updated; updates and
	// endings move updated on.
	if !in.Open() || in.StartedMS != in.UpdatedMS {
		return
	}
	c.enqueue(job{incident: &in})
}

// observation takes a stored observation about a zone.
func (c *Confirmer) observation(o detect.Observation) {
	switch o.Kind {
	case detect.PersonEntered, detect.PersonLeft, detect.ZoneMatches, detect.ZoneDiffers:
		c.enqueue(job{observation: &o})
	}
}

func (c *Confirmer) enqueue(j job) {
	select {
	case c.jobs <- j:
	default:
		// A rate-limited warning: the first drop, then every 100th.
		if n := c.dropped.Add(1); n%100 == 1 {
			c.log.Warn("confirmer too slow, dropped detection news", "dropped", n)
		}
	}
}

// TaskChanged keeps the newest state of a changed task for Run; it never
// drops one (at most one per task waits) and never blocks for long. Attach
// subscribes it to this bridge's task store; in a cluster, give it the
// other members' task changes too (api.Server.OnOtherMembersTask), so the
// owner of a camera learns at once of a claim made through another member.
func (c *Confirmer) TaskChanged(e task.Event) {
	if e.Task == nil {
		return
	}
	c.mu.Lock()
	if old := c.changed[e.Task.ID]; old == nil || old.UpdatedMS <= e.Task.UpdatedMS {
		c.changed[e.Task.ID] = e.Task
	}
	c.mu.Unlock()
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// Run confirms until ctx ends. It first reads the tasks waiting on cameras
// from Redis, so a restarted bridge watches the same cameras at once.
func (c *Confirmer) Run(ctx context.Context) error {
	c.resyncNow(ctx)
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	resync := time.NewTicker(c.resync)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-c.jobs:
			c.applyTaskChanges()
			if j.incident != nil {
				c.createTask(ctx, *j.incident)
			} else {
				c.observe(ctx, *j.observation)
			}
			c.handled.Add(1)
		case <-c.poke:
			c.applyTaskChanges()
			c.setModes()
			c.judgeAll(ctx)
		case <-tick.C:
			c.applyTaskChanges()
			c.setModes()
			c.judgeAll(ctx)
		case <-resync.C:
			c.resyncNow(ctx)
		}
	}
}

// applyTaskChanges takes the task events that came since the last call.
func (c *Confirmer) applyTaskChanges() {
	c.mu.Lock()
	changed := c.changed
	if len(changed) == 0 {
		// the same map stays, which TaskChanged writes: not read outside the lock
		c.mu.Unlock()
		return
	}
	c.changed = map[string]*task.Task{}
	c.mu.Unlock()
	for id, t := range changed {
		if w, ok := task.WatchOf(t); ok {
			c.waiting[id] = w
		} else {
			delete(c.waiting, id)
		}
	}
}

// resyncNow reads the waiting tasks from Redis and fills in the zones the
// observations have not told of from the cameras' looks; with no news
// queued, the looks replace what the observations said (one may have been
// dropped).
func (c *Confirmer) resyncNow(ctx context.Context) {
	ws, err := c.tasks.Watching(ctx)
	if err != nil {
		c.log.Error("watched tasks not read", "err", err)
	} else {
		c.applyTaskChanges() // older than what Redis just said
		c.waiting = make(map[string]task.Watch, len(ws))
		for _, w := range ws {
			c.waiting[w.TaskID] = w
		}
	}
	caughtUp := len(c.jobs) == 0
	for cam := range c.camerasWaitedOn() {
		zw := c.cams(cam)
		if zw == nil {
			continue
		}
		for _, l := range zw.Looks() {
			k := zoneKey{cam, l.Zone}
			if c.zones[k] != nil && !caughtUp {
				continue
			}
			st := &zoneState{hasRef: l.HasRef, diff: l.Diff}
			if l.MatchSinceMS > 0 {
				st.matchSince = time.UnixMilli(l.MatchSinceMS)
			}
			if l.PersonMS > 0 {
				st.people = 1
			}
			c.zones[k] = st
		}
	}
	c.setModes()
	c.judgeAll(ctx)
	c.repairIncidents(ctx)
}

// repairAfter is how long an open incident may go without a task before a
// resync makes it: the news of a new incident goes to the confirmer of the
// member that raised it within milliseconds, so one older than this was
// lost on the way (the member stopped between the incident and its task,
// or the queue dropped it).
const repairAfter = 10 * time.Second

// repairIncidents makes the tasks of the incidents opened in the last hour,
// still open, older than repairAfter, that have none. Any member may do it:
// Create makes one task per incident whoever asks first.
func (c *Confirmer) repairIncidents(ctx context.Context) {
	if c.incidents == nil {
		return
	}
	now := c.now()
	open, err := c.incidents.List(ctx, detect.Filter{OpenOnly: true, SinceMS: now.Add(-time.Hour).UnixMilli(), Limit: 1000})
	if err != nil {
		c.log.Warn("open incidents not read for repair", "err", err)
		return
	}
	var ids []string
	for _, in := range open {
		if now.Sub(time.UnixMilli(in.StartedMS)) >= repairAfter {
			ids = append(ids, in.ID)
		}
	}
	made, err := c.tasks.TasksOfIncidents(ctx, ids)
	if err != nil {
		c.log.Warn("tasks of open incidents not read for repair", "err", err)
		return
	}
	for _, in := range open {
		if _, ok := made[in.ID]; ok || now.Sub(time.UnixMilli(in.StartedMS)) < repairAfter {
			continue
		}
		c.log.Warn("an open incident has no task; making it", "incident", in.ID, "camera", in.Camera, "kind", in.Kind)
		c.createTask(ctx, in)
	}
}

// zone returns the state of a zone, made on first use.
func (c *Confirmer) zone(camera, zone string) *zoneState {
	k := zoneKey{camera, zone}
	st := c.zones[k]
	if st == nil {
		st = &zoneState{}
		c.zones[k] = st
	}
	return st
}

// observe takes an observation: the zone's state, and for a person
// entering, the arrival of the claimed tasks of that zone.
func (c *Confirmer) observe(ctx context.Context, o detect.Observation) {
	st := c.zone(o.Camera, o.Zone)
	switch o.Kind {
	case detect.ZoneMatches:
		st.hasRef, st.matchSince = true, time.UnixMilli(o.AtMS)
	case detect.ZoneDiffers:
		st.hasRef, st.matchSince, st.diff = true, time.Time{}, o.Diff
	case detect.PersonLeft:
		st.people = max(0, st.people-1)
	case detect.PersonEntered:
		st.people++
		c.arrive(ctx, o)
	}
}

// createTask makes the task of a new incident.
func (c *Confirmer) createTask(ctx context.Context, in detect.Incident) {
	by := task.CameraActor(in.Camera)
	if in.Kind == detect.CameraOffline {
		by = task.SystemActor() // no camera saw that: the bridge lost it
	}
	n := task.NewTask{Kind: in.Kind, IncidentID: in.ID, Camera: in.Camera, Zone: in.Zone, Photo: in.Snapshot}
	if err := c.center.Place(&n); err != nil {
		c.log.Error("task from incident not placed", "camera", in.Camera, "zone", in.Zone, "incident", in.ID, "err", err)
		return
	}
	n.Description = c.center.CameraName(in.Camera)
	if in.Detail != "" {
		n.Description += ": " + in.Detail
	}
	n.DescriptionMsg = task.Message{Text: n.Description, Code: in.Code, Params: in.Params}
	n.Clip = ClipOf(c.clips, c.log, in.Camera, "", "incident", time.UnixMilli(in.StartedMS))
	t, err := c.tasks.Create(ctx, by, n)
	if err != nil {
		c.log.Error("task from incident not created", "camera", in.Camera, "zone", in.Zone, "incident", in.ID, "err", err)
		return
	}
	if n.Clip != nil {
		if err := c.clips.SetTask(n.Clip.ID, t.ID); err != nil {
			c.log.Warn("clip not tied to its task", "task", t.ID, "clip", n.Clip.ID, "err", err)
		}
	}
	msg := "task from incident"
	if t.IncidentID != in.ID {
		msg = "incident added to its problem's task" // one task per camera, zone and kind
	}
	c.log.Info(msg, "task", t.ID, "camera", in.Camera, "zone", in.Zone, "incident", in.ID,
		"kind", in.Kind, "state", t.State, "repeats", t.Repeats)
}

// arrive makes the claimed tasks of the observation's zone arrived, seen on
// camera. A task claimed after the person came is not arrived by it: the
// observation comes when someone enters, not while they stay.
func (c *Confirmer) arrive(ctx context.Context, o detect.Observation) {
	for _, w := range c.waiting {
		if w.Camera != o.Camera || w.Zone != o.Zone || w.State != task.Claimed {
			continue
		}
		snap := o.Snapshot
		if snap == "" {
			if zw := c.cams(o.Camera); zw != nil {
				snap, _ = zw.Snapshot(o.Zone)
			}
		}
		clip := ClipOf(c.clips, c.log, o.Camera, w.TaskID, "arrive", time.UnixMilli(o.AtMS))
		t, _, err := c.tasks.CameraArrived(ctx, w.TaskID, snap, time.UnixMilli(o.AtMS), clip)
		if err != nil {
			c.logRefusal("arrival on camera not recorded", w, err)
			continue
		}
		c.log.Info("task arrived, seen on camera", "task", t.ID, "camera", o.Camera, "zone", o.Zone,
			"worker", t.Worker, "snapshot", snap)
	}
}

// camerasWaitedOn counts, per camera, the waiting tasks on its zones.
func (c *Confirmer) camerasWaitedOn() map[string]int {
	out := map[string]int{}
	for _, w := range c.waiting {
		if w.Zone != "" {
			out[w.Camera]++
		}
	}
	return out
}

// setModes puts the cameras with tasks waiting on their zones in Watch
// mode, and the others it watched back in the configured mode.
func (c *Confirmer) setModes() {
	waiting := c.camerasWaitedOn()
	for cam, n := range waiting {
		zw := c.cams(cam)
		if zw == nil {
			continue
		}
		// Verification needs the full rate and the kept picture, so while
		// a task waits the camera stays in Watch mode, whoever set another.
		if zw.Mode() != detect.Watch {
			zw.SetMode(detect.Watch)
			c.log.Info("camera watched for tasks", "camera", cam, "tasks", n)
		}
		c.watched[cam] = true
	}
	for cam := range c.watched {
		if waiting[cam] > 0 {
			continue
		}
		delete(c.watched, cam)
		if zw := c.cams(cam); zw != nil {
			zw.SetMode(c.rest)
			c.log.Info("camera no longer watched: no task waits on it", "camera", cam, "mode", c.rest)
		}
	}
}

// judgeAll judges the zones of the submitted tasks not yet proposed, from
// what the observations said; it reads nothing from Redis.
func (c *Confirmer) judgeAll(ctx context.Context) {
	now := c.now()
	waiting := c.camerasWaitedOn()
	fresh := map[string]bool{}
	for cam := range waiting {
		if zw := c.cams(cam); zw != nil {
			a, seen := c.analyzed[cam]
			if n := zw.Stats().Analyzed; !seen || n != a.n {
				a = analyses{n: n, at: now}
				c.analyzed[cam] = a
			}
			fresh[cam] = now.Sub(a.at) < staleAfter
		}
	}
	for cam := range c.analyzed {
		if waiting[cam] == 0 {
			delete(c.analyzed, cam)
		}
	}
	judged := map[string]bool{}
	for id, w := range c.waiting {
		if w.Zone == "" || w.State != task.Submitted || w.Proposed {
			continue
		}
		judged[id] = true
		c.judge(ctx, w, fresh[w.Camera], now)
	}
	for id := range c.differ {
		if !judged[id] {
			delete(c.differ, id)
		}
	}
}

// reworkAfter is how long a submitted task's zone must go on differing
// from its reference, with nobody in it, before the camera sends the task
// back: three times tasks.verify_hold, at most two minutes. The count
// starts at the first look after the submission that sees the zone
// differ, and starts again whenever the zone matches, someone is in it (the
// worker may still be at work, or stand in the picture), or the camera's
// pictures stop coming; a restarted bridge starts it again too. So a worker
// who submits while the bin still lies there gets the task back about
// 3×verify_hold later, and one who walks away from a fixed zone never does.
func (c *Confirmer) reworkAfter() time.Duration { return min(3*c.hold, 2*time.Minute) }

// judge looks at the zone of a submitted task: proposes verification when it
// has matched its reference for the hold, sends the task back when it has
// differed for reworkAfter. fresh says whether the camera's pictures are
// recent (see staleAfter); stale looks judge nothing.
func (c *Confirmer) judge(ctx context.Context, w task.Watch, fresh bool, now time.Time) {
	zw := c.cams(w.Camera)
	st := c.zones[zoneKey{w.Camera, w.Zone}]
	if zw == nil || st == nil || !st.hasRef || !fresh {
		delete(c.differ, w.TaskID) // the camera cannot say: nothing counts
		return
	}
	if !st.matchSince.IsZero() {
		delete(c.differ, w.TaskID)
		held := now.Sub(st.matchSince)
		if held < c.hold {
			return
		}
		c.propose(ctx, w, zw, held)
		return
	}
	if st.people > 0 {
		delete(c.differ, w.TaskID)
		return
	}
	since, ok := c.differ[w.TaskID]
	if !ok {
		c.differ[w.TaskID] = now
		return
	}
	differed := now.Sub(since)
	if differed < c.reworkAfter() {
		return
	}
	delete(c.differ, w.TaskID)
	snap, _ := zw.Snapshot(w.Zone)
	verdict := task.Msg(MsgZoneDiffers, map[string]any{"zone": w.Zone, "differed_s": int64(differed / time.Second), "diff": math.Round(st.diff)},
		"区域仍与正常状态不同 (zone %s has differed from its reference for %s after the submission; difference %.0f)",
		w.Zone, differed.Round(time.Second), st.diff)
	clip := ClipOf(c.clips, c.log, w.Camera, w.TaskID, "rework", now)
	if _, _, err := c.tasks.CameraRework(ctx, w.TaskID, verdict, snap, clip); err != nil {
		c.logRefusal("rework on camera not recorded", w, err)
		return
	}
	c.log.Info("task sent back: the zone still differs, seen on camera", "task", w.TaskID, "camera", w.Camera,
		"zone", w.Zone, "worker", w.Worker, "differed", differed.Round(time.Millisecond))
}

// propose proposes verification of a submitted task whose zone has matched
// its reference for held, with the task's first picture and one taken now.
func (c *Confirmer) propose(ctx context.Context, w task.Watch, zw Camera, held time.Duration) {
	after, err := zw.Snapshot(w.Zone)
	if err != nil {
		c.log.Warn("no picture of the fixed zone yet", "task", w.TaskID, "camera", w.Camera, "zone", w.Zone, "err", err)
		return
	}
	t, err := c.tasks.Get(ctx, w.TaskID)
	if err != nil {
		c.logRefusal("task not read for verification", w, err)
		return
	}
	verdict := task.Msg(MsgZoneMatches, map[string]any{"zone": w.Zone, "held_s": int64(held / time.Second)},
		"区域已恢复正常 (zone %s matches its reference for %s)", w.Zone, held.Round(time.Second))
	clip := ClipOf(c.clips, c.log, w.Camera, w.TaskID, "verify", c.now())
	if _, _, err := c.tasks.ProposeVerified(ctx, w.TaskID, t.Photo, after, verdict, clip); err != nil {
		c.logRefusal("verification not proposed", w, err)
		if errors.Is(err, task.ErrConflict) { // already proposed, or moved on
			w.Proposed = true
			c.waiting[w.TaskID] = w
		}
		return
	}
	w.Proposed = true
	c.waiting[w.TaskID] = w
	c.log.Info("verification proposed, seen on camera", "task", w.TaskID, "camera", w.Camera, "zone", w.Zone,
		"before", t.Photo, "after", after, "held", held.Round(time.Millisecond))
}

// logRefusal logs a step the store refused: a conflict only means the task
// moved on meanwhile (a person was quicker), worth a debug line.
func (c *Confirmer) logRefusal(msg string, w task.Watch, err error) {
	level := slog.LevelError
	if errors.Is(err, task.ErrConflict) {
		level = slog.LevelDebug
	}
	c.log.Log(context.Background(), level, msg, "task", w.TaskID, "camera", w.Camera, "zone", w.Zone, "err", err)
}
