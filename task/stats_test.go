package task_test

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"qianliyan/task"
)

// plan is one task of the stats test: when it is created, in which grid,
// then each step after the one before.
type plan struct {
	created time.Duration
	grid    string
	steps   []planStep
	ratings []int // the reporter's, one after another: the last counts
}

type planStep struct {
	after time.Duration
	act   task.Action
}

// full goes the whole way with the given gaps (accept, dispatch, claim,
// arrive, submit, verify, close).
func full(gaps ...time.Duration) []planStep {
	acts := []task.Action{task.Accept, task.Dispatch, task.Claim, task.Arrive, task.Submit, task.Verify, task.Close}
	out := make([]planStep, len(gaps))
	for i, g := range gaps {
		out[i] = planStep{g, acts[i]}
	}
	return out
}

func TestStatsByHand(t *testing.T) {
	e := newEnv(t, defaultLimits)
	m := time.Minute
	plans := []plan{
		{0, "g1", full(1*m, 2*m, 1*m, 5*m, 10*m, 2*m, 1*m), []int{5, 3}},         // T1: total 22m
		{1 * m, "g1", full(3*m, 4*m, 2*m, 10*m, 20*m, 4*m, 3*m), []int{4}},       // T2: total 46m
		{2 * m, "g1", full(5*m, 1*m, 3*m, 15*m, 30*m, 6*m, 5*m), []int{2, 4, 5}}, // T3: total 65m
		{3 * m, "g1", full(2*m, 6*m), nil},                                       // T4: dispatched at 11m, never claimed
		{4 * m, "g1", []planStep{{m, task.Accept}, {m, task.Reject}}, nil},       // T5: accepted, then rejected
		{5 * m, "g1", []planStep{{m, task.Reject}}, nil},                         // T6: rejected at once
		{6 * m, "g1", nil, nil},                                                  // T7: still reported
		{10 * m, "g2", full(m, m, m, m, m, m, m), []int{1}},                      // T9: another grid
		{2 * time.Hour, "g1", nil, nil},                                          // T8: after the period
	}
	type ev struct {
		at   time.Duration
		task int
		act  task.Action
	}
	var evs []ev
	for i, p := range plans {
		at := p.created
		evs = append(evs, ev{at, i, task.Create})
		for _, s := range p.steps {
			at += s.after
			evs = append(evs, ev{at, i, s.act})
		}
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return int(a.at - b.at) })
	ids := make([]string, len(plans))
	reqs := map[task.Action]task.Request{}
	actorOf := map[task.Action]task.Actor{task.Reject: staff}
	for _, s := range path {
		reqs[s.act], actorOf[s.act] = s.req, s.by
	}
	reqs[task.Reject] = task.Request{Note: "duplicate"}
	for _, x := range evs {
		e.clock.Set(start.Add(x.at))
		if x.act == task.Create {
			n := bin
			n.Grid = plans[x.task].grid
			tk, err := e.Create(ctx, resident, n)
			if err != nil {
				t.Fatal(err)
			}
			ids[x.task] = tk.ID
			continue
		}
		w := task.Actor{ID: "w1", Role: task.Worker, Grids: []string{"g1", "g2"}}
		a, req := actorOf[x.act], reqs[x.act]
		if a.Role == task.Worker {
			a = w
		}
		if x.act == task.Dispatch {
			req.Grid = plans[x.task].grid
		}
		do(t, e.Store, ids[x.task], a, x.act, req)
	}
	e.clock.Set(start.Add(2*time.Hour + 30*m))
	for i, p := range plans {
		for j, stars := range p.ratings {
			e.clock.Add(time.Duration(j) * time.Second)
			if _, _, err := e.Rate(ctx, ids[i], resident, stars, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.clock.Set(start.Add(3 * time.Hour))
	if _, err := e.CheckDeadlines(ctx); err != nil { // T4's claim limit (16m) has passed
		t.Fatal(err)
	}

	got, err := e.Stats(ctx, task.StatsQuery{FromMS: start.UnixMilli(), ToMS: start.Add(time.Hour).UnixMilli(), Grid: "g1"})
	if err != nil {
		t.Fatal(err)
	}
	s := func(d time.Duration) int64 { return d.Milliseconds() }
	want := task.Stats{
		Query:    task.StatsQuery{FromMS: start.UnixMilli(), ToMS: start.Add(time.Hour).UnixMilli(), Grid: "g1"},
		TimeZone: "UTC",
		Figures: task.Figures{Received: 7, Dispatched: 4, Closed: 3, ClosedOnTime: 3, Rejected: 2, Open: 2, Rated: 3, Satisfied: 2,
			DispatchRate: 4.0 / 7,
			ClosingRate:  3.0 / 7, // 3 closed of all 7 received: open and rejected ones count too (issue 15)
			OnTimeRate:   1, SatisfactionRate: 2.0 / 3},
		Reported: 7, Accepted: 5,
		Stages: []task.StageTime{
			{"accept", 5, s(2 * m), s(5 * m)},    // 1 1 2 3 5
			{"dispatch", 4, s(3 * m), s(6 * m)},  // 1 2 4 6: median (2+4)/2
			{"claim", 3, s(2 * m), s(3 * m)},     // 1 2 3
			{"arrive", 3, s(10 * m), s(15 * m)},  // 5 10 15
			{"resolve", 3, s(20 * m), s(30 * m)}, // 10 20 30
			{"verify", 3, s(4 * m), s(6 * m)},    // 2 4 6
			{"close", 3, s(3 * m), s(5 * m)},     // 1 3 5
			{"total", 3, s(46 * m), s(65 * m)},   // 22 46 65
		},
		Overdue:      map[task.Stage]int{task.StageClaim: 1},
		Satisfaction: task.Satisfaction{Count: 3, Good: 2, Share: 2.0 / 3, Mean: 12.0 / 3}, // the last of each: 3 4 5
	}
	if g := got.ByGrid; len(g) != 1 || g[0].Key != "g1" || g[0].Figures != want.Figures {
		t.Errorf("stats of g1 by grid = %+v, want the one grid with the figures of the whole", g)
	}
	if d := got.Daily; len(d) != 1 || d[0].Date != "2025-06-01" || d[0].Figures != want.Figures {
		t.Errorf("daily trend of g1 = %+v, want one day 2025-06-01 with the figures of the whole", d)
	}
	got.ByGrid, got.ByWorker, got.ByKind, got.Daily = nil, nil, nil, nil // TestStatsOfASeededMonth checks them
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stats of g1\n got: %+v\nwant: %+v", got, want)
	}

	all, err := e.Stats(ctx, task.StatsQuery{FromMS: start.UnixMilli(), ToMS: start.Add(time.Hour).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	if all.Reported != 8 || all.Closed != 4 || all.ClosingRate != 0.5 || all.Satisfaction.Count != 4 ||
		math.Abs(all.Satisfaction.Mean-13.0/4) > 1e-12 || all.Stages[7].Count != 4 || all.Stages[7].MedianMS != s(34*m) {
		t.Errorf("stats of every grid: %+v\nwant 8 reported, 4 closed, rate 4/8, 4 ratings of mean 13/4, total median (22+46)/2 = 34m", all)
	}
	everything, err := e.Stats(ctx, task.StatsQuery{})
	if err != nil || everything.Reported != 9 || everything.Open != 3 {
		t.Errorf("stats without bounds: %+v %v, want all 9 tasks, 3 open", everything, err)
	}
	empty, err := e.Stats(ctx, task.StatsQuery{Grid: "g9"})
	if err != nil || empty.Reported != 0 || empty.ClosingRate != 0 || empty.Stages[0] != (task.StageTime{Stage: "accept"}) {
		t.Errorf("stats of an empty grid: %+v %v", empty, err)
	}
}
