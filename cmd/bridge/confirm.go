package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"qianliyan/configs"
	"qianliyan/detect"
	"qianliyan/task"
)

// zoneWatcher is what the confirmer needs of a camera's detection
// (*detect.Watcher has it).
type zoneWatcher interface {
	SetMode(detect.Mode)
	Mode() detect.Mode
	Looks() []detect.ZoneLook
	Snapshot(zone string) (string, error)
	Stats() detect.WatcherStats
}

// watcherOf returns the camera's watcher, or nil when it has none.
type watcherOf func(camera string) zoneWatcher

// detectorWatchers adapts a detector to watcherOf (a nil *detect.Watcher
// must come out as a nil interface).
func detectorWatchers(d *detect.Detector) watcherOf {
	return func(camera string) zoneWatcher {
		if w := d.Watcher(camera); w != nil {
			return w
		}
		return nil
	}
}

// confirmQueueLen bounds the incidents and observations waiting for the
// confirmer; past it they are dropped and counted, detection never waits.
const confirmQueueLen = 256

// confirmer is the glue between detection and tasks, "confirmed on camera":
//
//   - a new incident becomes a task (one per incident, accepted at once when
//     its kind is in tasks.auto_accept);
//   - a camera with a task on one of its zones in state dispatched, claimed,
//     arrived or submitted is in detect.Watch mode, and goes back to the
//     configured mode when none is left; the tasks are read from Redis, so a
//     restarted bridge watches the same cameras;
//   - a person entering the zone of a claimed task makes it arrived, seen on
//     camera, with the observation's snapshot;
//   - a submitted task whose zone has matched its reference for
//     tasks.verify_hold gets a verification proposal with the before and
//     after pictures; one whose zone still differs gets sent back (see
//     reworkAfter for the rule).
//
// Detection and the task store call it on their own goroutines; it hands
// their news to its own goroutine (Run) and never blocks them.
type confirmer struct {
	tasks    *task.Store
	cams     map[string]configs.Camera
	watcher  watcherOf
	rest     detect.Mode   // the configured mode a camera returns to
	hold     time.Duration // tasks.verify_hold
	every    time.Duration // how often zones are checked (1 s)
	now      func() time.Time
	log      *slog.Logger
	jobs     chan confirmJob
	poke     chan struct{}
	dropped  atomic.Uint64
	watched  map[string]bool      // cameras this confirmer put in Watch mode
	differ   map[string]time.Time // submitted task id → since when its zone has differed with nobody in it
	analyzed map[string]analyses  // camera → its analyses when last counted
}

// analyses is a camera's count of analysed pictures and when it last grew.
type analyses struct {
	n  uint64
	at time.Time
}

// staleAfter is how long a camera may go without a new analysis before its
// zone looks no longer count: it went offline, or detection stalled.
const staleAfter = 3 * time.Second

// confirmJob is one piece of news from detection.
type confirmJob struct {
	incident    *detect.Incident
	observation *detect.Observation
}

// newConfirmer returns a confirmer over the cameras of cfg; Run starts it.
func newConfirmer(cfg *configs.Config, tasks *task.Store, watcher watcherOf, log *slog.Logger) *confirmer {
	c := &confirmer{
		tasks: tasks, cams: map[string]configs.Camera{}, watcher: watcher, rest: detect.Active,
		hold: cfg.Tasks.VerifyHold.D(), every: time.Second, now: time.Now, log: log,
		jobs: make(chan confirmJob, confirmQueueLen), poke: make(chan struct{}, 1),
		watched: map[string]bool{}, differ: map[string]time.Time{}, analyzed: map[string]analyses{},
	}
	if cfg.Detect.Mode == "idle" {
		c.rest = detect.Idle
	}
	for _, cam := range cfg.Cameras {
		c.cams[cam.ID] = cam
	}
	return c
}

// attach chains the confirmer after what the stores already call on a
// change (the API's event feed): the hooks of detect.Store are single
// functions, so they are wrapped, not replaced. Call it before detection
// runs.
func (c *confirmer) attach(incidents *detect.Store) {
	prevIncident, prevObservation := incidents.OnChange, incidents.OnObservation
	incidents.OnChange = func(in detect.Incident) {
		if prevIncident != nil {
			prevIncident(in)
		}
		c.incident(in)
	}
	incidents.OnObservation = func(o detect.Observation) {
		if prevObservation != nil {
			prevObservation(o)
		}
		c.observation(o)
	}
	c.tasks.OnChange(func(task.Event) { c.nudge() })
}

// incident takes a stored incident change; only a new incident counts.
func (c *confirmer) incident(in detect.Incident) {
	// Raise stores a new incident with started == updated; updates and
	// endings move updated on.
	if !in.Open() || in.StartedMS != in.UpdatedMS {
		return
	}
	c.enqueue(confirmJob{incident: &in})
}

// observation takes a stored observation; only people entering count.
func (c *confirmer) observation(o detect.Observation) {
	if o.Kind != detect.PersonEntered {
		return
	}
	c.enqueue(confirmJob{observation: &o})
}

func (c *confirmer) enqueue(j confirmJob) {
	select {
	case c.jobs <- j:
	default:
		// A rate-limited warning: the first drop, then every 100th.
		if n := c.dropped.Add(1); n%100 == 1 {
			c.log.Warn("confirmer too slow, dropped detection news", "dropped", n)
		}
	}
}

// nudge asks Run to look at the tasks now rather than at the next tick: a
// task changed.
func (c *confirmer) nudge() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// Run confirms until ctx ends. It first restores Watch mode for the
// cameras that have tasks waiting on them.
func (c *confirmer) Run(ctx context.Context) error {
	c.check(ctx)
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-c.jobs:
			if j.incident != nil {
				c.createTask(ctx, *j.incident)
			} else {
				c.arrive(ctx, *j.observation)
			}
		case <-c.poke:
			c.check(ctx)
		case <-t.C:
			c.check(ctx)
		}
	}
}

// createTask makes the task of a new incident.
func (c *confirmer) createTask(ctx context.Context, in detect.Incident) {
	cam := c.cams[in.Camera]
	by := task.CameraActor(in.Camera)
	if in.Kind == detect.CameraOffline {
		by = task.SystemActor() // no camera saw that: the bridge lost it
	}
	desc := cam.Name
	if in.Detail != "" {
		desc += ": " + in.Detail
	}
	t, err := c.tasks.Create(ctx, by, task.NewTask{
		Description: desc, Kind: in.Kind, IncidentID: in.ID, Camera: in.Camera, Zone: in.Zone, Grid: cam.Grid,
		Location: task.Location{Lat: cam.Location.Lat, Lng: cam.Location.Lng, Address: cam.Location.Address},
		Photo:    in.Snapshot,
	})
	if err != nil {
		c.log.Error("task from incident not created", "camera", in.Camera, "zone", in.Zone, "incident", in.ID, "err", err)
		return
	}
	c.log.Info("task from incident", "task", t.ID, "camera", in.Camera, "zone", in.Zone, "incident", in.ID,
		"kind", in.Kind, "state", t.State)
}

// arrive makes the claimed tasks of the observation's zone arrived, seen on
// camera. A task claimed after the person came is not arrived by it: the
// observation comes when someone enters, not while they stay.
func (c *confirmer) arrive(ctx context.Context, o detect.Observation) {
	ws, err := c.tasks.Watching(ctx)
	if err != nil {
		c.log.Error("tasks not read for an arrival", "camera", o.Camera, "zone", o.Zone, "err", err)
		return
	}
	for _, w := range ws {
		if w.Camera != o.Camera || w.Zone != o.Zone || w.State != task.Claimed {
			continue
		}
		snap := o.Snapshot
		if snap == "" {
			if zw := c.watcher(o.Camera); zw != nil {
				snap, _ = zw.Snapshot(o.Zone)
			}
		}
		t, _, err := c.tasks.CameraArrived(ctx, w.TaskID, snap, time.UnixMilli(o.AtMS))
		if err != nil {
			c.logRefusal("arrival on camera not recorded", w, err)
			continue
		}
		c.log.Info("task arrived, seen on camera", "task", t.ID, "camera", o.Camera, "zone", o.Zone,
			"worker", t.Worker, "snapshot", snap)
	}
}

// check reads the tasks waiting on cameras, puts their cameras in Watch
// mode (and the others back), and judges the zones of submitted tasks.
func (c *confirmer) check(ctx context.Context) {
	ws, err := c.tasks.Watching(ctx)
	if err != nil {
		c.log.Error("watched tasks not read", "err", err)
		return
	}
	waiting := map[string]int{} // camera → tasks on its zones
	for _, w := range ws {
		if w.Zone != "" {
			waiting[w.Camera]++
		}
	}
	for cam, n := range waiting {
		zw := c.watcher(cam)
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
		if zw := c.watcher(cam); zw != nil {
			zw.SetMode(c.rest)
			c.log.Info("camera no longer watched: no task waits on it", "camera", cam, "mode", modeName(c.rest))
		}
	}

	now := c.now()
	fresh := map[string]bool{}
	for cam := range waiting {
		if zw := c.watcher(cam); zw != nil {
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
	for _, w := range ws {
		if w.Zone == "" || w.State != task.Submitted || w.Proposed {
			continue
		}
		judged[w.TaskID] = true
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
// starts at the first check after the submission that sees the zone
// differ, and starts again whenever the zone matches, someone is in it (the
// worker may still be at work, or stand in the picture), or the camera's
// pictures stop coming; a restarted bridge starts it again too. So a worker
// who submits while the bin still lies there gets the task back about
// 3×verify_hold later, and one who walks away from a fixed zone never does.
func (c *confirmer) reworkAfter() time.Duration { return min(3*c.hold, 2*time.Minute) }

// judge looks at the zone of a submitted task: proposes verification when it
// has matched its reference for the hold, sends the task back when it has
// differed for reworkAfter. fresh says whether the camera's looks are recent
// (see staleAfter); stale looks judge nothing.
func (c *confirmer) judge(ctx context.Context, w task.Watch, fresh bool, now time.Time) {
	zw := c.watcher(w.Camera)
	if zw == nil {
		return
	}
	var look detect.ZoneLook
	found := false
	for _, l := range zw.Looks() {
		if l.Zone == w.Zone {
			look, found = l, true
			break
		}
	}
	if !found || !look.HasRef || !fresh {
		delete(c.differ, w.TaskID) // the camera cannot say: nothing counts
		return
	}
	if look.MatchSinceMS > 0 {
		delete(c.differ, w.TaskID)
		held := now.Sub(time.UnixMilli(look.MatchSinceMS))
		if held < c.hold {
			return
		}
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
		verdict := fmt.Sprintf("区域已恢复正常 (zone %s matches its reference for %s)", w.Zone, held.Round(time.Second))
		if _, _, err := c.tasks.ProposeVerified(ctx, w.TaskID, t.Photo, after, verdict); err != nil {
			c.logRefusal("verification not proposed", w, err)
			return
		}
		c.log.Info("verification proposed, seen on camera", "task", w.TaskID, "camera", w.Camera, "zone", w.Zone,
			"before", t.Photo, "after", after, "held", held.Round(time.Millisecond))
		return
	}
	if look.PersonMS > 0 {
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
	verdict := fmt.Sprintf("区域仍与正常状态不同 (zone %s has differed from its reference for %s after the submission; difference %.0f)",
		w.Zone, differed.Round(time.Second), look.Diff)
	if _, _, err := c.tasks.CameraRework(ctx, w.TaskID, verdict, snap); err != nil {
		c.logRefusal("rework on camera not recorded", w, err)
		return
	}
	c.log.Info("task sent back: the zone still differs, seen on camera", "task", w.TaskID, "camera", w.Camera,
		"zone", w.Zone, "worker", w.Worker, "differed", differed.Round(time.Millisecond))
}

// logRefusal logs a step the store refused: a conflict only means the task
// moved on meanwhile (a person was quicker), worth a debug line.
func (c *confirmer) logRefusal(msg string, w task.Watch, err error) {
	level := slog.LevelError
	if errors.Is(err, task.ErrConflict) {
		level = slog.LevelDebug
	}
	c.log.Log(context.Background(), level, msg, "task", w.TaskID, "camera", w.Camera, "zone", w.Zone, "err", err)
}

func modeName(m detect.Mode) string {
	switch m {
	case detect.Idle:
		return "idle"
	case detect.Watch:
		return "watch"
	}
	return "active"
}
