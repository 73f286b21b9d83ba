package api_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"qianliyan/api"
	"qianliyan/task"
)

// boardSeed is five tasks, a minute apart from t0 (cam1 and cam2 in g1,
// cam3 in g2), and the clock at t0+10m:
//
//	staff    staff's task on cam1 (花巷口), reported, priority 1
//	resident a resident's report at 竹巷街12号 (g2), reported, priority 2
//	loiter   loitering on cam2, reported, priority 2
//	tamper   camera_tampered on cam3 (竹巷街), reported, priority 3
//	late     staff's task on cam2, dispatched to worker1 at t0+4m, so
//	         overdue (claim_within 5m) at t0+10m
type boardSeed struct{ staff, resident, loiter, tamper, late *task.Task }

func seedBoard(t *testing.T, b *bridge) boardSeed {
	t.Helper()
	ctx := context.Background()
	var s boardSeed
	s.staff = b.create(t, "staff", map[string]any{"title": "垃圾桶倒了", "camera": "cam1"})
	b.clock.Add(time.Minute)
	s.resident = b.report(t, "resident", map[string]any{"title": "路灯不亮", "location": map[string]any{"lat": 33.5301, "lng": 119.1481, "address": "竹巷街12号"}})
	b.clock.Add(time.Minute)
	var err error
	if s.loiter, err = b.store.Create(ctx, task.CameraActor("cam2"), task.NewTask{Kind: "loitering", IncidentID: "Iloiter", Camera: "cam2", Grid: "g1"}); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(time.Minute)
	if s.tamper, err = b.store.Create(ctx, task.CameraActor("cam3"), task.NewTask{Kind: "camera_tampered", IncidentID: "Itamper", Camera: "cam3", Grid: "g2"}); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(time.Minute)
	s.late = b.create(t, "staff", map[string]any{"title": "井盖松动", "camera": "cam2", "accept": true})
	b.move(t, "staff", s.late.ID, "dispatch", map[string]any{"worker": "worker1"})
	b.clock.Add(6 * time.Minute)
	return s
}

// board gets GET /api/tasks?query as staff.
func (b *bridge) board(t *testing.T, query string) task.Board {
	t.Helper()
	var out task.Board
	b.must(t, 200, "GET", "/api/tasks?"+query, "staff", nil, &out)
	return out
}

// cardIDs are the ids of a board page.
func cardIDs(bd task.Board) []string {
	ids := []string{}
	for _, c := range bd.Tasks {
		ids = append(ids, c.ID)
	}
	return ids
}

func ids(ts ...*task.Task) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func TestBoardOrdersFiltersAndCounts(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withLogins())
	s := seedBoard(t, b)
	if s.resident.Grid != "g2" || s.resident.Source != "resident" {
		t.Fatalf("the resident's report = %+v; want grid g2, source resident", s.resident)
	}
	open := "states=reported,accepted,dispatched,claimed,arrived,submitted,verified"
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"newest first", open + "&sort=newest", ids(s.late, s.tamper, s.loiter, s.resident, s.staff)},
		{"most urgent first: overdue, then priority, then the older", open + "&sort=urgent", ids(s.late, s.tamper, s.resident, s.loiter, s.staff)},
		{"one state", "states=dispatched", ids(s.late)},
		{"a grid from the indexes", "states=reported&grid=g1&sort=newest", ids(s.loiter, s.staff)},
		{"a grid, urgent", "states=reported&grid=g2&sort=urgent", ids(s.tamper, s.resident)},
		{"kind", open + "&kind=loitering", ids(s.loiter)},
		{"source", open + "&source=resident", ids(s.resident)},
		{"source incident", open + "&source=incident&sort=urgent", ids(s.tamper, s.loiter)},
		{"overdue", open + "&overdue=1", ids(s.late)},
		{"search a camera's name", open + "&q=" + url.QueryEscape("竹巷"), ids(s.tamper, s.resident)},
		{"search an address", open + "&q=" + url.QueryEscape("12号"), ids(s.resident)},
		{"search an id", open + "&q=" + strings.ToLower(s.staff.ID), ids(s.staff)},
		{"search the title", open + "&q=" + url.QueryEscape("井盖"), ids(s.late)},
		{"nothing found", open + "&q=nothing", []string{}},
	} {
		got := cardIDs(b.board(t, tc.query))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: GET /api/tasks?%s = %v\nwant %v", tc.name, tc.query, got, tc.want)
		}
	}

	// what the urgent order rests on comes with each card
	bd := b.board(t, open+"&sort=urgent")
	if c := bd.Tasks[0]; !c.Overdue || c.Priority != 1 {
		t.Errorf("the overdue card = overdue %v priority %d; want overdue, priority 1", c.Overdue, c.Priority)
	}
	if c := bd.Tasks[1]; c.Overdue || c.Priority != 3 {
		t.Errorf("the tampered camera's card = overdue %v priority %d; want not overdue, priority 3", c.Overdue, c.Priority)
	}
	// counts per state, in all and under the filters
	if bd.Total != 5 || bd.Counts[task.Reported] != 4 || bd.Counts[task.Dispatched] != 1 || bd.Counts[task.Accepted] != 0 {
		t.Errorf("counts = %d %v; want 5 in all, 4 reported, 1 dispatched, 0 accepted", bd.Total, bd.Counts)
	}
	if bd := b.board(t, open+"&grid=g1&sort=newest"); bd.Total != 3 || bd.Counts[task.Reported] != 2 || bd.Counts[task.Dispatched] != 1 {
		t.Errorf("counts of g1 = %d %v; want 3: 2 reported, 1 dispatched", bd.Total, bd.Counts)
	}
	var counts api.TaskCounts
	b.must(t, 200, "GET", "/api/tasks/counts?source=incident", "staff", nil, &counts)
	if counts.Total != 2 || counts.Counts[task.Reported] != 2 || counts.Counts[task.Closed] != 0 || len(counts.Counts) != len(task.States) {
		t.Errorf("GET /api/tasks/counts?source=incident = %+v; want 2 reported of every state's count", counts)
	}
	counts = api.TaskCounts{}
	b.must(t, 200, "GET", "/api/tasks/counts?states=reported,dispatched&grid=g2", "staff", nil, &counts)
	if counts.Total != 2 || counts.Counts[task.Reported] != 2 || counts.Counts[task.Dispatched] != 0 || len(counts.Counts) != 2 {
		t.Errorf("GET /api/tasks/counts of g2 = %+v; want 2 reported, 0 dispatched", counts)
	}

	// pages follow the cursor to the end, in both orders
	for _, tc := range []struct{ query, sort string }{{open, "newest"}, {open, "urgent"}, {"states=reported&grid=g1", "newest"}} {
		all := cardIDs(b.board(t, tc.query+"&sort="+tc.sort))
		var paged []string
		q := tc.query + "&sort=" + tc.sort + "&limit=2"
		for range 5 {
			bd := b.board(t, q)
			paged = append(paged, cardIDs(bd)...)
			if bd.Next == "" {
				break
			}
			q = tc.query + "&sort=" + tc.sort + "&limit=2&cursor=" + bd.Next
		}
		if !slices.Equal(paged, all) {
			t.Errorf("%s by %s in pages of 2 = %v; want %v", tc.query, tc.sort, paged, all)
		}
	}
	// a new task comes first in the newest order
	fresh := b.create(t, "staff", map[string]any{"title": "新的", "camera": "cam3"})
	if got := cardIDs(b.board(t, "states=reported&limit=1")); !slices.Equal(got, ids(fresh)) {
		t.Errorf("newest reported = %v; want the new task %s", got, fresh.ID)
	}
	// without board parameters, GET /api/tasks answers as before
	if got, total := b.list(t, "staff", "state=dispatched"); total != 1 || !slices.Equal(got, ids(s.late)) {
		t.Errorf("GET /api/tasks?state=dispatched = %v %d; want [%s] 1", got, total, s.late.ID)
	}
}

func TestBoardRefusesBadParamsAndOthersThanTheCenter(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withLogins())
	tk := b.create(t, "staff", map[string]any{"title": "垃圾桶倒了", "camera": "cam1"})
	bad := []struct{ query, msg string }{
		{"states=reported,done", `state "done" is not one of reported, accepted, rejected, dispatched, claimed, arrived, submitted, verified, closed`},
		{"sort=oldest", `sort "oldest" is not newest or urgent`},
		{"sort=newest&overdue=yes", `overdue is 1 or 0, not "yes"`},
		{"source=phone", `source "phone" is not one of incident, resident, patrol, staff`},
		{"kind=fire", `kind "fire" is not one of zone_changed, loitering, camera_tampered, camera_offline`},
		{"sort=urgent&limit=0", `limit must be a number from 1 to 500, not "0"`},
		{"sort=newest&grid=g9", `no grid "g9"; the grids are g1, g2`},
		{"sort=newest&cursor=xyz", `the cursor "xyz" is not one this board gave for the order newest: start again without it`},
		{"q=" + strings.Repeat("a", 101), "the search text is 101 characters long; at most 100 are allowed"},
	}
	for _, tc := range bad {
		code, body := b.do(t, "GET", "/api/tasks?"+tc.query, "staff", nil)
		wantError(t, "GET /api/tasks?"+tc.query, code, body, 400, tc.msg)
	}
	// a cursor of one order is no cursor of the other
	bd := b.board(t, "sort=urgent&limit=1&states=reported")
	b.create(t, "staff", map[string]any{"title": "另一个", "camera": "cam1"})
	if bd = b.board(t, "sort=urgent&limit=1&states=reported"); bd.Next == "" {
		t.Fatal("two reported tasks in pages of 1 give no next page")
	}
	code, body := b.do(t, "GET", "/api/tasks?sort=newest&cursor="+bd.Next, "staff", nil)
	wantError(t, "an urgent cursor in the newest order", code, body, 400, fmt.Sprintf("the cursor %q is not one this board gave for the order newest: start again without it", bd.Next))

	for _, who := range []string{"worker1", "resident"} {
		role := map[string]string{"worker1": "worker", "resident": "resident"}[who]
		want := fmt.Sprintf("this needs the role staff or admin; you are logged in as %s (%s)", who, role)
		code, body := b.do(t, "GET", "/api/tasks?sort=urgent", who, nil)
		wantError(t, who+" asks for the board", code, body, 403, want)
		code, body = b.do(t, "GET", "/api/tasks/counts", who, nil)
		wantError(t, who+" asks for the counts", code, body, 403, want)
		code, body = b.do(t, "POST", "/api/tasks/bulk", who, map[string]any{"ids": []string{tk.ID}, "action": "reject", "reason": "false_alarm"})
		wantError(t, who+" rejects in bulk", code, body, 403, want)
	}
	if st, _ := b.store.Get(context.Background(), tk.ID); st.State != task.Reported {
		t.Errorf("after refused bulk actions the task is %s; want reported", st.State)
	}
	for _, tc := range []struct {
		body any
		msg  string
	}{
		{map[string]any{"ids": []string{tk.ID}, "action": "close"}, `action must be reject or merge, not "close"`},
		{map[string]any{"ids": []string{tk.ID}, "action": "reject"}, `reason must be false_alarm or duplicate to reject, not ""`},
		{map[string]any{"ids": []string{tk.ID}, "action": "reject", "reason": "boring"}, `reason must be false_alarm or duplicate to reject, not "boring"`},
		{map[string]any{"ids": []string{}, "action": "reject", "reason": "duplicate"}, "ids names no task: give the ids of the tasks to reject"},
		{map[string]any{"ids": slices.Repeat([]string{"T"}, 1), "action": "merge"}, "a merge needs two tasks or more, or the task to merge into (into)"},
		{map[string]any{"ids": []string{tk.ID}, "action": "merge", "into": tk.ID}, "a task cannot be merged into itself: give other tasks than " + tk.ID},
		{map[string]any{"ids": manyIDs(101), "action": "reject", "reason": "duplicate"}, "101 tasks are more than one bulk action takes (100)"},
		{`{"ids": "T1"}`, `the field "ids" must be a list, not string; send JSON like {"ids": ["T…", "T…"], "action": "reject", "reason": "false_alarm", "note": "…"}`},
	} {
		code, body := b.do(t, "POST", "/api/tasks/bulk", "staff", tc.body)
		wantError(t, fmt.Sprint("bulk ", tc.body), code, body, 400, tc.msg)
	}
	code, body = b.do(t, "POST", "/api/tasks/bulk", "staff", map[string]any{"ids": []string{tk.ID}, "action": "merge", "into": "T404"})
	wantError(t, "a merge into no task", code, body, 404, `no task "T404"`)
}

func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("T%03d", i)
	}
	return out
}

func TestBulkRejectAndMerge(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withLogins())
	s := seedBoard(t, b)
	var ans api.BulkAnswer
	b.must(t, 200, "POST", "/api/tasks/bulk", "staff", map[string]any{"ids": ids(s.staff, s.loiter), "action": "reject", "reason": "false_alarm", "note": "风吹的"}, &ans)
	if ans.Done != 2 || ans.Failed != 0 || !ans.Results[0].OK || ans.Results[1].State != task.Rejected {
		t.Errorf("bulk reject = %+v; want both rejected", ans)
	}
	var d api.TaskDetail
	b.must(t, 200, "GET", "/api/tasks/"+s.loiter.ID, "staff", nil, &d)
	if e := d.Timeline[len(d.Timeline)-1]; e.Action != task.Reject || e.Reason != task.RejectFalseAlarm || e.Note != "风吹的" || e.By != "staff" {
		t.Errorf("the rejection's entry = %+v; want reject by staff, reason false_alarm, note 风吹的", e)
	}
	// the board moves them: no longer reported, counted as rejected
	var counts api.TaskCounts
	b.must(t, 200, "GET", "/api/tasks/counts", "staff", nil, &counts)
	if counts.Counts[task.Reported] != 2 || counts.Counts[task.Rejected] != 2 {
		t.Errorf("counts after the bulk reject = %v; want 2 reported, 2 rejected", counts.Counts)
	}

	// a partial failure answers per id; the others are done
	ans = api.BulkAnswer{}
	b.must(t, 200, "POST", "/api/tasks/bulk", "staff", map[string]any{"ids": []string{s.staff.ID, "T404", s.resident.ID}, "action": "reject", "reason": "duplicate"}, &ans)
	if ans.Done != 1 || ans.Failed != 2 {
		t.Errorf("bulk reject of a rejected, a missing and a reported task = %+v; want 1 done, 2 failed", ans)
	}
	want := []api.BulkResult{
		{ID: s.staff.ID, Code: 409, Error: "cannot reject a task that is rejected; allowed: none"},
		{ID: "T404", Code: 404, Error: `no task "T404"`},
		{ID: s.resident.ID, OK: true, State: task.Rejected},
	}
	for i, w := range want {
		if i >= len(ans.Results) || ans.Results[i].ID != w.ID || ans.Results[i].OK != w.OK || ans.Results[i].Code != w.Code || ans.Results[i].State != w.State || ans.Results[i].Error != w.Error {
			t.Errorf("result %d = %+v; want %+v", i, ans.Results, w)
			break
		}
	}

	// merge: the tampered camera's task and the late one into the oldest
	// of them (the first report keeps the history)
	ans = api.BulkAnswer{}
	b.must(t, 200, "POST", "/api/tasks/bulk", "staff", map[string]any{"ids": ids(s.late, s.tamper), "action": "merge", "note": "同一处"}, &ans)
	if ans.Into != s.tamper.ID || ans.Done != 1 || ans.Results[0].ID != s.late.ID || ans.Results[0].State != task.Rejected {
		t.Errorf("bulk merge = %+v; want %s merged into %s", ans, s.late.ID, s.tamper.ID)
	}
	d = api.TaskDetail{}
	b.must(t, 200, "GET", "/api/tasks/"+s.late.ID, "staff", nil, &d)
	if d.Task.DuplicateOf != s.tamper.ID {
		t.Errorf("the merged task's duplicate_of = %q; want %s", d.Task.DuplicateOf, s.tamper.ID)
	}
	d = api.TaskDetail{}
	b.must(t, 200, "GET", "/api/tasks/"+s.tamper.ID, "staff", nil, &d)
	if e := d.Timeline[len(d.Timeline)-1]; e.Action != task.Join || e.Other != s.late.ID {
		t.Errorf("the kept task's last entry = %+v; want join of %s", e, s.late.ID)
	}
	// a merge into a rejected task is refused per id
	ans = api.BulkAnswer{}
	b.must(t, 200, "POST", "/api/tasks/bulk", "staff", map[string]any{"ids": ids(s.tamper), "action": "merge", "into": s.staff.ID}, &ans)
	if ans.Failed != 1 || ans.Results[0].Code != 409 {
		t.Errorf("merge into a rejected task = %+v; want 409", ans)
	}
}
