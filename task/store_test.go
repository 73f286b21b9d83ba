package task_test

import (
	"context"
	"errors"
	"fmt"
	"qianliyan/internal/redistest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
	"qianliyan/internal/testenv"
	"qianliyan/task"
)

// start is 17:10:00 in Huai'an, the time of the story.
var start = time.Date(2025, 6, 1, 9, 10, 0, 0, time.UTC)

// env is a store on a private prefix of the test Redis, with its clock and
// the events it emitted.
type env struct {
	*task.Store
	rdb    redis.UniversalClient
	prefix string
	limits configs.Tasks
	clock  *testenv.Clock

	mu     sync.Mutex
	events []task.Event
}

var defaultLimits = configs.Tasks{
	ClaimWithin: configs.Duration(5 * time.Minute), ArriveWithin: configs.Duration(30 * time.Minute),
	ResolveWithin: configs.Duration(24 * time.Hour), ArriveRadiusM: 50, VerifyHold: configs.Duration(10 * time.Second),
}

func newEnv(t *testing.T, limits configs.Tasks) *env {
	t.Helper()
	var rdb redis.UniversalClient
	rdb, prefix := redistest.Client(t, "ttest")
	if onCluster != nil {
		rdb = onCluster
	}
	e := &env{rdb: rdb, prefix: prefix, limits: limits, clock: testenv.NewClock(start)}
	e.Store = e.restart()
	return e
}

// restart gives a new store on the same Redis and prefix, as after a
// restart of the bridge; its events go to e too.
func (e *env) restart() *task.Store {
	s := task.NewStore(e.rdb, e.prefix, e.limits, e.clock.Now)
	s.OnChange(func(ev task.Event) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.events = append(e.events, ev)
	})
	return s
}

// takeEvents returns the events since the last call, as "type:action:task".
func (e *env) takeEvents() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.events {
		out = append(out, fmt.Sprintf("%s:%s:%s", ev.Type, ev.Entry.Action, ev.Task.ID))
	}
	e.events = nil
	return out
}

var (
	admin    = task.Actor{ID: "admin1", Role: task.Admin}
	staff    = task.Actor{ID: "staff1", Role: task.Staff}
	w1       = task.Actor{ID: "w1", Role: task.Worker, Grids: []string{"g1"}}
	w2       = task.Actor{ID: "w2", Role: task.Worker, Grids: []string{"g1", "g2"}}
	resident = task.Actor{ID: "r1", Role: task.Resident}
	camera   = task.CameraActor("cam7")
	actors   = map[task.Role]task.Actor{task.Admin: admin, task.Staff: staff, task.Worker: w1, task.Resident: resident, task.System: camera}

	place = task.Location{Lat: 33.50012, Lng: 119.13921, Address: "淮安区河下古镇花巷口"}
	near  = &task.GPS{Lat: 33.50030, Lng: 119.13921, AccuracyM: 8} // 20 m north
	ctx   = context.Background()
)

// bin is the story's task: the bin at camera 7 knocked over.
var bin = task.NewTask{Title: "垃圾桶倒了", Camera: "cam7", Zone: "垃圾桶", Grid: "g1", Location: place, Photo: "snap/bin.jpg"}

func do(t *testing.T, s *task.Store, id string, a task.Actor, act task.Action, req task.Request) (*task.Task, *task.Entry) {
	t.Helper()
	tk, e, err := s.Transition(ctx, id, a, act, req)
	if err != nil {
		t.Fatalf("%s by %s on %s: %v", act, a.ID, id, err)
	}
	return tk, e
}

// path is the way to each state, by the people who normally make it.
var path = []struct {
	to  task.State
	by  task.Actor
	act task.Action
	req task.Request
}{
	{task.Accepted, staff, task.Accept, task.Request{}},
	{task.Dispatched, staff, task.Dispatch, task.Request{Worker: "w1", Grid: "g1"}},
	{task.Claimed, w1, task.Claim, task.Request{}},
	{task.Arrived, w1, task.Arrive, task.Request{Evidence: &task.Evidence{GPS: near}}},
	{task.Submitted, w1, task.Submit, task.Request{Note: "扶起来了", Evidence: &task.Evidence{Photo: "photo/fixed.jpg"}}},
	{task.Verified, staff, task.Verify, task.Request{}},
	{task.Closed, staff, task.Close, task.Request{}},
}

// inState creates a task reported by staff and moves it to st.
func inState(t *testing.T, s *task.Store, st task.State) *task.Task {
	t.Helper()
	return inStateBy(t, s, staff, st)
}

// inStateBy is inState for a task that reporter reported.
func inStateBy(t *testing.T, s *task.Store, reporter task.Actor, st task.State) *task.Task {
	t.Helper()
	tk, err := s.Create(ctx, reporter, bin)
	if err != nil {
		t.Fatal(err)
	}
	if st == task.Rejected {
		tk, _ = do(t, s, tk.ID, staff, task.Reject, task.Request{Note: "duplicate"})
	}
	for _, step := range path {
		if tk.State == st {
			break
		}
		tk, _ = do(t, s, tk.ID, step.by, step.act, step.req)
	}
	if tk.State != st {
		t.Fatalf("task is %s, want %s", tk.State, st)
	}
	return tk
}

// legal is the table of the design, written out apart from the code.
var legal = map[task.Action]struct {
	from  []task.State
	roles []task.Role
	to    task.State
}{
	task.Accept:   {[]task.State{task.Reported}, []task.Role{task.Staff, task.Admin, task.System}, task.Accepted},
	task.Reject:   {[]task.State{task.Reported, task.Accepted}, []task.Role{task.Staff, task.Admin}, task.Rejected},
	task.Dispatch: {[]task.State{task.Accepted, task.Dispatched, task.Claimed, task.Arrived}, []task.Role{task.Staff, task.Admin}, task.Dispatched},
	task.Claim:    {[]task.State{task.Dispatched}, []task.Role{task.Worker}, task.Claimed},
	task.Arrive:   {[]task.State{task.Claimed}, []task.Role{task.Worker, task.System}, task.Arrived},
	task.Submit:   {[]task.State{task.Arrived}, []task.Role{task.Worker}, task.Submitted},
	task.Verify:   {[]task.State{task.Submitted}, []task.Role{task.Staff, task.Admin}, task.Verified},
	task.Rework:   {[]task.State{task.Submitted, task.Verified}, []task.Role{task.Staff, task.Admin, task.System}, task.Dispatched},
	task.Close:    {[]task.State{task.Verified}, []task.Role{task.Staff, task.Admin}, task.Closed},
	task.Merge: {[]task.State{task.Reported, task.Accepted, task.Dispatched, task.Claimed, task.Arrived, task.Submitted, task.Verified},
		[]task.Role{task.Staff, task.Admin}, task.Rejected},
}

// goodRequest is a request that carries everything act needs.
func goodRequest(act task.Action) task.Request {
	switch act {
	case task.Reject:
		return task.Request{Note: "duplicate of an earlier report"}
	case task.Dispatch:
		return task.Request{Worker: "w2", Grid: "g1"}
	case task.Arrive:
		return task.Request{Evidence: &task.Evidence{GPS: near, Snapshot: "snap/person.jpg"}}
	case task.Submit:
		return task.Request{Evidence: &task.Evidence{Photo: "photo/fixed.jpg"}}
	}
	return task.Request{}
}

func TestEveryActionStateAndRole(t *testing.T) {
	e := newEnv(t, defaultLimits)
	roles := []task.Role{task.Admin, task.Staff, task.Worker, task.Resident, task.System}
	if len(task.Roles) != len(roles) {
		t.Fatalf("task.Roles = %v, want the %d roles %v", task.Roles, len(roles), roles)
	}
	actions := []task.Action{task.Accept, task.Dispatch, task.Claim, task.Arrive, task.Submit, task.Verify, task.Close, task.Rework, task.Reject, task.Merge}
	if !slices.Equal(task.Actions, actions) {
		t.Fatalf("task.Actions = %v, want %v", task.Actions, actions)
	}
	into := inState(t, e.Store, task.Accepted) // what merges go into
	for _, act := range actions {
		for _, st := range task.States {
			for _, role := range roles {
				t.Run(fmt.Sprintf("%s/%s/%s", act, st, role), func(t *testing.T) {
					tk := inState(t, e.Store, st)
					rule := legal[act]
					req := goodRequest(act)
					if act == task.Merge {
						req.Into = into.ID
					}
					got, entry, err := e.Transition(ctx, tk.ID, actors[role], act, req)
					switch {
					case !slices.Contains(rule.roles, role):
						if !errors.Is(err, task.ErrForbidden) {
							t.Fatalf("want ErrForbidden for a %s, got %v", role, err)
						}
					case !slices.Contains(rule.from, st):
						var te *task.TransitionError
						if !errors.As(err, &te) || !errors.Is(err, task.ErrConflict) {
							t.Fatalf("want a *TransitionError wrapping ErrConflict, got %T %v", err, err)
						}
						var allowed []string
						for _, a := range actions {
							if slices.Contains(legal[a].from, st) && slices.Contains(legal[a].roles, role) {
								allowed = append(allowed, string(a))
							}
						}
						want := fmt.Sprintf("cannot %s a task that is %s; allowed: ", act, st)
						if len(allowed) == 0 {
							want += "none"
						} else {
							want += strings.Join(allowed, ", ")
						}
						if err.Error() != want {
							t.Errorf("message\n got: %s\nwant: %s", err, want)
						}
					default:
						if err != nil {
							t.Fatalf("want %s → %s, got %v", st, rule.to, err)
						}
						if got.State != rule.to || entry.From != st || entry.To != rule.to || entry.Action != act || entry.By != actors[role].ID {
							t.Errorf("got state %s and entry %+v, want %s → %s by %s", got.State, entry, st, rule.to, actors[role].ID)
						}
					}
					if err != nil {
						if now, _ := e.Get(ctx, tk.ID); now.State != st || now.Entries != tk.Entries {
							t.Errorf("a refused %s changed the task: %s with %d entries, was %s with %d", act, now.State, now.Entries, st, tk.Entries)
						}
					}
				})
			}
		}
	}
}

func TestRefusalMessagesNameWhatIsAllowed(t *testing.T) {
	e := newEnv(t, defaultLimits)
	closed := inState(t, e.Store, task.Closed)
	accepted := inState(t, e.Store, task.Accepted)
	tests := []struct {
		id   string
		a    task.Actor
		act  task.Action
		want string
	}{
		{closed.ID, w1, task.Claim, "cannot claim a task that is closed; allowed: none"},
		{accepted.ID, staff, task.Accept, "cannot accept a task that is accepted; allowed: dispatch, reject, merge"},
		{accepted.ID, resident, task.Accept, "a resident may not accept tasks"},
		{accepted.ID, w1, task.Dispatch, "a worker may not dispatch tasks"},
		{accepted.ID, task.Actor{ID: "x", Role: "mayor"}, task.Accept, `"mayor" is not a role`},
		{accepted.ID, staff, "approve", `"approve" is not a transition; the transitions are accept, dispatch, claim, arrive, submit, verify, close, rework, reject, merge`},
		{"Tnope", staff, task.Accept, `no task "Tnope"`},
	}
	for _, tt := range tests {
		_, _, err := e.Transition(ctx, tt.id, tt.a, tt.act, task.Request{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s by %s: got %v, want %q", tt.act, tt.a.ID, err, tt.want)
		}
	}
	if _, _, err := e.Transition(ctx, "Tnope", staff, task.Accept, task.Request{}); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("unknown task: want ErrNotFound, got %v", err)
	}
	if _, err := e.Get(ctx, "Tnope"); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("Get of an unknown task: want ErrNotFound, got %v", err)
	}
	if _, err := e.Timeline(ctx, "Tnope"); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("Timeline of an unknown task: want ErrNotFound, got %v", err)
	}
	if _, _, err := e.CameraArrived(ctx, "Tnope", "s.jpg", start, nil); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("CameraArrived on an unknown task: want ErrNotFound, got %v", err)
	}
}

func TestWorkerActsOnlyOnOwnTasksInOwnGrids(t *testing.T) {
	e := newEnv(t, defaultLimits)
	tk := inState(t, e.Store, task.Dispatched) // to w1 in g1
	for _, tt := range []struct {
		a    task.Actor
		want string
	}{
		{w2, "task " + tk.ID + " is not dispatched to you"},
		{task.Actor{ID: "w1", Role: task.Worker, Grids: []string{"g2"}}, "task " + tk.ID + " is in grid g1, which is not one of yours"},
		{task.Actor{ID: "w1", Role: task.Worker}, "task " + tk.ID + " is in grid g1, which is not one of yours"},
	} {
		_, _, err := e.Transition(ctx, tk.ID, tt.a, task.Claim, task.Request{})
		if !errors.Is(err, task.ErrForbidden) || err.Error() != tt.want {
			t.Errorf("claim by %s in %v: got %v, want ErrForbidden %q", tt.a.ID, tt.a.Grids, err, tt.want)
		}
	}
	if got := tk.Allowed(w2); len(got) != 0 {
		t.Errorf("Allowed(w2) on w1's task = %v, want none", got)
	}
	if got := tk.Allowed(w1); !slices.Equal(got, []task.Action{task.Claim}) {
		t.Errorf("Allowed(w1) = %v, want [claim]", got)
	}
	if got := tk.Allowed(staff); !slices.Equal(got, []task.Action{task.Dispatch, task.Merge}) {
		t.Errorf("Allowed(staff) = %v, want [dispatch merge]", got)
	}
	do(t, e.Store, tk.ID, w1, task.Claim, task.Request{})
}

func TestBadInputIsInvalid(t *testing.T) {
	e := newEnv(t, defaultLimits)
	accepted := inState(t, e.Store, task.Accepted)
	claimed := inState(t, e.Store, task.Claimed)
	arrived := inState(t, e.Store, task.Arrived)
	dispatched := inState(t, e.Store, task.Dispatched)
	noGrid, err := e.Create(ctx, staff, task.NewTask{Title: "路灯不亮", Accept: true})
	if err != nil {
		t.Fatal(err)
	}
	far := &task.GPS{Lat: 33.502, Lng: 119.13921} // 209 m north
	tests := []struct {
		name string
		id   string
		a    task.Actor
		act  task.Action
		req  task.Request
		want string
	}{
		{"reject without reason", accepted.ID, staff, task.Reject, task.Request{Note: "  "}, "a rejection needs a reason: a false alarm, or a duplicate of which task"},
		{"dispatch without worker", accepted.ID, staff, task.Dispatch, task.Request{Grid: "g1"}, "a dispatch needs the worker to send"},
		{"dispatch without grid", noGrid.ID, staff, task.Dispatch, task.Request{Worker: "w1"}, "a dispatch needs a grid: task " + noGrid.ID + " has none"},
		{"arrive without GPS", claimed.ID, w1, task.Arrive, task.Request{}, "checking in on arrival needs a GPS fix"},
		{"arrive too far", claimed.ID, w1, task.Arrive, task.Request{Evidence: &task.Evidence{GPS: far}}, "you are 209 m from the task's place; check in within 50 m of it"},
		{"GPS off the map", claimed.ID, w1, task.Arrive, task.Request{Evidence: &task.Evidence{GPS: &task.GPS{Lat: 91, Lng: 0}}}, "the GPS fix 91,0 is not a place on the map"},
		{"camera arrive without snapshot", claimed.ID, camera, task.Arrive, task.Request{}, "the system confirms an arrival only with a camera snapshot"},
		{"submit without photo", arrived.ID, w1, task.Submit, task.Request{Note: "done"}, "submitting needs a photo of the fix"},
		{"request id with a space", accepted.ID, staff, task.Reject, task.Request{RequestID: "a b", Note: "dup"}, "a request id is at most 128 characters, without spaces or control characters"},
		{"note too long", accepted.ID, staff, task.Reject, task.Request{Note: strings.Repeat("长", 1001)}, "the note is 1001 characters long; at most 1000 are allowed"},
	}
	for _, tt := range tests {
		_, _, err := e.Transition(ctx, tt.id, tt.a, tt.act, tt.req)
		if !errors.Is(err, task.ErrInvalid) || err.Error() != tt.want {
			t.Errorf("%s: got %v, want ErrInvalid %q", tt.name, err, tt.want)
		}
	}
	_, _, err = e.Transition(ctx, dispatched.ID, staff, task.Dispatch, task.Request{Worker: "w1"})
	if want := "task " + dispatched.ID + " is already dispatched to w1 in grid g1"; !errors.Is(err, task.ErrConflict) || err.Error() != want {
		t.Errorf("dispatch again to the same worker: got %v, want ErrConflict %q", err, want)
	}

	for _, tt := range []struct {
		a    task.Actor
		n    task.NewTask
		kind error
		want string
	}{
		{resident, task.NewTask{Title: " "}, task.ErrInvalid, "a task needs a title"},
		{resident, task.NewTask{Title: strings.Repeat("长", 101)}, task.ErrInvalid, "the title is 101 characters long; at most 100 are allowed"},
		{resident, task.NewTask{Title: "x", Location: task.Location{Lat: 100}}, task.ErrInvalid, "the location 100,0 is not on the map"},
		{resident, task.NewTask{Title: "x", Accept: true}, task.ErrForbidden, "only staff may accept a task as they create it"},
		{resident, task.NewTask{Title: "x", IncidentID: "i1"}, task.ErrForbidden, "only the system creates tasks from incidents"},
		{camera, task.NewTask{Kind: "zone_changed"}, task.ErrInvalid, "a task from the system needs an incident id"},
		{task.Actor{Role: task.Resident}, task.NewTask{Title: "x"}, task.ErrInvalid, "who reports the task is not known"},
	} {
		_, err := e.Create(ctx, tt.a, tt.n)
		if !errors.Is(err, tt.kind) || err.Error() != tt.want {
			t.Errorf("Create(%s, %+v): got %v, want %v %q", tt.a.ID, tt.n, err, tt.kind, tt.want)
		}
	}
}

// TestRequestIDIsNoKeyToAnothersResult: a request id seen in a timeline
// replayed by anyone but its maker, or by its maker no longer allowed to act,
// gets a conflict that tells nothing of the first result (issue 14,
// finding 2: the stored result used to come back before any check).
func TestRequestIDIsNoKeyToAnothersResult(t *testing.T) {
	e := newEnv(t, defaultLimits)
	tk := inState(t, e.Store, task.Accepted)
	req := task.Request{RequestID: "srv-0123456789abcdef", Worker: "w1", Grid: "g1"}
	do(t, e.Store, tk.ID, staff, task.Dispatch, req)
	for _, a := range []task.Actor{resident, w1, admin, {ID: "staff2", Role: task.Staff}} {
		got, entry, err := e.Transition(ctx, tk.ID, a, task.Dispatch, req)
		if !errors.Is(err, task.ErrConflict) || got != nil || entry != nil || strings.Contains(err.Error(), "dispatch") {
			t.Errorf("%s replaying staff's request id: %v, %v, %v; want a conflict naming nothing of the first", a.ID, got, entry, err)
		}
	}
	// its maker, demoted to a worker: the role is checked before the replay
	demoted := task.Actor{ID: staff.ID, Role: task.Worker, Grids: []string{"g1"}}
	if _, _, err := e.Transition(ctx, tk.ID, demoted, task.Dispatch, req); !errors.Is(err, task.ErrForbidden) {
		t.Errorf("the maker as a worker replaying a dispatch: %v, want ErrForbidden", err)
	}
	if _, _, err := e.Transition(ctx, tk.ID, staff, task.Dispatch, req); err != nil {
		t.Errorf("the maker's own retry: %v, want the first result", err)
	}
}

func TestRetryWithTheSameRequestIDGivesTheFirstResult(t *testing.T) {
	e := newEnv(t, defaultLimits)
	tk := inState(t, e.Store, task.Accepted)
	req := task.Request{RequestID: "phone-42-dispatch", Worker: "w1", Grid: "g1"}
	first, entry := do(t, e.Store, tk.ID, staff, task.Dispatch, req)
	do(t, e.Store, tk.ID, w1, task.Claim, task.Request{RequestID: "phone-7-claim"})
	e.takeEvents()

	e.clock.Add(time.Minute)
	again, entry2 := do(t, e.Store, tk.ID, staff, task.Dispatch, req)
	if !reflect.DeepEqual(entry2, entry) || !reflect.DeepEqual(again, first) {
		t.Errorf("retry gave entry %+v task %+v\nwant the first: %+v %+v", entry2, again, entry, first)
	}
	if entry.RequestID != "phone-42-dispatch" || entry.Seq != 3 {
		t.Errorf("entry %+v, want request id phone-42-dispatch and seq 3", entry)
	}
	tl, err := e.Timeline(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 4 {
		t.Errorf("timeline has %d entries after a retry, want 4 (create, accept, dispatch, claim)", len(tl))
	}
	if now, _ := e.Get(ctx, tk.ID); now.State != task.Claimed {
		t.Errorf("retry moved the task to %s; it stays claimed", now.State)
	}
	if ev := e.takeEvents(); len(ev) != 0 {
		t.Errorf("a retry emitted %v, want nothing", ev)
	}

	_, _, err = e.Transition(ctx, tk.ID, staff, task.Reject, task.Request{RequestID: "phone-42-dispatch", Note: "dup"})
	if want := "request phone-42-dispatch was already used to dispatch task " + tk.ID; !errors.Is(err, task.ErrConflict) || err.Error() != want {
		t.Errorf("same request id, other action: got %v, want ErrConflict %q", err, want)
	}
	ttl, err := e.rdb.TTL(ctx, e.prefix+"{t}:task:{"+tk.ID+"}:req:phone-42-dispatch").Result()
	if err != nil || ttl < 23*time.Hour || ttl > 24*time.Hour {
		t.Errorf("request id kept for %v (%v), want 24h", ttl, err)
	}
	// A request id belongs to one task: the same one on another task is new.
	other := inState(t, e.Store, task.Accepted)
	if _, ent := do(t, e.Store, other.ID, staff, task.Dispatch, req); ent.Seq != 3 {
		t.Errorf("same request id on another task gave entry %+v, want a new dispatch", ent)
	}
}

func TestConcurrentDispatchAndRejectOneWins(t *testing.T) {
	e := newEnv(t, defaultLimits)
	for round := range 3 {
		tk := inState(t, e.Store, task.Accepted)
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for i := range 10 {
			wg.Go(func() {
				if i%2 == 0 {
					_, _, errs[i] = e.Transition(ctx, tk.ID, staff, task.Dispatch, task.Request{Worker: "w1", RequestID: fmt.Sprintf("d%d", i)})
				} else {
					_, _, errs[i] = e.Transition(ctx, tk.ID, admin, task.Reject, task.Request{Note: "false alarm", RequestID: fmt.Sprintf("r%d", i)})
				}
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, task.ErrConflict):
				t.Errorf("round %d goroutine %d: want success or ErrConflict, got %v", round, i, err)
			}
		}
		tl, err := e.Timeline(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if won != 1 || len(tl) != 3 {
			t.Errorf("round %d: %d won and the timeline has %d entries; want 1 winner and 3 entries: %v", round, won, len(tl), errs)
		}
	}
}

func TestHappyPathTimeline(t *testing.T) {
	e := newEnv(t, defaultLimits)
	tk, err := e.Create(ctx, resident, bin)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Source != task.FromResident || tk.State != task.Reported || tk.Reporter != "r1" || !strings.HasPrefix(tk.ID, "T") || len(tk.ID) != 17 {
		t.Fatalf("created %+v, want a reported resident report by r1 with a T id of 17 characters", tk)
	}
	id := tk.ID
	step := func(d time.Duration) { e.clock.Add(d) }

	step(30 * time.Second)
	do(t, e.Store, id, staff, task.Accept, task.Request{RequestID: "a1"})
	step(30 * time.Second) // 17:11:00
	do(t, e.Store, id, staff, task.Dispatch, task.Request{Worker: "w1", Grid: "g1", Note: "请尽快处理"})
	step(20 * time.Second)
	do(t, e.Store, id, w1, task.Claim, task.Request{})
	step(100 * time.Second) // 17:13:00; the camera saw the person at 17:12:55
	if _, _, err := e.CameraArrived(ctx, id, "snap/person.jpg", e.clock.Now().Add(-5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	step(3 * time.Minute)
	do(t, e.Store, id, w1, task.Submit, task.Request{Note: "扶起来了", Evidence: &task.Evidence{Photo: "photo/fixed.jpg"}})
	step(10 * time.Second)
	if _, _, err := e.ProposeVerified(ctx, id, "snap/before.jpg", "snap/after.jpg", task.Message{Text: "zone matches its reference for 10s"}, nil); err != nil {
		t.Fatal(err)
	}
	step(50 * time.Second)
	do(t, e.Store, id, staff, task.Verify, task.Request{})
	step(time.Minute)
	final, _ := do(t, e.Store, id, admin, task.Close, task.Request{Note: "结案"})
	step(time.Hour)
	if _, _, err := e.Rate(ctx, id, resident, 5, "很快"); err != nil {
		t.Fatal(err)
	}

	ms := func(d time.Duration) int64 { return start.Add(d).UnixMilli() }
	want := []task.Entry{
		{Seq: 1, AtMS: ms(0), Action: task.Create, To: task.Reported, By: "r1", Role: task.Resident, Source: task.ByPerson, Evidence: &task.Evidence{Photo: "snap/bin.jpg"}},
		{Seq: 2, AtMS: ms(30 * time.Second), Action: task.Accept, From: task.Reported, To: task.Accepted, By: "staff1", Role: task.Staff, Source: task.ByPerson, RequestID: "a1"},
		{Seq: 3, AtMS: ms(time.Minute), Action: task.Dispatch, From: task.Accepted, To: task.Dispatched, By: "staff1", Role: task.Staff, Source: task.ByPerson, Worker: "w1", Grid: "g1", Note: "请尽快处理"},
		{Seq: 4, AtMS: ms(80 * time.Second), Action: task.Claim, From: task.Dispatched, To: task.Claimed, By: "w1", Role: task.Worker, Source: task.ByPerson},
		{Seq: 5, AtMS: ms(175 * time.Second), Action: task.Arrive, From: task.Claimed, To: task.Arrived, By: "camera:cam7", Role: task.System, Source: task.ByCamera, Note: "seen on camera cam7", Code: task.MsgSeenOnCamera, Params: map[string]any{"camera": "cam7"}, Evidence: &task.Evidence{Snapshot: "snap/person.jpg"}},
		{Seq: 6, AtMS: ms(360 * time.Second), Action: task.Submit, From: task.Arrived, To: task.Submitted, By: "w1", Role: task.Worker, Source: task.ByPerson, Note: "扶起来了", Evidence: &task.Evidence{Photo: "photo/fixed.jpg"}},
		{Seq: 7, AtMS: ms(370 * time.Second), Action: task.Propose, From: task.Submitted, To: task.Submitted, By: "camera:cam7", Role: task.System, Source: task.ByCamera, Note: "verification proposed (seen on camera)", Code: task.MsgProposed,
			Evidence: &task.Evidence{Before: "snap/before.jpg", After: "snap/after.jpg", Verdict: "zone matches its reference for 10s"}},
		{Seq: 8, AtMS: ms(420 * time.Second), Action: task.Verify, From: task.Submitted, To: task.Verified, By: "staff1", Role: task.Staff, Source: task.ByPerson, Note: "confirmed what camera cam7 saw", Code: task.MsgConfirmed, Params: map[string]any{"camera": "cam7"},
			Evidence: &task.Evidence{Before: "snap/before.jpg", After: "snap/after.jpg", Verdict: "zone matches its reference for 10s"}},
		{Seq: 9, AtMS: ms(480 * time.Second), Action: task.Close, From: task.Verified, To: task.Closed, By: "admin1", Role: task.Admin, Source: task.ByPerson, Note: "结案"},
		{Seq: 10, AtMS: ms(480*time.Second + time.Hour), Action: task.Rate, From: task.Closed, To: task.Closed, By: "r1", Role: task.Resident, Source: task.ByPerson, Stars: 5, Note: "很快"},
	}
	tl, err := e.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != len(want) {
		t.Fatalf("timeline has %d entries, want %d: %+v", len(tl), len(want), tl)
	}
	for i := range want {
		if !reflect.DeepEqual(tl[i], want[i]) {
			t.Errorf("entry %d\n got: %+v %+v\nwant: %+v %+v", i+1, tl[i], tl[i].Evidence, want[i], want[i].Evidence)
		}
	}

	got, err := e.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantSince := map[task.State]int64{
		task.Reported: ms(0), task.Accepted: ms(30 * time.Second), task.Dispatched: ms(time.Minute), task.Claimed: ms(80 * time.Second),
		task.Arrived: ms(175 * time.Second), task.Submitted: ms(360 * time.Second), task.Verified: ms(420 * time.Second), task.Closed: ms(480 * time.Second),
	}
	if !reflect.DeepEqual(got.Since, wantSince) || got.State != task.Closed || got.Worker != "w1" || got.Entries != 10 || got.StateMS != ms(480*time.Second) {
		t.Errorf("task %+v\nwant closed by w1 with 10 entries and since %v", got, wantSince)
	}
	if got.Ratings != (task.RatingSummary{Count: 1, Stars: 5, Good: 1, Mean: 5}) || got.UpdatedMS != ms(480*time.Second+time.Hour) {
		t.Errorf("ratings %+v updated %d, want one of 5 stars, updated at the rating", got.Ratings, got.UpdatedMS)
	}
	if !reflect.DeepEqual(final.Since, wantSince) {
		t.Errorf("Transition returned since %v, want %v", final.Since, wantSince)
	}
	if len(got.OverdueMS) != 0 {
		t.Errorf("overdue %v, want none: every stage was in time", got.OverdueMS)
	}
	ev := e.takeEvents()
	wantEv := []string{"task:create:", "task:accept:", "task:dispatch:", "task:claim:", "task:arrive:", "task:submit:", "task:propose:", "task:verify:", "task:close:", "rating:rate:"}
	for i := range wantEv {
		wantEv[i] += id
	}
	if !slices.Equal(ev, wantEv) {
		t.Errorf("events\n got: %v\nwant: %v", ev, wantEv)
	}
}

func TestReworkGoesBackToTheSameWorker(t *testing.T) {
	e := newEnv(t, defaultLimits)
	tk := inState(t, e.Store, task.Submitted)
	if _, _, err := e.ProposeVerified(ctx, tk.ID, "b.jpg", "a.jpg", task.Message{Text: "looks normal"}, nil); err != nil {
		t.Fatal(err)
	}
	got, entry := do(t, e.Store, tk.ID, staff, task.Rework, task.Request{Note: "桶还是歪的"})
	if got.State != task.Dispatched || got.Worker != "w1" || got.Proposal != nil || entry.Worker != "w1" || entry.Grid != "g1" {
		t.Errorf("after rework: task %+v entry %+v, want dispatched to w1 again, proposal dropped", got, entry)
	}
	// The second round goes the same way, and this time the camera sends it back.
	for _, step := range path[2:5] {
		do(t, e.Store, tk.ID, step.by, step.act, step.req)
	}
	do(t, e.Store, tk.ID, staff, task.Verify, task.Request{})
	got, entry, err := e.CameraRework(ctx, tk.ID, task.Message{Text: "zone differs from its reference"}, "snap/still.jpg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != task.Dispatched || entry.From != task.Verified || entry.Source != task.ByCamera || entry.By != "camera:cam7" ||
		entry.Evidence == nil || entry.Evidence.Verdict != "zone differs from its reference" || entry.Evidence.Snapshot != "snap/still.jpg" {
		t.Errorf("camera rework: task %s entry %+v", got.State, entry)
	}
	tl, _ := e.Timeline(ctx, tk.ID)
	var acts []string
	for _, en := range tl {
		acts = append(acts, string(en.Action))
	}
	want := "create accept dispatch claim arrive submit propose rework claim arrive submit verify rework"
	if strings.Join(acts, " ") != want {
		t.Errorf("timeline %v, want %s", acts, want)
	}
}

func TestRedispatchMovesTheTaskToAnotherWorkerOrGrid(t *testing.T) {
	e := newEnv(t, defaultLimits)
	tk := inState(t, e.Store, task.Arrived)
	got, entry := do(t, e.Store, tk.ID, staff, task.Dispatch, task.Request{Worker: "w2", Grid: "g2", Note: "w1 下班了"})
	if got.State != task.Dispatched || got.Worker != "w2" || got.Grid != "g2" || entry.From != task.Arrived || entry.Worker != "w2" || entry.Grid != "g2" {
		t.Fatalf("re-dispatch: task %+v entry %+v", got, entry)
	}
	if _, _, err := e.Transition(ctx, tk.ID, w1, task.Claim, task.Request{}); !errors.Is(err, task.ErrForbidden) {
		t.Errorf("the first worker claims after re-dispatch: got %v, want ErrForbidden", err)
	}
	for _, tt := range []struct {
		f    task.Filter
		want int
	}{
		{task.Filter{Worker: "w1"}, 0}, {task.Filter{Worker: "w2"}, 1}, {task.Filter{Grid: "g1"}, 0}, {task.Filter{Grid: "g2"}, 1},
		{task.Filter{State: task.Arrived}, 0}, {task.Filter{State: task.Dispatched, Worker: "w2", Grid: "g2"}, 1},
	} {
		ts, total, err := e.List(ctx, tt.f)
		if err != nil || total != tt.want || len(ts) != tt.want {
			t.Errorf("List(%+v) = %d tasks, total %d, %v; want %d", tt.f, len(ts), total, err, tt.want)
		}
	}
	do(t, e.Store, tk.ID, w2, task.Claim, task.Request{})
	// w1 still sees nothing, w2 can go on.
	if got.Since[task.Dispatched] != tk.Since[task.Dispatched] {
		t.Errorf("since[dispatched] = %d, want the first dispatch %d", got.Since[task.Dispatched], tk.Since[task.Dispatched])
	}
}

func TestIncidentTaskOncePerIncidentAndAutoAccept(t *testing.T) {
	limits := defaultLimits
	limits.AutoAccept = []string{"camera_offline"}
	e := newEnv(t, limits)
	n := task.NewTask{Kind: "zone_changed", IncidentID: "0abc", Camera: "cam7", Zone: "垃圾桶", Grid: "g1", Location: place, Photo: "snap/i1.jpg"}
	first, err := e.Create(ctx, camera, n)
	if err != nil {
		t.Fatal(err)
	}
	if first.State != task.Reported || first.Source != task.FromIncident || first.Title != "区域异常 · 垃圾桶" || first.IncidentID != "0abc" {
		t.Errorf("from incident: %+v, want a reported incident task titled 区域异常 · 垃圾桶", first)
	}
	var wg sync.WaitGroup
	ids := make([]string, 5)
	for i := range ids {
		wg.Go(func() {
			tk, err := e.Create(ctx, camera, n)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = tk.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != first.ID {
			t.Errorf("incident created again gave %s, want the first task %s", id, first.ID)
		}
	}
	if _, total, _ := e.List(ctx, task.Filter{}); total != 1 {
		t.Errorf("%d tasks after six creations from one incident, want 1", total)
	}

	off, err := e.Create(ctx, task.SystemActor(), task.NewTask{Kind: "camera_offline", IncidentID: "0abd", Camera: "cam3", Grid: "g1"})
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := e.Timeline(ctx, off.ID)
	if off.State != task.Accepted || len(tl) != 2 || tl[1].Action != task.Accept || tl[1].By != "system" || tl[1].Source != task.BySystem ||
		tl[1].Note != "accepted automatically: camera_offline is in tasks.auto_accept" || tl[0].Source != task.BySystem {
		t.Errorf("auto-accepted task %+v timeline %+v", off, tl)
	}
	if ev := e.takeEvents(); len(ev) != 3 {
		t.Errorf("events %v, want create, then create and accept", ev)
	}

	staffTask, err := e.Create(ctx, staff, task.NewTask{Title: "井盖缺失", Grid: "g1", Accept: true})
	if err != nil || staffTask.State != task.Accepted || staffTask.Source != task.FromStaff || staffTask.Entries != 2 {
		t.Errorf("staff task with Accept: %+v %v, want accepted with 2 entries", staffTask, err)
	}
	patrol, err := e.Create(ctx, w1, task.NewTask{Title: "乱堆杂物", Grid: "g1"})
	if err != nil || patrol.State != task.Reported || patrol.Source != task.FromPatrol {
		t.Errorf("worker report: %+v %v, want a reported patrol task", patrol, err)
	}
}

func TestCameraStepsOnlyWhereTheyApply(t *testing.T) {
	e := newEnv(t, defaultLimits)
	dispatched := inState(t, e.Store, task.Dispatched)
	claimed := inState(t, e.Store, task.Claimed)
	arrived := inState(t, e.Store, task.Arrived)
	closed := inState(t, e.Store, task.Closed)
	noCam, _ := e.Create(ctx, staff, task.NewTask{Title: "x", Grid: "g1"})

	if _, _, err := e.CameraArrived(ctx, dispatched.ID, "p.jpg", e.clock.Now(), nil); !errors.Is(err, task.ErrConflict) {
		t.Errorf("camera arrival before the claim: got %v, want ErrConflict", err)
	}
	if _, _, err := e.CameraArrived(ctx, noCam.ID, "p.jpg", e.clock.Now(), nil); !errors.Is(err, task.ErrInvalid) {
		t.Errorf("camera arrival on a task without camera: got %v, want ErrInvalid", err)
	}
	if _, _, err := e.ProposeVerified(ctx, claimed.ID, "b", "a", task.Message{Text: "v"}, nil); !errors.Is(err, task.ErrConflict) {
		t.Errorf("proposal on a claimed task: got %v, want ErrConflict", err)
	}
	if _, _, err := e.ProposeVerified(ctx, arrived.ID, "b", "a", task.Message{Text: "v"}, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.ProposeVerified(ctx, arrived.ID, "b", "a", task.Message{Text: "v"}, nil)
	if want := "verification of task " + arrived.ID + " is already proposed"; !errors.Is(err, task.ErrConflict) || err.Error() != want {
		t.Errorf("second proposal: got %v, want %q", err, want)
	}
	// Submitting starts a new state: the camera may propose again.
	do(t, e.Store, arrived.ID, w1, task.Submit, goodRequest(task.Submit))
	if _, _, err := e.ProposeVerified(ctx, arrived.ID, "b2", "a2", task.Message{Text: "v2"}, nil); err != nil {
		t.Errorf("proposal after submission: %v", err)
	}
	if _, _, err := e.CameraRework(ctx, closed.ID, task.Message{Text: "differs"}, "s.jpg", nil); !errors.Is(err, task.ErrConflict) {
		t.Errorf("camera rework of a closed task: got %v, want ErrConflict", err)
	}

	w, err := e.Watching(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range w {
		got = append(got, fmt.Sprintf("%s/%s/%s/%s/%v", x.Camera, x.Zone, x.TaskID, x.State, x.Proposed))
	}
	want := []string{
		"cam7/垃圾桶/" + dispatched.ID + "/dispatched/false",
		"cam7/垃圾桶/" + claimed.ID + "/claimed/false",
		"cam7/垃圾桶/" + arrived.ID + "/submitted/true",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Watching\n got: %v\nwant: %v", got, want)
	}
	// The camera saw the person before the claim was stored: the arrival
	// is stamped no earlier than the claim.
	e.clock.Add(time.Minute)
	_, entry, err := e.CameraArrived(ctx, claimed.ID, "p.jpg", start.Add(-time.Hour), nil)
	if err != nil || entry.AtMS != claimed.StateMS {
		t.Errorf("early camera arrival: entry %+v %v, want it at the claim, %d", entry, err, claimed.StateMS)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	e := newEnv(t, defaultLimits)
	var ids []string
	for i := range 7 {
		n := bin
		if i%2 == 1 {
			n.Grid, n.Camera = "g2", "cam2"
		}
		tk, err := e.Create(ctx, resident, n)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
		e.clock.Add(time.Minute)
	}
	do(t, e.Store, ids[2], staff, task.Accept, task.Request{})
	do(t, e.Store, ids[4], staff, task.Accept, task.Request{})
	ms := func(i int) int64 { return start.Add(time.Duration(i) * time.Minute).UnixMilli() }
	for _, tt := range []struct {
		name  string
		f     task.Filter
		want  []string
		total int
	}{
		{"all, newest first", task.Filter{}, []string{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}, 7},
		{"a page", task.Filter{Limit: 2, Offset: 1}, []string{ids[5], ids[4]}, 7},
		{"by grid", task.Filter{Grid: "g2"}, []string{ids[5], ids[3], ids[1]}, 3},
		{"by camera", task.Filter{Camera: "cam7"}, []string{ids[6], ids[4], ids[2], ids[0]}, 4},
		{"by state", task.Filter{State: task.Accepted}, []string{ids[4], ids[2]}, 2},
		{"by reporter and time", task.Filter{Reporter: "r1", FromMS: ms(2), ToMS: ms(5)}, []string{ids[4], ids[3], ids[2]}, 3},
		{"state and grid, a page", task.Filter{State: task.Reported, Grid: "g1", Limit: 1, Offset: 1}, []string{ids[0]}, 2},
		{"by time only", task.Filter{FromMS: ms(6)}, []string{ids[6]}, 1},
		{"nobody", task.Filter{Worker: "w9"}, nil, 0},
	} {
		ts, total, err := e.List(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tk := range ts {
			got = append(got, tk.ID)
		}
		if !slices.Equal(got, tt.want) || total != tt.total {
			t.Errorf("%s: got %v total %d, want %v total %d", tt.name, got, total, tt.want, tt.total)
		}
	}
}

// TestRatingRules: the reporter rates their own closed task, a later
// rating replacing theirs; staff record a follow-up (回访) that counts when
// the reporter has not rated; nobody else rates (issue 14, finding 3: ten
// device tokens used to rate one task 1 star each, and all counted).
func TestRatingRules(t *testing.T) {
	e := newEnv(t, defaultLimits)
	verified := inStateBy(t, e.Store, resident, task.Verified)
	closed := inStateBy(t, e.Store, resident, task.Closed)
	_, _, err := e.Rate(ctx, verified.ID, resident, 5, "")
	if want := "only a closed task can be rated; task " + verified.ID + " is verified"; !errors.Is(err, task.ErrConflict) || err.Error() != want {
		t.Errorf("rating a verified task: got %v, want %q", err, want)
	}
	for _, stars := range []int{0, 6, -1} {
		if _, _, err := e.Rate(ctx, closed.ID, resident, stars, ""); !errors.Is(err, task.ErrInvalid) || err.Error() != fmt.Sprintf("a rating is 1 to 5 stars, not %d", stars) {
			t.Errorf("%d stars: got %v, want ErrInvalid", stars, err)
		}
	}
	for i := range 10 {
		other := task.Actor{ID: fmt.Sprintf("dev-%d", i), Role: task.Resident}
		if _, _, err := e.Rate(ctx, closed.ID, other, 1, ""); !errors.Is(err, task.ErrForbidden) {
			t.Fatalf("%s rating r1's report: got %v, want ErrForbidden", other.ID, err)
		}
	}
	if _, _, err := e.Rate(ctx, closed.ID, w1, 5, ""); !errors.Is(err, task.ErrForbidden) {
		t.Errorf("a worker rating: got %v, want ErrForbidden", err)
	}
	if _, _, err := e.Rate(ctx, "Tnope", resident, 5, ""); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("rating an unknown task: got %v, want ErrNotFound", err)
	}
	e.clock.Add(time.Second)
	if _, _, err := e.Rate(ctx, closed.ID, resident, 4, "不错"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Second)
	got, _, err := e.Rate(ctx, closed.ID, resident, 2, "改主意了")
	if err != nil || got.Ratings != (task.RatingSummary{Count: 1, Stars: 2, Good: 0, Mean: 2}) {
		t.Errorf("r1 rating again: %v, ratings %+v; want the new rating in place of the first", err, got.Ratings)
	}
	// a follow-up on a task its reporter rated: kept, the reporter's counts
	e.clock.Add(time.Second)
	got, entry, err := e.Rate(ctx, closed.ID, staff, 5, "电话回访")
	if err != nil || got.Ratings != (task.RatingSummary{Count: 1, Stars: 2, Mean: 2}) || entry.Note != "回访 电话回访" {
		t.Errorf("staff follow-up: %v, ratings %+v, entry %+v; want kept, the reporter's 2 stars still counted", err, got.Ratings, entry)
	}
	rs, err := e.Ratings(ctx, closed.ID)
	want := []task.Rating{
		{By: "r1", Stars: 2, Comment: "改主意了", AtMS: start.Add(2 * time.Second).UnixMilli()},
		{By: "staff1", Stars: 5, Comment: "电话回访", AtMS: start.Add(3 * time.Second).UnixMilli(), FollowUp: true},
	}
	if err != nil || !reflect.DeepEqual(rs, want) {
		t.Errorf("Ratings = %+v %v, want %+v", rs, err, want)
	}

	// a task nobody reported as a resident (staff's here, a camera's
	// alike): the follow-up is its rating, and a later one replaces it
	byStaff := inState(t, e.Store, task.Closed)
	if _, _, err := e.Rate(ctx, byStaff.ID, resident, 5, ""); !errors.Is(err, task.ErrForbidden) {
		t.Errorf("a resident rating staff's task: got %v, want ErrForbidden", err)
	}
	_, _, _ = e.Rate(ctx, byStaff.ID, admin, 1, "")
	got, _, err = e.Rate(ctx, byStaff.ID, staff, 5, "满意")
	if err != nil || got.Ratings != (task.RatingSummary{Count: 1, Stars: 5, Good: 1, Mean: 5}) {
		t.Errorf("follow-ups: %v, ratings %+v; want the last one counted", err, got.Ratings)
	}
}

func TestRestartLosesNothing(t *testing.T) {
	e := newEnv(t, defaultLimits)
	closed := inStateBy(t, e.Store, resident, task.Closed)
	if _, _, err := e.Rate(ctx, closed.ID, resident, 3, "一般"); err != nil {
		t.Fatal(err)
	}
	open := inState(t, e.Store, task.Claimed)
	do(t, e.Store, open.ID, w1, task.Arrive, task.Request{RequestID: "arr-1", Evidence: &task.Evidence{GPS: near}})

	before := snapshot(t, e.Store, closed.ID, open.ID)
	again := e.restart()
	after := snapshot(t, again, closed.ID, open.ID)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("after a restart\n got: %+v\nwant: %+v", after, before)
	}
	// The request id is remembered across the restart too.
	e.clock.Add(time.Minute)
	_, entry, err := again.Transition(ctx, open.ID, w1, task.Arrive, task.Request{RequestID: "arr-1", Evidence: &task.Evidence{GPS: near}})
	if err != nil || entry.Seq != 5 || entry.AtMS != start.UnixMilli() {
		t.Errorf("retry after restart: %+v %v, want the first arrival entry", entry, err)
	}
	// And the layout is the one documented, every key in the slot of {t}.
	for key, typ := range map[string]string{
		"task:{" + open.ID + "}": "hash", "task:{" + open.ID + "}:timeline": "stream", "task:{" + open.ID + "}:req:arr-1": "string",
		"task:{" + closed.ID + "}:ratings": "hash", "tasks:state:arrived": "zset", "tasks:grid:g1": "zset", "tasks:worker:w1": "zset",
		"tasks:reporter:staff1": "zset", "tasks:camera:cam7": "zset", "tasks:created": "zset", "tasks:due": "zset",
	} {
		if got, err := e.rdb.Type(ctx, e.prefix+"{t}:"+key).Result(); got != typ {
			t.Errorf("key %s is %q (%v), want %s", key, got, err, typ)
		}
	}
}

type stored struct {
	Tasks     []*task.Task
	Timelines [][]task.Entry
	Ratings   []task.Rating
	List      []*task.Task
	Total     int
	Watching  []task.Watch
	Stats     task.Stats
}

func snapshot(t *testing.T, s *task.Store, closed, open string) stored {
	t.Helper()
	var st stored
	for _, id := range []string{closed, open} {
		tk, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		tl, err := s.Timeline(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		st.Tasks, st.Timelines = append(st.Tasks, tk), append(st.Timelines, tl)
	}
	var err error
	if st.Ratings, err = s.Ratings(ctx, closed); err != nil {
		t.Fatal(err)
	}
	if st.List, st.Total, err = s.List(ctx, task.Filter{}); err != nil {
		t.Fatal(err)
	}
	if st.Watching, err = s.Watching(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Stats, err = s.Stats(ctx, task.StatsQuery{}); err != nil {
		t.Fatal(err)
	}
	if st.Total != 2 || len(st.Timelines[0]) != 9 || len(st.Watching) != 1 || st.Stats.Closed != 1 {
		t.Fatalf("unexpected store contents: %+v", st)
	}
	return st
}

func TestEveryIncidentKindHasATitle(t *testing.T) {
	for _, k := range configs.IncidentKinds {
		if task.KindTitles[k] == "" {
			t.Errorf("incident kind %s has no title in task.KindTitles", k)
		}
	}
	if len(task.KindTitles) != len(configs.IncidentKinds) {
		t.Errorf("KindTitles has %d kinds, configs.IncidentKinds %d", len(task.KindTitles), len(configs.IncidentKinds))
	}
}
