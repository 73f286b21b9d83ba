package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"qianliyan/configs"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
	"qianliyan/task"
)

// storeUnder is a task store on the bridge's Redis keys under prefix, for
// seeding them; the keys go when the test ends.
func storeUnder(t *testing.T, prefix string, limits configs.Tasks, clock *testenv.Clock) *task.Store {
	t.Helper()
	rdb := redistest.Connect(t)
	t.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})
	return task.NewStore(rdb, prefix, limits, clock.Now)
}

// boardTasks are the tasks seedBoard writes, a few minutes apart up to now.
type boardTasks struct {
	staff, resident, loiter, tamper, late, accepted string
}

// seedBoard writes six tasks into the bridge's Redis through the task
// store: four reported (a staff task on cam1 20 min ago; a resident's
// report in grid hexia-02 15 min ago; loitering on cam2 10 min ago; a
// covered cam1 5 min ago), one dispatched 12 min ago (so past the default
// claim limit of 5 min) and one accepted 8 min ago.
func seedBoard(t *testing.T, prefix string) boardTasks {
	t.Helper()
	now := time.Now()
	clock := testenv.NewClock(now)
	s := storeUnder(t, prefix, configs.Tasks{ClaimWithin: configs.Duration(5 * time.Minute)}, clock)
	ctx := context.Background()
	staff := task.Actor{ID: "staff1", Role: task.Staff}
	create := func(ago time.Duration, a task.Actor, n task.NewTask) string {
		t.Helper()
		clock.Set(now.Add(-ago))
		tk, err := s.Create(ctx, a, n)
		if err != nil {
			t.Fatal(err)
		}
		return tk.ID
	}
	var b boardTasks
	b.staff = create(20*time.Minute, staff, task.NewTask{Title: "垃圾桶倒了", Camera: "cam1", Grid: "hexia-01"})
	b.resident = create(15*time.Minute, task.Actor{ID: "resident1", Role: task.Resident},
		task.NewTask{Title: "路灯不亮", Grid: "hexia-02", Location: task.Location{Lat: 33.53, Lng: 119.148, Address: "竹巷街12号"}})
	b.late = create(12*time.Minute, staff, task.NewTask{Title: "井盖松动", Camera: "cam2", Grid: "hexia-01", Accept: true})
	if _, _, err := s.Transition(ctx, b.late, staff, task.Dispatch, task.Request{Worker: "worker1"}); err != nil {
		t.Fatal(err)
	}
	b.loiter = create(10*time.Minute, task.CameraActor("cam2"), task.NewTask{Kind: configs.Loitering, IncidentID: "Iboard-loiter", Camera: "cam2", Grid: "hexia-01"})
	b.accepted = create(8*time.Minute, staff, task.NewTask{Title: "占道经营", Camera: "cam1", Grid: "hexia-01", Accept: true})
	b.tamper = create(5*time.Minute, task.CameraActor("cam1"), task.NewTask{Kind: configs.CameraTampered, IncidentID: "Iboard-tamper", Camera: "cam1", Grid: "hexia-01"})
	return b
}

// tileLook is where a wall tile's status badge starts (a share of the
// tile's width), the tile's width to height, and how its video fits.
type tileLook struct {
	Left, Aspect  float64
	Fit, Position string
}

// TestChromiumBoardOrdersFiltersAndRejectsInBulk: /board at 1920x1080
// shows the seeded tasks in their columns with their counts, newest first
// and then most urgent first; the source filter narrows them to the
// resident's report; a bulk reject (误报) of two ticked cards moves them
// off the reported column (the store has them rejected as false alarms);
// an open task is in the address, survives a reload and closes on back.
// The wall at 1920x1080 still decodes its cameras' frames, with the ticker
// of the newest open tasks under them (a click opens one, a reload keeps
// it) and the status badges off the cameras' own top-left label.
// Screenshots: tests/browser/artifacts/board*.png.
func TestChromiumBoardOrdersFiltersAndRejectsInBulk(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "2")
	br := startBridge(t, []cameraSpec{{id: "cam1", url: cam.URL(1)}, {id: "cam2", url: cam.URL(2)}}, "")
	s := seedBoard(t, br.Prefix)

	newest := []string{s.tamper, s.loiter, s.resident, s.staff}
	urgent := []string{s.tamper, s.resident, s.loiter, s.staff} // priority 3, then 2 (the older first), then 1
	ids := map[string]any{"reported": newest, "urgent": urgent, "bulk": []string{s.staff, s.loiter}, "open": s.tamper}
	idsFile := filepath.Join(t.TempDir(), "ids.json")
	data, _ := json.Marshal(ids)
	if err := os.WriteFile(idsFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	type column struct {
		Count int
		IDs   []string
	}
	var res struct {
		Newest, Urgent, Filtered map[string]column
		AfterBulk                map[string]column `json:"after_bulk"`
		Fits                     bool
		Stats                    int
		UrgentAddress            string `json:"urgent_address"`
		FilteredAddress          string `json:"filtered_address"`
		BulkCount                string `json:"bulk_count"`
		BulkNote                 string `json:"bulk_note"`
		OpenedAddress            string `json:"opened_address"`
		Reopened                 bool
		ReopenedFilters          string `json:"reopened_filters"`
		BackClosed               bool   `json:"back_closed"`
		BackAddress              string `json:"back_address"`
		En                       struct{ Reported, Bars string }
		WallTiles                []struct {
			Camera        string
			Frames, Width int
			Status        string
		} `json:"wall_tiles"`
		Ticker struct {
			IDs        []string
			Count      int
			Link       string
			Height     float64
			WallHeight float64 `json:"wall_height"`
		}
		// the tiles with the incident panel open, then closed
		Badges       []tileLook
		BadgesWide   []tileLook `json:"badges_wide"`
		WallOpened   bool       `json:"wall_opened"`
		WallAddress  string     `json:"wall_address"`
		WallReopened bool       `json:"wall_reopened"`
		Errors       []string
	}
	runScenario(t, &res, "board", br.URL, artifacts(t), staffToken, idsFile)

	if len(res.Errors) > 0 {
		t.Errorf("the pages threw: %v", res.Errors)
	}
	wantCols := map[string]column{
		"reported": {4, newest}, "accepted": {1, []string{s.accepted}}, "dispatched": {1, []string{s.late}}, "claimed": {0, []string{}},
	}
	for st, w := range wantCols {
		if got := res.Newest[st]; got.Count != w.Count || !slices.Equal(got.IDs, w.IDs) {
			t.Errorf("column %s newest first = %d %v; want %d %v", st, got.Count, got.IDs, w.Count, w.IDs)
		}
	}
	if !res.Fits || res.Stats == 0 {
		t.Errorf("the board fits 1920x1080: %v, today's figures shown: %d; want both", res.Fits, res.Stats)
	}
	if got := res.Urgent["reported"]; !slices.Equal(got.IDs, urgent) || !strings.Contains(res.UrgentAddress, "sort=urgent") {
		t.Errorf("reported most urgent first = %v at %s; want %v and sort=urgent in the address", got.IDs, res.UrgentAddress, urgent)
	}
	if got := res.Filtered["reported"]; got.Count != 1 || !slices.Equal(got.IDs, []string{s.resident}) || res.Filtered["dispatched"].Count != 0 ||
		!strings.Contains(res.FilteredAddress, "source=resident") {
		t.Errorf("filtered by source resident = %+v at %s; want the resident's report alone", res.Filtered, res.FilteredAddress)
	}
	if got := res.AfterBulk["reported"]; got.Count != 2 || !slices.Equal(got.IDs, []string{s.tamper, s.resident}) || res.BulkCount != "已选 2 条" || res.BulkNote != "完成 2 条，失败 0 条" {
		t.Errorf("after the bulk reject of 2 (%q, %q) reported = %+v; want the tamper and the resident's report, urgent first", res.BulkCount, res.BulkNote, got)
	}
	for _, id := range []string{s.staff, s.loiter} {
		body := br.staffGet("/api/tasks/" + id)
		if !strings.Contains(body, `"state":"rejected"`) || !strings.Contains(body, `"reason":"false_alarm"`) {
			t.Errorf("task %s after the bulk reject = %.300s; want rejected, reason false_alarm", id, body)
		}
	}
	if !strings.Contains(res.OpenedAddress, "task="+s.tamper) || !res.Reopened || res.ReopenedFilters != "urgent" {
		t.Errorf("open task in the address %s, reopened after a reload %v with order %q; want task=%s, reopened, urgent", res.OpenedAddress, res.Reopened, res.ReopenedFilters, s.tamper)
	}
	if !res.BackClosed || strings.Contains(res.BackAddress, "task=") {
		t.Errorf("back closed the task: %v (address %s); want closed and no task in the address", res.BackClosed, res.BackAddress)
	}
	if res.En.Reported != "To review" || regexp.MustCompile(`\p{Han}`).MatchString(res.En.Bars) {
		t.Errorf("the board in English: column %q, bars %q; want To review and no Chinese", res.En.Reported, res.En.Bars)
	}

	// the wall
	if len(res.WallTiles) != 2 {
		t.Fatalf("the wall shows %d video tiles, want 2: %+v", len(res.WallTiles), res.WallTiles)
	}
	for _, tile := range res.WallTiles {
		if tile.Frames <= 25 || tile.Width != 1280 || tile.Status != "在线" {
			t.Errorf("wall tile %s: %d frames of %d px, %q; want > 25 frames of 1280, 在线", tile.Camera, tile.Frames, tile.Width, tile.Status)
		}
	}
	wantTicker := []string{s.tamper, s.accepted, s.late, s.resident} // open, newest first, the rejected gone
	if !slices.Equal(res.Ticker.IDs, wantTicker) || res.Ticker.Count != 2 || res.Ticker.Link != "/board" {
		t.Errorf("the wall's ticker = %v, %d to review, link %q; want %v, 2, /board", res.Ticker.IDs, res.Ticker.Count, res.Ticker.Link, wantTicker)
	}
	if res.Ticker.Height > 60 || res.Ticker.WallHeight < 900 {
		t.Errorf("the ticker is %.0f px high and the video %.0f px; want a slim row (≤ 60) and the screen for video (≥ 900 of 1080)", res.Ticker.Height, res.Ticker.WallHeight)
	}
	wide := 0
	for i, b := range append(res.Badges, res.BadgesWide...) {
		if b.Left < 0.5 {
			t.Errorf("tile %d's status badge starts at %.0f%% of its width, over the camera's own label and clock; want the right half", i, 100*b.Left)
		}
		// wider than 16:9: filled, cut at the bottom only; else the whole picture
		want := "contain"
		if b.Aspect > 16.0/9+0.01 {
			want = "cover"
			wide++
			if !strings.HasPrefix(b.Position, "50% 0%") {
				t.Errorf("tile %d's video object-position = %q; want the top kept (50%% 0%%)", i, b.Position)
			}
		}
		if b.Fit != want {
			t.Errorf("tile %d (%.2f:1) video object-fit = %q; want %s", i, b.Aspect, b.Fit, want)
		}
	}
	if len(res.BadgesWide) != 2 || wide != 2 {
		t.Errorf("with the incident panel closed %d of %d tiles are wider than 16:9; want both: %+v", wide, len(res.BadgesWide), res.BadgesWide)
	}
	if !res.WallOpened || !strings.Contains(res.WallAddress, "task="+s.tamper) || !res.WallReopened {
		t.Errorf("the wall's ticker opened the task: %v at %s, reopened after a reload: %v; want both with task=%s", res.WallOpened, res.WallAddress, res.WallReopened, s.tamper)
	}
	for _, name := range []string{"board.png", "board-filtered.png", "board-bulk.png", "board-task.png", "board-wall.png"} {
		if fi, err := os.Stat(filepath.Join(artifacts(t), name)); err != nil || fi.Size() < 10000 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
}
