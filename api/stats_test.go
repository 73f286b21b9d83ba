package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"qianliyan/api"
	"qianliyan/configs"
	"qianliyan/task"
)

// shanghai is the center's zone in these tests (server.time_zone's default).
var shanghai = time.FixedZone("CST", 8*3600)

// seeded is one task of the seeded month, as planned: the oracle the
// figures are counted against by hand.
type seeded struct {
	day   int // of November 2026, in Asia/Shanghai
	grid  string
	kind  string // the source, or the incident's kind
	fate  int    // 0 closed on time and rated 5, 1 closed late and rated 2, 2 closed on time, 3 claimed, 4 rejected, 5 reported
	id    string
	start time.Time
}

// seedMonth writes a month of tasks through the store with explicit times
// (the store's clock): on day d of November 2026, 1 + d%3 tasks, created at
// 00:05, 12:00 and 23:55 in Asia/Shanghai (the first one on the day before
// in UTC). Task i goes to grid g1 when (i/3)%2 == 0, else g2; its fate is
// i%6; it is a resident's report, staff's entry or a loitering incident by
// i%3. Times per step: accept 2 min after the report, dispatch 3 min later,
// claim 5, arrive 10, submit 40 (on time) or 165 (late: 3 h after the
// dispatch, over the 2 h limit), verify 5, close 5, a follow-up rating 1.
func seedMonth(t *testing.T, b *bridge) []seeded {
	t.Helper()
	ctx := context.Background()
	staff := task.Actor{ID: "staff", Role: task.Staff}
	resident := task.Actor{ID: "resident", Role: task.Resident}
	place := task.Location{Lat: 33.52, Lng: 119.14}
	near := &task.GPS{Lat: 33.52, Lng: 119.14, AccuracyM: 5}
	var out []seeded
	i := 0
	for d := 1; d <= 30; d++ {
		for j := range 1 + d%3 {
			at := [3]time.Time{
				time.Date(2026, 11, d, 0, 5, 0, 0, shanghai),
				time.Date(2026, 11, d, 12, 0, 0, 0, shanghai),
				time.Date(2026, 11, d, 23, 55, 0, 0, shanghai),
			}[j]
			s := seeded{day: d, grid: []string{"g1", "g2"}[(i/3)%2], fate: i % 6, start: at}
			worker := task.Actor{ID: map[string]string{"g1": "worker1", "g2": "worker2"}[s.grid], Role: task.Worker, Grids: []string{s.grid}}
			b.clock.Set(at)
			n := task.NewTask{Title: fmt.Sprintf("任务 %d", i), Grid: s.grid, Location: place}
			var who task.Actor
			switch i % 3 {
			case 0:
				who, s.kind = resident, task.FromResident
			case 1:
				who, s.kind = staff, task.FromStaff
			default:
				who, s.kind = task.CameraActor("cam1"), configs.Loitering
				n.Kind, n.IncidentID, n.Camera, n.Zone = configs.Loitering, fmt.Sprintf("I%d", i), "cam1", fmt.Sprintf("z%d", i)
			}
			tk, err := b.store.Create(ctx, who, n)
			if err != nil {
				t.Fatal(err)
			}
			s.id = tk.ID
			step := func(after time.Duration, a task.Actor, act task.Action, req task.Request) {
				t.Helper()
				b.clock.Add(after)
				if _, _, err := b.store.Transition(ctx, s.id, a, act, req); err != nil {
					t.Fatalf("task %d (%s): %s: %v", i, s.id, act, err)
				}
			}
			switch s.fate {
			case 4:
				step(time.Minute, staff, task.Reject, task.Request{Note: "误报"})
			case 5:
			default:
				step(2*time.Minute, staff, task.Accept, task.Request{})
				step(3*time.Minute, staff, task.Dispatch, task.Request{Worker: worker.ID, Grid: s.grid})
				step(5*time.Minute, worker, task.Claim, task.Request{})
				if s.fate == 3 {
					break
				}
				step(10*time.Minute, worker, task.Arrive, task.Request{Evidence: &task.Evidence{GPS: near}})
				fix := 40 * time.Minute
				if s.fate == 1 {
					fix = 165 * time.Minute
				}
				step(fix, worker, task.Submit, task.Request{Evidence: &task.Evidence{Photo: "photo/fixed.jpg"}})
				step(5*time.Minute, staff, task.Verify, task.Request{})
				step(5*time.Minute, staff, task.Close, task.Request{})
				if stars := map[int]int{0: 5, 1: 2}[s.fate]; stars > 0 {
					b.clock.Add(time.Minute)
					if _, _, err := b.store.Rate(ctx, s.id, staff, stars, ""); err != nil {
						t.Fatal(err)
					}
				}
			}
			out = append(out, s)
			i++
		}
	}
	return out
}

// count is the figures of the seeded tasks that keep says, counted from the
// plan alone.
func count(tasks []seeded, keep func(seeded) bool) task.Figures {
	var f task.Figures
	for _, s := range tasks {
		if !keep(s) {
			continue
		}
		f.Received++
		switch s.fate {
		case 0, 1, 2:
			f.Dispatched++
			f.Closed++
			if s.fate != 1 {
				f.ClosedOnTime++
			}
			if s.fate != 2 {
				f.Rated++
			}
			if s.fate == 0 {
				f.Satisfied++
			}
		case 3:
			f.Dispatched++
			f.Open++
		case 4:
			f.Rejected++
		case 5:
			f.Open++
		}
	}
	div := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	f.DispatchRate, f.ClosingRate = div(f.Dispatched, f.Received), div(f.Closed, f.Received)
	f.OnTimeRate, f.SatisfactionRate = div(f.ClosedOnTime, f.Closed), div(f.Satisfied, f.Rated)
	return f
}

func statsServer(t *testing.T) (*bridge, []seeded) {
	t.Helper()
	cfg := taskConfig(t)
	cfg.Tasks.ResolveWithin = configs.Duration(2 * time.Hour)
	b := serve(t, cfg, withTasks(), withLogins())
	month := seedMonth(t, b)
	b.clock.Set(time.Date(2026, 11, 30, 20, 0, 0, 0, shanghai))
	return b, month
}

// TestStatsOfASeededMonth: over a month of tasks written with explicit
// times, GET /api/stats gives the figures counted by hand from the plan,
// for the whole center, per grid, per worker, per kind and per day of the
// center's time zone, with the times per stage and the definitions; the
// ranges today, 7d, 30d and custom select the center's days.
func TestStatsOfASeededMonth(t *testing.T) {
	b, month := statsServer(t)
	all := func(seeded) bool { return true }

	var st api.StatsResponse
	b.must(t, 200, "GET", "/api/stats?range=30d", "staff", nil, &st)
	// the plan's totals, by hand: 60 tasks, 10 of each fate
	want := task.Figures{Received: 60, Dispatched: 40, Closed: 30, ClosedOnTime: 20, Rejected: 10, Open: 20, Rated: 20, Satisfied: 10,
		DispatchRate: 40.0 / 60, ClosingRate: 0.5, OnTimeRate: 20.0 / 30, SatisfactionRate: 0.5}
	if st.Figures != want || count(month, all) != want {
		t.Errorf("figures of November =\n %+v\nwant (by hand)\n %+v", st.Figures, want)
	}
	if st.Range != (api.StatsRange{Name: "30d", From: "2026-11-01", To: "2026-11-30", Days: 30, TimeZone: "Asia/Shanghai"}) {
		t.Errorf("range = %+v, want 30 days from 2026-11-01 to 2026-11-30 in Asia/Shanghai", st.Range)
	}
	if st.Reported != 60 || st.Satisfaction.Count != 20 || st.Satisfaction.Mean != 3.5 {
		t.Errorf("reported %d, satisfaction %+v; want 60 and 20 ratings of mean (10×5+10×2)/20 = 3.5", st.Reported, st.Satisfaction)
	}

	groups := func(what string, got []task.Group, key func(seeded) string) {
		t.Helper()
		keys := map[string]bool{}
		for _, s := range month {
			keys[key(s)] = true
		}
		if len(got) != len(keys) {
			t.Errorf("%s: %d groups, want %d", what, len(got), len(keys))
		}
		for _, g := range got {
			if w := count(month, func(s seeded) bool { return key(s) == g.Key }); g.Figures != w {
				t.Errorf("%s %q =\n %+v\nwant\n %+v", what, g.Key, g.Figures, w)
			}
		}
	}
	groups("grid", st.ByGrid, func(s seeded) string { return s.grid })
	groups("kind", st.ByKind, func(s seeded) string { return s.kind })
	groups("worker", st.ByWorker, func(s seeded) string {
		if s.fate >= 4 {
			return "" // never dispatched
		}
		return map[string]string{"g1": "worker1", "g2": "worker2"}[s.grid]
	})
	if i := slices.IndexFunc(st.ByWorker, func(g task.Group) bool { return g.Key == "worker1" }); i < 0 || st.ByWorker[i].Name != "worker1" {
		t.Errorf("by worker = %+v, want worker1 named", st.ByWorker)
	}
	if len(st.Daily) != 30 {
		t.Fatalf("daily trend has %d days, want the 30 of November", len(st.Daily))
	}
	for i, d := range st.Daily {
		date := fmt.Sprintf("2026-11-%02d", i+1)
		w := count(month, func(s seeded) bool { return s.day == i+1 })
		if d.Date != date || d.Figures != w || d.FromMS != time.Date(2026, 11, i+1, 0, 0, 0, 0, shanghai).UnixMilli() {
			t.Errorf("day %d = %+v, want %s with %+v", i, d, date, w)
		}
	}
	if d := st.Daily[0]; d.Received != 2 { // 1 + 1%3: 00:05 and 12:00, the first on Oct 31 in UTC
		t.Errorf("2026-11-01 received %d tasks, want 2", d.Received)
	}

	stage := map[string]task.StageTime{}
	for _, s := range st.Stages {
		stage[s.Stage] = s
	}
	m := time.Minute.Milliseconds()
	for name, w := range map[string]task.StageTime{
		"accept":  {Stage: "accept", Count: 40, MedianMS: 2 * m, P90MS: 2 * m},
		"claim":   {Stage: "claim", Count: 40, MedianMS: 5 * m, P90MS: 5 * m},
		"resolve": {Stage: "resolve", Count: 30, MedianMS: 40 * m, P90MS: 165 * m}, // 20 × 40 min, 10 × 165: rank 27 is 165
		"total":   {Stage: "total", Count: 30, MedianMS: 70 * m, P90MS: 195 * m},   // 2+3+5+10+40+5+5; 165 instead of 40
	} {
		if stage[name] != w {
			t.Errorf("stage %s = %+v, want %+v", name, stage[name], w)
		}
	}
	if len(st.Definitions) != 7 || st.Definitions[4].Figure != "closing_rate" || !strings.Contains(st.Definitions[4].Zh, "办结 ÷ 受理") {
		t.Errorf("definitions = %+v, want 7 with closing_rate = 办结 ÷ 受理", st.Definitions)
	}

	for _, c := range []struct {
		query      string
		from, to   string
		days, want int
	}{
		{"", "2026-11-30", "2026-11-30", 1, 1},
		{"range=today", "2026-11-30", "2026-11-30", 1, 1},
		{"range=7d", "2026-11-24", "2026-11-30", 7, 1 + 2 + 3 + 1 + 2 + 3 + 1},
		{"range=custom&from=2026-11-10&to=2026-11-12", "2026-11-10", "2026-11-12", 3, 2 + 3 + 1},
		{"from=2026-11-01&to=2026-11-01", "2026-11-01", "2026-11-01", 1, 2},
		{"from=2026-10-01&to=2026-11-01&grid=g2", "2026-10-01", "2026-11-01", 32, 0}, // tasks 0, 1 are in g1
		{"range=30d&grid=g1", "2026-11-01", "2026-11-30", 30, 30},
	} {
		var r api.StatsResponse
		b.must(t, 200, "GET", "/api/stats?"+c.query, "staff", nil, &r)
		if r.Range.From != c.from || r.Range.To != c.to || r.Range.Days != c.days || r.Received != c.want || len(r.Daily) != c.days {
			t.Errorf("stats?%s: %+v, %d received, %d days in the trend; want %s to %s, %d days, %d received", c.query, r.Range, r.Received, len(r.Daily), c.from, c.to, c.days, c.want)
		}
	}
}

// TestStatsRefusesBadRanges: a bad period is a 400 with a sentence, and
// only the center sees the figures.
func TestStatsRefusesBadRanges(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withLogins())
	for _, c := range []struct{ query, want string }{
		{"range=custom&from=2026-11-30&to=2026-11-01", "from (2026-11-30) is after to (2026-11-01): the period starts on from and ends on to"},
		{"from=2025-01-01&to=2026-01-02", "the period from 2025-01-01 to 2026-01-02 is 367 days long; at most 366 days are allowed"},
		{"from=2026-13-01&to=2026-12-01", `from is "2026-13-01": a date is written YYYY-MM-DD, like 2026-11-30`},
		{"from=2026-11-01&to=30.11.2026", `to is "30.11.2026": a date is written YYYY-MM-DD, like 2026-11-30`},
		{"range=custom&from=2026-11-01", "a custom period needs to, a date like 2026-11-30"},
		{"range=90d", `range "90d" is not one of today, 7d, 30d, custom`},
		{"from_ms=5&to_ms=5", "from_ms (5) must be before to_ms (5)"},
	} {
		for _, path := range []string{"/api/stats?", "/api/stats/export?format=csv&"} {
			code, body := b.do(t, "GET", path+c.query, "staff", nil)
			wantError(t, path+c.query, code, body, 400, c.want)
		}
	}
	var ok api.StatsResponse
	b.must(t, 200, "GET", "/api/stats?from=2025-01-01&to=2026-01-01", "staff", nil, &ok) // 366 days: a leap year's worth
	code, body := b.do(t, "GET", "/api/stats/export?format=pdf", "staff", nil)
	wantError(t, "export as pdf", code, body, 400, `format "pdf" is not one of csv, xlsx`)
	for _, who := range []string{"worker1", "resident"} {
		for _, path := range []string{"/api/stats", "/api/stats/export?format=xlsx"} {
			code, body := b.do(t, "GET", path, who, nil)
			role := map[string]string{"worker1": "worker", "resident": "resident"}[who]
			wantError(t, who+" GET "+path, code, body, 403, fmt.Sprintf("this needs the role staff or admin; you are logged in as %s (%s)", who, role))
		}
	}
}

// exportOf downloads the export of query in format.
func exportOf(t *testing.T, b *bridge, format, query string) []byte {
	t.Helper()
	req := newRequest("GET", b.url+"/api/stats/export?format="+format+"&"+query, b.tokens["staff"], "")
	code, body := send(t, req)
	if code != 200 {
		t.Fatalf("export as %s = %d %s", format, code, body)
	}
	return []byte(body)
}

// figuresOf reads the figure columns of a table's row back, by the codes
// at the end of the header's cells.
func figuresOf(t *testing.T, header, row []string) task.Figures {
	t.Helper()
	at := map[string]string{}
	for i, h := range header {
		if i < len(row) {
			f := strings.Fields(h)
			at[f[len(f)-1]] = row[i]
		}
	}
	n := func(code string) int {
		v, err := strconv.Atoi(at[code])
		if err != nil {
			t.Errorf("%s = %q is not a count (%v)", code, at[code], err)
		}
		return v
	}
	x := func(code string) float64 {
		v, err := strconv.ParseFloat(at[code], 64)
		if err != nil {
			t.Errorf("%s = %q is not a number (%v)", code, at[code], err)
		}
		return v
	}
	return task.Figures{Received: n("received"), Dispatched: n("dispatched"), Closed: n("closed"), ClosedOnTime: n("closed_on_time"),
		Rejected: n("rejected"), Open: n("open"), Rated: n("rated"), Satisfied: n("satisfied"),
		DispatchRate: x("dispatch_rate"), ClosingRate: x("closing_rate"), OnTimeRate: x("on_time_rate"), SatisfactionRate: x("satisfaction_rate")}
}

// sameFigures compares figures read back from a file, whose rates may have
// passed through a decimal text.
func sameFigures(a, b task.Figures) bool {
	ra := []float64{a.DispatchRate, a.ClosingRate, a.OnTimeRate, a.SatisfactionRate}
	rb := []float64{b.DispatchRate, b.ClosingRate, b.OnTimeRate, b.SatisfactionRate}
	for i := range ra {
		if math.Abs(ra[i]-rb[i]) > 1e-12 {
			return false
		}
	}
	a.DispatchRate, a.ClosingRate, a.OnTimeRate, a.SatisfactionRate = 0, 0, 0, 0
	b.DispatchRate, b.ClosingRate, b.OnTimeRate, b.SatisfactionRate = 0, 0, 0, 0
	return a == b
}

// checkTables compares the tables of an export (by name: header and rows)
// with the JSON figures and the hand-counted ones.
func checkTables(t *testing.T, format string, tables map[string][][]string, st api.StatsResponse, month []seeded) {
	t.Helper()
	summary := tables["汇总 Summary"]
	if len(summary) < 18 {
		t.Fatalf("%s summary has %d rows: %q", format, len(summary), summary)
	}
	// the summary is a column of items: turn it into one header and one row
	var header, row []string
	for _, r := range summary[6:] {
		header, row = append(header, r[0]), append(row, r[1])
	}
	if got := figuresOf(t, header, row); !sameFigures(got, st.Figures) || !sameFigures(got, count(month, func(seeded) bool { return true })) {
		t.Errorf("%s summary = %+v\nJSON: %+v", format, got, st.Figures)
	}
	if summary[2][1] != "2026-11-01" || summary[3][1] != "2026-11-30" || summary[4][1] != "Asia/Shanghai" {
		t.Errorf("%s summary's period = %q", format, summary[1:5])
	}
	if r := summary[6+9]; !strings.HasPrefix(r[0], "办结率") || !strings.Contains(r[2], "办结 ÷ 受理") || !strings.Contains(r[3], "closed ÷ received") {
		t.Errorf("%s closing rate row = %q, want its definitions", format, r)
	}
	for name, groups := range map[string][]task.Group{"网格 Grids": st.ByGrid, "网格员 Workers": st.ByWorker, "类型 Kinds": st.ByKind} {
		rows := tables[name]
		if len(rows) != 1+len(groups) {
			t.Errorf("%s %s has %d rows, want a header and %d", format, name, len(rows), len(groups))
			continue
		}
		for i, g := range groups {
			if got := figuresOf(t, rows[0], rows[i+1]); rows[i+1][0] != g.Key || !sameFigures(got, g.Figures) {
				t.Errorf("%s %s row %d = %q, want %s %+v", format, name, i, rows[i+1], g.Key, g.Figures)
			}
		}
	}
	if g1 := tables["网格 Grids"]; len(g1) > 1 {
		key := g1[1][0]
		if w := count(month, func(s seeded) bool { return s.grid == key }); !sameFigures(figuresOf(t, g1[0], g1[1]), w) {
			t.Errorf("%s grid %s, against the hand count %+v", format, key, w)
		}
	}
	daily := tables["每日 Daily"]
	if len(daily) != 31 {
		t.Fatalf("%s daily has %d rows, want a header and 30 days", format, len(daily))
	}
	for i, d := range st.Daily {
		if got := figuresOf(t, daily[0], daily[i+1]); daily[i+1][0] != d.Date || !sameFigures(got, d.Figures) {
			t.Errorf("%s day %s = %q, want %+v", format, d.Date, daily[i+1], d.Figures)
		}
	}
	stages := tables["环节 Stages"]
	for i, s := range st.Stages {
		if r := stages[i+1]; r[0] != s.Stage || r[1] != strconv.Itoa(s.Count) || r[2] != cellFloat(float64(s.MedianMS)/1000) || r[3] != cellFloat(float64(s.P90MS)/1000) {
			t.Errorf("%s stage row %q, want %+v", format, r, s)
		}
	}
}

func cellFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// TestStatsExportsMatchThePage: the CSV and the XLSX export hold the very
// figures of GET /api/stats (read back with encoding/csv and excelize),
// which are those counted by hand.
func TestStatsExportsMatchThePage(t *testing.T) {
	b, month := statsServer(t)
	var st api.StatsResponse
	b.must(t, 200, "GET", "/api/stats?range=30d", "staff", nil, &st)

	res, err := http.DefaultClient.Do(newRequest("GET", b.url+"/api/stats/export?format=xlsx&range=30d", b.tokens["staff"], ""))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="qly-stats-2026-11-01_2026-11-30.xlsx"` {
		t.Errorf("Content-Disposition = %q", cd)
	}

	f, err := excelize.OpenReader(bytes.NewReader(exportOf(t, b, "xlsx", "range=30d")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []string{"汇总 Summary", "网格 Grids", "网格员 Workers", "类型 Kinds", "环节 Stages", "每日 Daily"}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	xlsx := map[string][][]string{}
	for _, name := range want {
		if xlsx[name], err = f.GetRows(name, excelize.Options{RawCellValue: true}); err != nil {
			t.Fatal(err)
		}
	}
	checkTables(t, "xlsx", xlsx, st, month)
	if shown, _ := f.GetCellValue("汇总 Summary", "B16"); shown != "50.0%" { // the closing rate, as Excel shows it
		t.Errorf("the closing rate shows as %q, want 50.0%%", shown)
	}

	raw := exportOf(t, b, "csv", "range=30d")
	body, ok := bytes.CutPrefix(raw, []byte("\uFEFF"))
	if !ok {
		t.Errorf("the CSV does not start with a byte order mark: %q", raw[:min(len(raw), 20)])
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	lines, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string][][]string{}
	var name string
	for _, l := range lines {
		if n, ok := strings.CutPrefix(l[0], "# "); ok && len(l) == 1 {
			name = n
			continue
		}
		tables[name] = append(tables[name], l)
	}
	if len(tables) != len(want) {
		t.Errorf("the CSV has the tables %v, want %q", slices.Collect(maps.Keys(tables)), want)
	}
	checkTables(t, "csv", tables, st, month)
}

// TestGridFiguresAreMetrics: /metrics on the operators' address has today's
// figures per grid (the center's day), labelled by grid alone.
func TestGridFiguresAreMetrics(t *testing.T) {
	b, _ := statsServer(t)
	b.clock.Set(time.Date(2026, 11, 29, 23, 59, 0, 0, shanghai))
	code, body := call(t, "GET", b.metrics+"/metrics", "", "")
	if code != 200 {
		t.Fatalf("GET /metrics = %d %s", code, body)
	}
	// 2026-11-29 has tasks 56 (g1, closed on time), 57 (g2, claimed) and
	// 58 (g2, rejected)
	for _, want := range []string{
		`qly_grid_tasks_received_today{grid="g1"} 1`, `qly_grid_tasks_received_today{grid="g2"} 2`,
		`qly_grid_tasks_closed_today{grid="g1"} 1`, `qly_grid_tasks_closed_today{grid="g2"} 0`,
		`qly_grid_tasks_closed_on_time_today{grid="g1"} 1`, `qly_grid_tasks_open_today{grid="g2"} 1`,
		`qly_grid_tasks_rejected_today{grid="g2"} 1`, `qly_grid_dispatch_rate_today{grid="g2"} 0.5`,
		`qly_grid_closing_rate_today{grid="g1"} 1`, `qly_grid_closing_rate_today{grid="g2"} 0`,
		"# TYPE qly_grid_closing_rate_today gauge",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "qly_grid_") && !strings.Contains(line, `{grid="`) || strings.Count(line, "=") > 1 && strings.HasPrefix(line, "qly_grid_") {
			t.Errorf("series %q has another label than grid", line)
		}
	}
}
