package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"qianliyan/configs"
	"qianliyan/internal/testenv"
	"qianliyan/task"
)

// seedTenDays writes 20 tasks into the bridge's Redis through the task
// store, with explicit times: on each of the last 10 days of the center
// (Asia/Shanghai), one in grid hexia-01 at 09:00 and one in hexia-02 at
// 10:00; the hexia-01 task of every other day (today, 2, 4, 6 and 8 days
// ago) goes the whole way to closed in 50 minutes and is rated 5 stars.
func seedTenDays(t *testing.T, prefix string) {
	t.Helper()
	zone := time.FixedZone("CST", 8*3600)
	now := time.Now().In(zone)
	clock := testenv.NewClock(now)
	s := storeUnder(t, prefix, configs.Tasks{ResolveWithin: configs.Duration(24 * time.Hour), ArriveRadiusM: 50}, clock)
	ctx := context.Background()
	staff := task.Actor{ID: "staff1", Role: task.Staff}
	worker := task.Actor{ID: "worker1", Role: task.Worker, Grids: []string{"hexia-01"}}
	for k := range 10 {
		day := time.Date(now.Year(), now.Month(), now.Day()-k, 9, 0, 0, 0, zone)
		for i, grid := range []string{"hexia-01", "hexia-02"} {
			clock.Set(day.Add(time.Duration(i) * time.Hour))
			tk, err := s.Create(ctx, staff, task.NewTask{Title: fmt.Sprintf("第%d天 %s", k, grid), Grid: grid, Accept: true})
			if err != nil {
				t.Fatal(err)
			}
			if grid != "hexia-01" || k%2 != 0 {
				continue
			}
			for _, st := range []struct {
				by  task.Actor
				act task.Action
				req task.Request
			}{
				{staff, task.Dispatch, task.Request{Worker: "worker1"}},
				{worker, task.Claim, task.Request{}},
				{worker, task.Arrive, task.Request{Evidence: &task.Evidence{GPS: &task.GPS{Lat: 33.5, Lng: 119.1}}}},
				{worker, task.Submit, task.Request{Evidence: &task.Evidence{Photo: "photo/fixed.jpg"}}},
				{staff, task.Verify, task.Request{}},
				{staff, task.Close, task.Request{}},
			} {
				clock.Add(5 * time.Minute)
				if _, _, err := s.Transition(ctx, tk.ID, st.by, st.act, st.req); err != nil {
					t.Fatalf("%s of %s: %v", st.act, tk.ID, err)
				}
			}
			if _, _, err := s.Rate(ctx, tk.ID, staff, 5, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestChromiumStatsPageShowsFiguresAndCharts: /stats?range=30d at
// 1920x1080 shows the figures of GET /api/stats (those of the seeded
// tasks, counted by hand) with their definitions next to them, the tables,
// both charts drawn (canvases with inked pixels) and a working Excel
// export, in Chinese and then in English. Screenshots:
// tests/browser/artifacts/stats.png and stats-en.png.
func TestChromiumStatsPageShowsFiguresAndCharts(t *testing.T) {
	br := startBridge(t, []cameraSpec{{id: "cam1", url: "rtsp://127.0.0.1:1/none", offline: true}}, "")
	seedTenDays(t, br.Prefix)

	var api struct {
		Received    int     `json:"received"`
		Closed      int     `json:"closed"`
		ClosingRate float64 `json:"closing_rate"`
		ByGrid      []struct {
			Key string `json:"key"`
		} `json:"by_grid"`
	}
	body := br.staffGet("/api/stats?range=30d")
	status, js, _ := strings.Cut(body, " OK ")
	if status != "200" || json.Unmarshal([]byte(js), &api) != nil {
		t.Fatalf("GET /api/stats?range=30d = %s", body)
	}
	if api.Received != 20 || api.Closed != 5 || api.ClosingRate != 0.25 || len(api.ByGrid) != 2 {
		t.Fatalf("API figures = %+v; want 20 received, 5 closed, closing rate 0.25, 2 grids", api)
	}

	type fig struct{ Name, Value, Def string }
	type view struct {
		Figures map[string]fig
		Grids   [][]string
		Workers int
		Kinds   int
		Stages  [][]string
		Period  string
		Fits    bool
	}
	var res struct {
		Zh, En view
		// Custom is the page after a period the wrong way round (Refused:
		// what it said) and then today alone as a custom period.
		Custom struct {
			view
			Refused, Address string
		}
		Ink map[string]struct{ Canvases, Ink int }
		// Download is the Excel file the export button saved, or nil.
		Download *struct {
			Name  string
			Bytes int
		}
	}
	runScenario(t, &res, "stats", br.URL, artifacts(t), staffToken, "range=30d")

	want := map[string][2]string{ // figure: its value on the page, its name in zh-CN
		"received": {"20", "受理"}, "dispatched": {"5", "交办"}, "closed": {"5", "办结"},
		"dispatch_rate": {"25.0%", "交办率"}, "closing_rate": {"25.0%", "办结率"}, "on_time_rate": {"100.0%", "按时办结率"},
		"satisfaction_rate": {"100.0%", "回访满意度"},
	}
	for key, w := range want {
		f := res.Zh.Figures[key]
		if f.Value != w[0] || f.Name != w[1] || !strings.Contains(f.Def, w[1]) {
			t.Errorf("figure %s on the page = %+v; want %s %s with its definition", key, f, w[1], w[0])
		}
	}
	if d := res.Zh.Figures["closing_rate"].Def; !strings.Contains(d, "办结 ÷ 受理") {
		t.Errorf("closing rate's definition = %q", d)
	}
	if en := res.En.Figures["closing_rate"]; en.Name != "Closing rate" || !strings.Contains(en.Def, "closed ÷ received") || en.Value != "25.0%" {
		t.Errorf("closing rate in English = %+v", en)
	}
	if len(res.Zh.Grids) != 2 || res.Zh.Grids[0][0] != "hexia-01" || res.Zh.Grids[0][1] != "10" || res.Zh.Grids[0][3] != "5" || res.Zh.Grids[0][5] != "50.0%" {
		t.Errorf("table per grid = %q; want hexia-01 first: 10 received, 5 closed, 50.0%%", res.Zh.Grids)
	}
	if res.Zh.Workers != 2 || res.Zh.Kinds != 1 || len(res.Zh.Stages) != 8 || res.Zh.Stages[2][0] != "签收" || res.Zh.Stages[2][2] != "5分00秒" {
		t.Errorf("workers %d (want worker1 and nobody), kinds %d (want staff), stages %q (want 8, claim 5 min)", res.Zh.Workers, res.Zh.Kinds, res.Zh.Stages)
	}
	if !res.Zh.Fits {
		t.Errorf("the page is wider than 1920 px")
	}
	for _, id := range []string{"trend", "grid-bars"} {
		// axes, labels and bars: thousands of pixels; a blank canvas has none
		if c := res.Ink[id]; c.Canvases == 0 || c.Ink < 2000 {
			t.Errorf("chart #%s: %d canvases with %d inked pixels, want a drawn chart", id, c.Canvases, c.Ink)
		}
	}
	if res.Download == nil || !strings.HasSuffix(res.Download.Name, ".xlsx") || res.Download.Bytes < 5000 {
		t.Errorf("the Excel export saved %+v", res.Download)
	}
	if res.Custom.Refused != "起始日期晚于结束日期" {
		t.Errorf("a period from after to says %q, want 起始日期晚于结束日期", res.Custom.Refused)
	}
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	if got := res.Custom.Figures["received"].Value; got != "2" || !strings.Contains(res.Custom.Address, "range=custom&from="+today+"&to="+today) {
		t.Errorf("custom period today: %s received at %s; want 2 and the period in the address", got, res.Custom.Address)
	}
	for _, name := range []string{"stats.png", "stats-en.png"} {
		if fi, err := os.Stat(filepath.Join(artifacts(t), name)); err != nil || fi.Size() < 10000 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
}
