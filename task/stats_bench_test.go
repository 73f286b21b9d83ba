package task_test

import (
	"fmt"
	"testing"
	"time"

	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
	"qianliyan/task"
)

// BenchmarkStatsMonth: the figures of a month of 3000 tasks (100 a day in
// 8 grids; half closed the whole way, rated; the rest reported, rejected,
// dispatched or claimed), as GET /api/stats?range=30d computes them: per
// grid, worker, kind and day, and the stage percentiles. It reports the
// tasks per second the statistics read.
func BenchmarkStatsMonth(b *testing.B) {
	rdb, prefix := redistest.Client(b, "statsbench")
	clock := testenv.NewClock(start)
	s := task.NewStore(rdb, prefix, defaultLimits, clock.Now)
	const days, perDay = 30, 100
	day0 := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	for i := range days * perDay {
		clock.Set(day0.Add(time.Duration(i/perDay)*24*time.Hour + 8*time.Hour + time.Duration(i%perDay)*8*time.Minute)) // 08:00 to 21:12
		grid := fmt.Sprintf("g%d", i%8)
		tk, err := s.Create(ctx, staff, task.NewTask{Title: "垃圾桶倒了", Grid: grid, Location: place})
		if err != nil {
			b.Fatal(err)
		}
		worker := task.Actor{ID: fmt.Sprintf("w%d", i%24), Role: task.Worker, Grids: []string{grid}}
		steps := []struct {
			by  task.Actor
			act task.Action
			req task.Request
		}{
			{staff, task.Accept, task.Request{}},
			{staff, task.Dispatch, task.Request{Worker: worker.ID}},
			{worker, task.Claim, task.Request{}},
			{worker, task.Arrive, task.Request{Evidence: &task.Evidence{GPS: near}}},
			{worker, task.Submit, task.Request{Evidence: &task.Evidence{Photo: "photo/fixed.jpg"}}},
			{staff, task.Verify, task.Request{}},
			{staff, task.Close, task.Request{}},
		}
		// the fate: 0 reported, 1 rejected, 2 dispatched, 3 claimed, 4-7 closed
		fate := (i / 8) % 8
		n := min(fate, len(steps)) // 2: accept, dispatch; 3: and claim
		switch {
		case fate == 1:
			steps[0].act, steps[0].req = task.Reject, task.Request{Note: "重复"}
		case fate >= 4:
			n = len(steps)
		}
		for _, st := range steps[:n] {
			clock.Add(7 * time.Minute)
			if _, _, err := s.Transition(ctx, tk.ID, st.by, st.act, st.req); err != nil {
				b.Fatal(err)
			}
		}
		if n == len(steps) {
			if _, _, err := s.Rate(ctx, tk.ID, staff, 3+i%3, ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	q := task.StatsQuery{FromMS: day0.UnixMilli(), ToMS: day0.AddDate(0, 0, days).UnixMilli(), Zone: time.UTC}
	b.ResetTimer()
	for b.Loop() {
		st, err := s.Stats(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if st.Received != days*perDay || len(st.Daily) != days || len(st.ByGrid) != 8 {
			b.Fatalf("stats of the month: %d received, %d days, %d grids", st.Received, len(st.Daily), len(st.ByGrid))
		}
	}
	b.ReportMetric(float64(days*perDay*b.N)/b.Elapsed().Seconds(), "tasks/s")
}
