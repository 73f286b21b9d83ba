package confirm

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
	"qianliyan/detect"
	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
	"qianliyan/record"
	"qianliyan/task"
)

// fakeWatcher is a camera's detection as the confirmer sees it: the test
// sets the zone's look (read on a resync only; news comes as
// observations); SetMode calls are recorded, and every Stats call (one per
// round of judging) is counted.
type fakeWatcher struct {
	mu       sync.Mutex
	mode     detect.Mode
	modes    []detect.Mode // every SetMode, in order
	look     detect.ZoneLook
	rounds   int // Stats calls
	analyzed uint64
	frozen   bool // no new analyses: the camera's pictures stopped
	snaps    int
}

func (f *fakeWatcher) SetMode(m detect.Mode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = m
	f.modes = append(f.modes, m)
}

func (f *fakeWatcher) Mode() detect.Mode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mode
}

func (f *fakeWatcher) Looks() []detect.ZoneLook {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []detect.ZoneLook{{Zone: "巷口", HasRef: true}, f.look}
}

func (f *fakeWatcher) Snapshot(zone string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mode != detect.Watch {
		return "", detect.ErrNoPicture
	}
	f.snaps++
	return fmt.Sprintf("after-%d.jpg", f.snaps), nil
}

func (f *fakeWatcher) Stats() detect.WatcherStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rounds++
	if !f.frozen {
		f.analyzed++
	}
	return detect.WatcherStats{Analyzed: f.analyzed}
}

func (f *fakeWatcher) set(fn func(f *fakeWatcher)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeWatcher) setModes() []detect.Mode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.modes)
}

// waitRounds returns once the confirmer has judged the camera's zones n
// more times: whatever the test set before has been judged.
func (f *fakeWatcher) waitRounds(t *testing.T, n int) {
	t.Helper()
	f.mu.Lock()
	want := f.rounds + n
	f.mu.Unlock()
	testenv.WaitFor(t, fmt.Sprintf("%d more rounds of judging", n), 5*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.rounds >= want
	})
}

const (
	binZone   = "垃圾桶"
	verifyFor = 3 * time.Second
)

var (
	staff   = task.Actor{ID: "staff", Role: task.Staff}
	worker1 = task.Actor{ID: "worker1", Role: task.Worker, Grids: []string{"hexia-01"}}
)

// confirmEnv is a real task store and incident store on a private prefix
// of the test Redis, one fake camera "bin" and a confirmer over them.
type confirmEnv struct {
	cfg       *configs.Config
	rdb       *redis.Client
	prefix    string
	tasks     *task.Store
	incidents *detect.Store
	cam       *fakeWatcher
	clock     *testenv.Clock
	running   *Confirmer // the last one started
	clips     Clipper    // given to the confirmers started, when set
}

func newConfirmEnv(t *testing.T) *confirmEnv {
	t.Helper()
	rdb, prefix := redistest.Client(t, "ctest")
	cfg := &configs.Config{
		Detect: configs.Detect{Mode: detect.Idle},
		Tasks: configs.Tasks{AutoAccept: []string{detect.ZoneChanged}, ArriveRadiusM: 50,
			VerifyHold: configs.Duration(verifyFor)},
		Cameras: []configs.Camera{{ID: "bin", Name: "倒桶巷", Grid: "hexia-01",
			Location: configs.Location{Lat: 33.50012, Lng: 119.13921, Address: "淮安区河下古镇花巷口"},
			Zones:    []configs.Zone{{Name: "巷口", Kind: "passage"}, {Name: binZone, Kind: "bin"}}}},
	}
	return &confirmEnv{
		cfg: cfg, rdb: rdb, prefix: prefix,
		tasks:     task.NewStore(rdb, prefix, cfg.Tasks, nil),
		incidents: detect.NewStore(rdb, prefix),
		cam:       &fakeWatcher{mode: detect.Idle, look: detect.ZoneLook{Zone: binZone}},
		clock:     testenv.NewClock(time.Now()),
	}
}

// cameras gives the env's one camera to a confirmer.
func (e *confirmEnv) cameras(id string) Camera {
	if id == "bin" {
		return e.cam
	}
	return nil
}

// start runs a confirmer over the env until the test ends (or stop is
// called), judging every 10 ms.
func (e *confirmEnv) start(t *testing.T) (c *Confirmer, stop func()) {
	t.Helper()
	c = New(e.cfg, e.tasks, e.cameras, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	c.every, c.now = 10*time.Millisecond, e.clock.Now
	if e.clips != nil {
		c.KeepClips(e.clips)
	}
	c.Attach(e.incidents)
	e.running = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Error("the confirmer did not stop within 5 s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return c, stop
}

// raise stores a new incident on camera bin, as detection does.
func (e *confirmEnv) raise(t *testing.T, zone, kind, snapshot string) detect.Incident {
	t.Helper()
	in, err := e.incidents.Raise(context.Background(), detect.Incident{Camera: "bin", Zone: zone, Kind: kind, Snapshot: snapshot, Confidence: 0.8}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// observe stores an observation of zone on camera bin, as detection does,
// and waits until the running confirmer has taken it.
func (e *confirmEnv) observe(t *testing.T, zone, kind, snapshot string) detect.Observation {
	t.Helper()
	return e.send(t, detect.Observation{Camera: "bin", Zone: zone, Kind: kind, AtMS: time.Now().UnixMilli(), Snapshot: snapshot})
}

// looks tells the confirmer, as detection does, that zone matches its
// reference since the clock's now less ago, or (ago < 0) that it differs
// by diff.
func (e *confirmEnv) looks(t *testing.T, zone string, ago time.Duration, diff float64) {
	t.Helper()
	o := detect.Observation{Camera: "bin", Zone: zone, Kind: detect.ZoneMatches, AtMS: e.clock.Now().Add(-ago).UnixMilli(), Diff: diff}
	if ago < 0 {
		o.Kind, o.AtMS = detect.ZoneDiffers, e.clock.Now().UnixMilli()
	}
	e.send(t, o)
}

func (e *confirmEnv) send(t *testing.T, o detect.Observation) detect.Observation {
	t.Helper()
	want := e.running.handled.Load() + 1
	if err := e.incidents.Observe(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the confirmer to take the "+o.Kind+" observation", 5*time.Second, func() bool { return e.running.handled.Load() >= want })
	return o
}

// taskOf waits for the task of incident id and returns it.
func (e *confirmEnv) taskOf(t *testing.T, incident string) *task.Task {
	t.Helper()
	var got *task.Task
	testenv.WaitFor(t, "the task of incident "+incident, 5*time.Second, func() bool {
		list, _, err := e.tasks.List(context.Background(), task.Filter{Camera: "bin"})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			if x.IncidentID == incident {
				got = x
				return true
			}
		}
		return false
	})
	return got
}

// waitState waits for task id to be in state st and returns it.
func (e *confirmEnv) waitState(t *testing.T, id string, st task.State) *task.Task {
	t.Helper()
	var got *task.Task
	testenv.WaitFor(t, fmt.Sprintf("task %s to be %s", id, st), 5*time.Second, func() bool {
		var err error
		if got, err = e.tasks.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		return got.State == st
	})
	return got
}

func (e *confirmEnv) state(t *testing.T, id string) task.State {
	t.Helper()
	x, err := e.tasks.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return x.State
}

func (e *confirmEnv) move(t *testing.T, id string, a task.Actor, act task.Action, req task.Request) {
	t.Helper()
	if _, _, err := e.tasks.Transition(context.Background(), id, a, act, req); err != nil {
		t.Fatalf("%s %s task %s: %v", a.ID, act, id, err)
	}
}

// staysSubmitted moves the clock on by verify_hold five times, with two
// rounds of judging after each, and wants task id still submitted.
func (e *confirmEnv) staysSubmitted(t *testing.T, id, why string) {
	t.Helper()
	for range 5 {
		e.clock.Add(verifyFor)
		e.cam.waitRounds(t, 2)
	}
	if st := e.state(t, id); st != task.Submitted {
		t.Fatalf("task went %s %s", st, why)
	}
}

func (e *confirmEnv) lastEntry(t *testing.T, id string) task.Entry {
	t.Helper()
	tl, err := e.tasks.Timeline(context.Background(), id)
	if err != nil || len(tl) == 0 {
		t.Fatalf("timeline of %s: %v (%d entries)", id, err, len(tl))
	}
	return tl[len(tl)-1]
}

// TestConfirmIncidentBecomesTask: a new incident becomes one task with the
// camera's grid, place and the incident's snapshot, accepted at once when
// its kind is in tasks.auto_accept; updates and ends of the incident make
// none; a new incident of the same zone and kind joins the open task; a
// subscriber added before (the API's event feed) still runs.
func TestConfirmIncidentBecomesTask(t *testing.T) {
	e := newConfirmEnv(t)
	var mu sync.Mutex
	var fed []string
	e.incidents.OnChange(func(in detect.Incident) { mu.Lock(); fed = append(fed, in.ID); mu.Unlock() })
	c, _ := e.start(t)

	in := e.raise(t, binZone, detect.ZoneChanged, "in-1.jpg")
	got := e.taskOf(t, in.ID)
	want := task.Task{Title: "区域异常 · 垃圾桶", Source: task.FromIncident, Kind: detect.ZoneChanged, Camera: "bin", Zone: binZone,
		Grid: "hexia-01", Reporter: "camera:bin", Photo: "in-1.jpg", State: task.Accepted,
		Location: task.Location{Lat: 33.50012, Lng: 119.13921, Address: "淮安区河下古镇花巷口"}}
	if got.Title != want.Title || got.Source != want.Source || got.Kind != want.Kind || got.Camera != want.Camera ||
		got.Zone != want.Zone || got.Grid != want.Grid || got.Reporter != want.Reporter || got.Photo != want.Photo ||
		got.State != want.State || got.Location != want.Location {
		t.Errorf("task from the incident = %+v\nwant %+v", got, want)
	}
	tl, _ := e.tasks.Timeline(context.Background(), got.ID)
	if len(tl) != 2 || tl[0].Source != task.ByCamera || tl[0].Evidence == nil || tl[0].Evidence.Snapshot != "in-1.jpg" ||
		tl[1].Action != task.Accept || tl[1].Source != task.BySystem {
		t.Errorf("timeline = %+v, want created by the camera with the snapshot, then accepted by the system", tl)
	}

	// The same incident raised again (an update) and ended: no new task.
	if _, err := e.incidents.Raise(context.Background(), detect.Incident{Camera: "bin", Zone: binZone, Kind: detect.ZoneChanged, Confidence: 0.9}, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.incidents.End(context.Background(), "bin", binZone, detect.ZoneChanged, time.Now().Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	// A kind not in auto_accept waits for staff. The confirmer works in
	// order, so once this task is there the update and end were seen.
	loit := e.raise(t, "巷口", detect.Loitering, "in-2.jpg")
	if x := e.taskOf(t, loit.ID); x.State != task.Reported || x.Title != "人员逗留 · 巷口" {
		t.Errorf("loitering task is %s %q, want reported 人员逗留 · 巷口", x.State, x.Title)
	}
	if _, n, _ := e.tasks.List(context.Background(), task.Filter{}); n != 2 {
		t.Errorf("%d tasks from 2 incidents (one raised twice and ended), want 2", n)
	}
	// The bin falls again while its task is open: one task per problem, the
	// new incident is a line of its timeline.
	again := e.raise(t, binZone, detect.ZoneChanged, "in-3.jpg")
	testenv.WaitFor(t, "the second fall on the first task's timeline", 5*time.Second, func() bool {
		x, err := e.tasks.Get(context.Background(), got.ID)
		return err == nil && x.Repeats == 1
	})
	if last := e.lastEntry(t, got.ID); last.Action != task.Recur || last.Incident != again.ID || last.Evidence == nil || last.Evidence.Snapshot != "in-3.jpg" {
		t.Errorf("the first task ends with %+v, want the recurrence with incident %s and its snapshot", last, again.ID)
	}
	if _, n, _ := e.tasks.List(context.Background(), task.Filter{}); n != 2 {
		t.Errorf("%d tasks after the bin fell again, want still 2", n)
	}
	mu.Lock()
	if len(fed) != 5 {
		t.Errorf("the subscriber added before the confirmer saw %d changes, want all 5", len(fed))
	}
	mu.Unlock()
	if c.Dropped() != 0 {
		t.Errorf("dropped %d", c.Dropped())
	}
}

// TestConfirmQueueDropsInsteadOfBlocking: detection's callbacks never wait
// for a busy confirmer; what does not fit is counted.
func TestConfirmQueueDropsInsteadOfBlocking(t *testing.T) {
	e := newConfirmEnv(t)
	c := New(e.cfg, e.tasks, func(string) Camera { return nil }, slog.New(slog.DiscardHandler))
	start := time.Now()
	for i := range queueLen + 50 {
		ms := int64(1000 + i)
		c.incident(detect.Incident{ID: fmt.Sprint(i), Camera: "bin", Kind: detect.ZoneChanged, StartedMS: ms, UpdatedMS: ms})
		c.incident(detect.Incident{ID: fmt.Sprint(i), Camera: "bin", Kind: detect.ZoneChanged, StartedMS: ms, UpdatedMS: ms + 1}) // an update: not news
		c.observation(detect.Observation{Camera: "bin", Zone: binZone, Kind: "car_passed"})                                       // not a kind it follows
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("queueing took %v", d)
	}
	if n := c.Dropped(); n != 50 {
		t.Errorf("dropped %d, want the 50 past the queue of %d", n, queueLen)
	}
}

// TestConfirmTaskLoopOnCamera walks a task through what the camera
// confirms, from observations alone: dispatch puts the camera in Watch
// mode; a person entering the zone makes the claimed task arrived, with the
// observation's snapshot; a submitted task whose zone goes on differing is
// sent back after 3×verify_hold (not while someone stands in the zone, not
// on stale pictures); one whose zone matches for verify_hold gets a
// proposal with before and after pictures; closing it gives the camera back
// its mode.
func TestConfirmTaskLoopOnCamera(t *testing.T) {
	e := newConfirmEnv(t)
	e.start(t)
	ctx := context.Background()
	id := e.taskOf(t, e.raise(t, binZone, detect.ZoneChanged, "in-1.jpg").ID).ID
	if m := e.cam.Mode(); m != detect.Idle {
		t.Fatalf("an accepted task put the camera in mode %v", m)
	}

	e.move(t, id, staff, task.Dispatch, task.Request{Worker: "worker1"})
	testenv.WaitFor(t, "the camera in Watch mode after the dispatch", 5*time.Second, func() bool { return e.cam.Mode() == detect.Watch })

	// The worker claims; someone enters another zone, then the task's.
	e.move(t, id, worker1, task.Claim, task.Request{})
	e.observe(t, "巷口", detect.PersonEntered, "other.jpg")
	e.observe(t, binZone, detect.PersonLeft, "")
	o := e.observe(t, binZone, detect.PersonEntered, "p-1.jpg")
	x := e.waitState(t, id, task.Arrived)
	arr := e.lastEntry(t, id)
	if arr.Action != task.Arrive || arr.Source != task.ByCamera || arr.By != "camera:bin" || arr.Evidence == nil ||
		arr.Evidence.Snapshot != "p-1.jpg" || arr.AtMS != max(o.AtMS, x.Since[task.Claimed]) {
		t.Errorf("arrival entry = %+v, want arrive by camera:bin at %d with snapshot p-1.jpg", arr, o.AtMS)
	}

	// Submitted while the bin still lies there and the worker stands in
	// the zone: no rework, however long.
	e.looks(t, binZone, -1, 40)
	e.move(t, id, worker1, task.Submit, task.Request{Evidence: &task.Evidence{Photo: "fix-1.jpg"}})
	e.staysSubmitted(t, id, "while someone stood in the zone")
	// The worker leaves, the camera's pictures stop: stale looks judge nothing.
	e.cam.set(func(f *fakeWatcher) { f.frozen = true })
	e.observe(t, binZone, detect.PersonLeft, "")
	e.staysSubmitted(t, id, "on stale pictures")
	// Pictures again; the zone differs for just under 3×verify_hold, then past it.
	e.cam.set(func(f *fakeWatcher) { f.frozen = false })
	e.cam.waitRounds(t, 2)
	e.clock.Add(3*verifyFor - time.Second)
	e.cam.waitRounds(t, 2)
	if st := e.state(t, id); st != task.Submitted {
		t.Fatalf("task went %s before the zone differed 3×verify_hold", st)
	}
	e.clock.Add(2 * time.Second)
	e.waitState(t, id, task.Dispatched)
	rw := e.lastEntry(t, id)
	if rw.Action != task.Rework || rw.Source != task.ByCamera || rw.Evidence == nil ||
		!strings.Contains(rw.Evidence.Verdict, "区域仍与正常状态不同") || !strings.Contains(rw.Evidence.Verdict, "difference 40") ||
		!strings.HasPrefix(rw.Evidence.Snapshot, "after-") {
		t.Errorf("rework entry = %+v, want rework by camera with the verdict, the difference and a snapshot", rw)
	}
	// the pages translate the verdict and the note from their codes
	if rw.Evidence == nil || rw.Evidence.VerdictCode != MsgZoneDiffers || rw.Evidence.VerdictParams["zone"] != binZone ||
		rw.Evidence.VerdictParams["diff"] != 40.0 || rw.Evidence.VerdictParams["differed_s"] == nil || rw.Code != task.MsgStillDiffers {
		t.Errorf("rework entry = %+v %+v, want the verdict as %s {zone, differed_s, diff: 40} and the note as %s",
			rw, rw.Evidence, MsgZoneDiffers, task.MsgStillDiffers)
	}
	if m := e.cam.Mode(); m != detect.Watch {
		t.Errorf("camera in mode %v after the rework, want Watch", m)
	}

	// Second round: the bin is put back before the worker submits.
	e.move(t, id, worker1, task.Claim, task.Request{})
	e.observe(t, binZone, detect.PersonEntered, "p-2.jpg")
	e.waitState(t, id, task.Arrived)
	e.looks(t, binZone, time.Second, 3)
	e.move(t, id, worker1, task.Submit, task.Request{Evidence: &task.Evidence{Photo: "fix-2.jpg"}})
	e.cam.waitRounds(t, 3)
	if x, _ := e.tasks.Get(ctx, id); x.Proposal != nil {
		t.Fatalf("proposed after the zone matched 1 s of the 3 s hold: %+v", x.Proposal)
	}
	e.clock.Add(2500 * time.Millisecond)
	var p *task.Proposal
	testenv.WaitFor(t, "a verification proposal", 5*time.Second, func() bool {
		x, err := e.tasks.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p = x.Proposal
		return p != nil
	})
	if p.Before != "in-1.jpg" || !strings.HasPrefix(p.After, "after-") || p.Camera != "bin" || p.State != task.Submitted ||
		!strings.Contains(p.Verdict, "区域已恢复正常") || !strings.Contains(p.Verdict, "matches its reference for") {
		t.Errorf("proposal = %+v, want before in-1.jpg, an after picture and the verdict", p)
	}
	if held, _ := p.VerdictParams["held_s"].(float64); p.VerdictCode != MsgZoneMatches || p.VerdictParams["zone"] != binZone || held < 3 {
		t.Errorf("proposal verdict %q %v, want %s with the zone and held_s ≥ 3 (the hold)", p.VerdictCode, p.VerdictParams, MsgZoneMatches)
	}
	pe := e.lastEntry(t, id)
	if pe.Action != task.Propose || pe.Source != task.ByCamera || pe.Evidence == nil || pe.Evidence.After != p.After {
		t.Errorf("proposal entry = %+v", pe)
	}
	e.cam.waitRounds(t, 10) // a proposed task is no longer judged
	if x, _ := e.tasks.Get(ctx, id); x.Entries != pe.Seq {
		t.Errorf("the camera added %d more entries after its proposal, want one proposal", x.Entries-pe.Seq)
	}

	// Staff verify with one click and close: the camera goes back to idle.
	e.move(t, id, staff, task.Verify, task.Request{})
	if v := e.lastEntry(t, id); v.Evidence == nil || v.Evidence.After != p.After {
		t.Errorf("verify entry = %+v, want the camera's proposal as evidence", v)
	}
	e.move(t, id, staff, task.Close, task.Request{})
	testenv.WaitFor(t, "the camera back in idle mode after the close", 5*time.Second, func() bool { return e.cam.Mode() == detect.Idle })
	if got := e.cam.setModes(); !slices.Equal(got, []detect.Mode{detect.Watch, detect.Idle}) {
		t.Errorf("SetMode calls %v, want Watch once, then Idle", got)
	}
}

// TestConfirmRestoresWatchModeAfterRestart: the tasks live in Redis and the
// zones' looks in the cameras, so a new confirmer (a restarted bridge,
// whose cameras start in the configured mode and whose observations before
// the restart are gone) watches the same cameras at once and judges the
// zones, without any task event or observation.
func TestConfirmRestoresWatchModeAfterRestart(t *testing.T) {
	e := newConfirmEnv(t)
	_, stop := e.start(t)
	ctx := context.Background()
	id := e.taskOf(t, e.raise(t, binZone, detect.ZoneChanged, "in-1.jpg").ID).ID
	e.move(t, id, staff, task.Dispatch, task.Request{Worker: "worker1"})
	testenv.WaitFor(t, "Watch mode after the dispatch", 5*time.Second, func() bool { return e.cam.Mode() == detect.Watch })
	e.move(t, id, worker1, task.Claim, task.Request{})
	e.observe(t, binZone, detect.PersonEntered, "p-1.jpg")
	e.waitState(t, id, task.Arrived)
	stop()

	// While no confirmer runs: the worker submits, the bin is back.
	e.move(t, id, worker1, task.Submit, task.Request{Evidence: &task.Evidence{Photo: "fix-1.jpg"}})
	e.cam.set(func(f *fakeWatcher) {
		f.mode, f.modes = detect.Idle, nil
		f.look = detect.ZoneLook{Zone: binZone, HasRef: true, Diff: 2, MatchSinceMS: e.clock.Now().Add(-time.Minute).UnixMilli()}
	})
	e.incidents = detect.NewStore(e.rdb, e.prefix) // the old confirmer's subscriptions stay behind
	e.tasks = task.NewStore(e.rdb, e.prefix, e.cfg.Tasks, nil)
	e.start(t)
	testenv.WaitFor(t, "Watch mode restored by the new confirmer", 5*time.Second, func() bool { return e.cam.Mode() == detect.Watch })
	testenv.WaitFor(t, "a verification proposal from the zone's look", 5*time.Second, func() bool {
		x, err := e.tasks.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return x.Proposal != nil
	})
}

// TestConfirmReadsNoTaskPerSecond: between events and resyncs the
// confirmer works from memory: a minute of judging a waiting task reads
// nothing from Redis.
func TestConfirmReadsNoTaskPerSecond(t *testing.T) {
	e := newConfirmEnv(t)
	e.start(t)
	id := e.taskOf(t, e.raise(t, binZone, detect.ZoneChanged, "in-1.jpg").ID).ID
	e.move(t, id, staff, task.Dispatch, task.Request{Worker: "worker1"})
	testenv.WaitFor(t, "Watch mode after the dispatch", 5*time.Second, func() bool { return e.cam.Mode() == detect.Watch })
	e.cam.waitRounds(t, 2)

	var cmds sync.Map
	e.rdb.AddHook(countHook{&cmds})
	e.cam.waitRounds(t, 30) // 30 rounds of 10 ms, each a second in production
	n := 0
	cmds.Range(func(k, v any) bool { n++; t.Logf("Redis command during judging: %v", k); return true })
	if n != 0 {
		t.Errorf("%d kinds of Redis command in 30 rounds of judging, want none", n)
	}
}

// countHook records the names of the Redis commands sent.
type countHook struct{ seen *sync.Map }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.seen.Store(cmd.Name(), true)
		return next(ctx, cmd)
	}
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			h.seen.Store(c.Name(), true)
		}
		return next(ctx, cmds)
	}
}

// fakeClips is a Clipper that remembers what it was asked.
type fakeClips struct {
	mu     sync.Mutex
	asked  []string          // reason@camera@task at ms
	tasks  map[string]string // clip id → task set later
	nextID int
}

func (f *fakeClips) Clip(camera, taskID, reason string, at time.Time) (record.Clip, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.asked = append(f.asked, fmt.Sprintf("%s@%s@%s", reason, camera, taskID))
	return record.Clip{ID: fmt.Sprintf("Cfake%d", f.nextID), Camera: camera, AtMS: at.UnixMilli(),
		StartMS: at.UnixMilli() - 10000, EndMS: at.UnixMilli() + 20000}, nil
}

func (f *fakeClips) SetTask(id, taskID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tasks[id] = taskID
	return nil
}

// TestConfirmKeepsAClipOfEachCameraStep: the incident's entry and the
// arrival seen on camera each name a clip around their moment, tied to
// the task.
func TestConfirmKeepsAClipOfEachCameraStep(t *testing.T) {
	e := newConfirmEnv(t)
	clips := &fakeClips{tasks: map[string]string{}}
	e.clips = clips
	e.start(t)
	in := e.raise(t, binZone, detect.ZoneChanged, "in-1.jpg")
	tk := e.taskOf(t, in.ID)
	tl, _ := e.tasks.Timeline(context.Background(), tk.ID)
	c := tl[0].Evidence.Clip
	if c == nil || c.ID != "Cfake1" || c.Camera != "bin" || c.StartMS != in.StartedMS-10000 || c.EndMS != in.StartedMS+20000 {
		t.Fatalf("the incident's entry lists clip %+v, want Cfake1 of bin from 10 s before the incident to 20 s after", c)
	}
	testenv.WaitFor(t, "the incident's clip tied to its task", 5*time.Second, func() bool {
		clips.mu.Lock()
		defer clips.mu.Unlock()
		return clips.tasks["Cfake1"] == tk.ID
	})
	e.move(t, tk.ID, staff, task.Dispatch, task.Request{Worker: "worker1"})
	e.move(t, tk.ID, worker1, task.Claim, task.Request{})
	e.observe(t, binZone, detect.PersonEntered, "p.jpg")
	e.waitState(t, tk.ID, task.Arrived)
	tl, _ = e.tasks.Timeline(context.Background(), tk.ID)
	arr := tl[len(tl)-1]
	if arr.Action != task.Arrive || arr.Evidence == nil || arr.Evidence.Clip == nil || arr.Evidence.Clip.ID != "Cfake2" {
		t.Fatalf("arrival entry = %+v, want the clip Cfake2", arr)
	}
	clips.mu.Lock()
	defer clips.mu.Unlock()
	if want := []string{"incident@bin@", "arrive@bin@" + tk.ID}; !slices.Equal(clips.asked, want) {
		t.Errorf("clips asked %v, want %v", clips.asked, want)
	}
}
