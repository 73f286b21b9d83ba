package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"qianliyan/api"
	"qianliyan/task"
)

// TestTrackKeepsTheWorkersPositionsInOrder: while a task is claimed or
// arrived its worker's phone reports positions; they are kept in the
// order sent, capped at tasks.track_points, read back by the center and
// the task's grid workers and never by residents; the worker's last one is
// on GET /api/workers/positions. Nobody else may report, and bad points
// are 400s.
func TestTrackKeepsTheWorkersPositionsInOrder(t *testing.T) {
	cfg := taskConfig(t)
	cfg.Tasks.TrackPoints = 10
	b := serve(t, cfg, withTasks(), withLogins())
	tk := b.report(t, "resident", map[string]any{"title": "垃圾桶倒了", "camera": "cam1"})
	b.move(t, "staff", tk.ID, "accept", nil)
	b.move(t, "staff", tk.ID, "dispatch", map[string]any{"worker": "worker1"})
	path := "/api/tasks/" + tk.ID + "/track"
	point := func(i int) map[string]any {
		return map[string]any{"lat": 33.5100 + float64(i)*0.001, "lng": 119.1400, "accuracy": 5 + i, "at": b.clock.Now().UnixMilli()}
	}
	code, body := b.do(t, "POST", path, "worker1", point(0))
	wantError(t, "a point before the claim", code, body, 409, fmt.Sprintf("task %s is dispatched: a track is kept only while a task is claimed or arrived", tk.ID))
	wantCoded(t, "a point before the claim", body, task.MsgTrackState, map[string]any{"id": tk.ID, "state": "dispatched"})
	b.move(t, "worker1", tk.ID, "claim", nil)

	for _, c := range []struct{ who, msg, code string }{
		{"worker3", "only the grid worker task " + tk.ID + " is dispatched to reports its track", task.MsgTrackNotYours}, // sees the task, not theirs
		{"staff", "only the grid worker a task is dispatched to reports its track", api.MsgTrackWorkers},
		{"resident", "only the grid worker a task is dispatched to reports its track", api.MsgTrackWorkers},
	} {
		code, body := b.do(t, "POST", path, c.who, point(0))
		wantError(t, "a point from "+c.who, code, body, 403, c.msg)
		if e := codeOf(body); e != c.code {
			t.Errorf("a point from %s: code %q, want %q", c.who, e, c.code)
		}
	}
	code, body = b.do(t, "POST", path, "worker2", point(0)) // another grid: no such task for them
	wantError(t, "a point from another grid's worker", code, body, 404, fmt.Sprintf("no task %q", tk.ID))

	now := b.clock.Now().UnixMilli()
	for _, c := range []struct {
		name, body, msg, code string
	}{
		{"lat off the map", `{"lat": 91, "lng": 119.14}`, "the position 91,119.14 is not a place on the map: lat -90..90, lng -180..180", task.MsgTrackNotOnMap},
		{"no lng", `{"lat": 33.51}`, "a position needs lat and lng; send JSON like " + `{"lat": 33.50012, "lng": 119.13921, "accuracy": 12, "at": 1764750000000}`, api.MsgTrackPoint},
		{"negative accuracy", `{"lat": 33.51, "lng": 119.14, "accuracy": -1}`, "the accuracy -1 m is not a distance from 0 to 5000 m", task.MsgTrackAccuracy},
		{"an hour old", fmt.Sprintf(`{"lat": 33.51, "lng": 119.14, "at": %d}`, now-3600_000), fmt.Sprintf("the position's time (at, %d ms) is 1h0m0s away from the bridge's clock; it must be within 10m0s before now and 1m0s after", now-3600_000), task.MsgTrackTime},
		{"lat as a string", `{"lat": "33.51", "lng": 119.14}`, `the field "lat" must be a number, not string; send JSON like {"lat": 33.50012, "lng": 119.13921, "accuracy": 12, "at": 1764750000000}`, api.MsgBadBody},
	} {
		code, body := b.do(t, "POST", path, "worker1", c.body)
		wantError(t, c.name, code, body, 400, c.msg)
		if e := codeOf(body); e != c.code {
			t.Errorf("%s: code %q, want %q", c.name, e, c.code)
		}
	}

	// 12 points, 15 s apart: the track keeps the last 10, in order
	for i := range 12 {
		var got api.TrackPosted
		b.must(t, 201, "POST", path, "worker1", point(i), &got)
		if got.Position.Worker != "worker1" || got.Position.Task != tk.ID {
			t.Fatalf("point %d posted as %+v", i, got.Position)
		}
		if i == 5 {
			b.move(t, "worker1", tk.ID, "arrive", map[string]any{"evidence": map[string]any{"gps": map[string]any{"lat": 33.52, "lng": 119.14}}})
		}
		b.clock.Add(15 * time.Second)
	}
	if n, _ := b.rdb.XLen(t.Context(), cfg.Redis.Prefix+"{t}:task:{"+tk.ID+"}:track").Result(); n != 10 {
		t.Errorf("the track's stream holds %d points, want 10 (tasks.track_points)", n)
	}
	for _, who := range []string{"staff", "worker1", "worker3"} {
		var tr api.Track
		b.must(t, 200, "GET", path, who, nil, &tr)
		if tr.Task != tk.ID || tr.Worker != "worker1" || len(tr.Points) != 10 {
			t.Fatalf("the track as %s: task %s worker %s, %d points; want %s, worker1, 10", who, tr.Task, tr.Worker, len(tr.Points), tk.ID)
		}
		for j, p := range tr.Points {
			want := point(j + 2)
			if fmt.Sprintf("%.4f", p.Lat) != fmt.Sprintf("%.4f", want["lat"]) || p.AccuracyM != float64(7+j) || j > 0 && p.AtMS-tr.Points[j-1].AtMS != 15000 {
				t.Errorf("as %s point %d = %+v, want the %dth sent (lat %.4f, accuracy %d, 15 s after the one before)", who, j, p, j+3, want["lat"], 7+j)
			}
		}
	}
	code, body = b.do(t, "GET", path, "resident", nil)
	wantError(t, "the track as the reporter", code, body, 403, "a task's track is for the center and its grid's workers: residents do not see where workers are")
	code, _ = b.do(t, "GET", path, "worker2", nil)
	if code != 404 {
		t.Errorf("the track as another grid's worker = %d, want 404", code)
	}

	var ps struct{ Positions []api.WorkerPosition }
	b.must(t, 200, "GET", "/api/workers/positions", "staff", nil, &ps)
	if len(ps.Positions) != 1 || ps.Positions[0].Worker != "worker1" || ps.Positions[0].Task != tk.ID || fmt.Sprintf("%.4f", ps.Positions[0].Lat) != "33.5210" {
		t.Errorf("workers' positions = %+v, want worker1's last (33.5210) on %s", ps.Positions, tk.ID)
	}
	if code, _ := b.do(t, "GET", "/api/workers/positions", "worker1", nil); code != 403 {
		t.Errorf("workers' positions as a worker = %d, want 403", code)
	}

	// the reporter's view of the task has no GPS point in its timeline
	var view api.TaskDetail
	b.must(t, 200, "GET", "/api/tasks/"+tk.ID, "resident", nil, &view)
	if j, _ := json.Marshal(view); strings.Contains(string(j), "gps") || strings.Contains(string(j), "accuracy") {
		t.Errorf("the resident's view of the task shows a GPS point: %s", j)
	}

	b.move(t, "worker1", tk.ID, "submit", map[string]any{"evidence": map[string]any{"photo": b.photo(t, "worker1")}})
	code, body = b.do(t, "POST", path, "worker1", point(0))
	wantError(t, "a point after the submission", code, body, 409, fmt.Sprintf("task %s is submitted: a track is kept only while a task is claimed or arrived", tk.ID))
}

// claimedByWorker1 is a resident's report on cam1, accepted, dispatched to
// worker1 and claimed.
func (b *bridge) claimedByWorker1(t *testing.T) *task.Task {
	t.Helper()
	tk := b.report(t, "resident", map[string]any{"title": "垃圾桶倒了", "camera": "cam1"})
	b.move(t, "staff", tk.ID, "accept", nil)
	b.move(t, "staff", tk.ID, "dispatch", map[string]any{"worker": "worker1"})
	b.move(t, "worker1", tk.ID, "claim", nil)
	return tk
}

// TestTrackIsReadInTheOrderWalked: two reports that crossed on the way
// (the later fix stored first) are read back in the order of their times.
func TestTrackIsReadInTheOrderWalked(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withLogins())
	tk := b.claimedByWorker1(t)
	now := b.clock.Now().UnixMilli()
	for _, p := range []map[string]any{
		{"lat": 33.512, "lng": 119.14, "at": now - 15000},
		{"lat": 33.513, "lng": 119.14, "at": now},
		{"lat": 33.511, "lng": 119.14, "at": now - 30000},
	} {
		b.must(t, 201, "POST", "/api/tasks/"+tk.ID+"/track", "worker1", p, nil)
	}
	var tr api.Track
	b.must(t, 200, "GET", "/api/tasks/"+tk.ID+"/track", "staff", nil, &tr)
	var got []string
	for _, p := range tr.Points {
		got = append(got, fmt.Sprintf("%.3f@%d", p.Lat, (p.AtMS-now)/1000))
	}
	if want := "33.511@-30 33.512@-15 33.513@0"; strings.Join(got, " ") != want {
		t.Errorf("the track reads %v, want %s", got, want)
	}
}

// TestTrackReportsAreRateLimited: a phone that sends positions in a
// tight loop gets a 429 after the burst.
func TestTrackReportsAreRateLimited(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withLogins())
	tk := b.claimedByWorker1(t)
	p := map[string]any{"lat": 33.51, "lng": 119.14}
	for i := range 12 {
		if code, body := b.do(t, "POST", "/api/tasks/"+tk.ID+"/track", "worker1", p); code != 201 {
			t.Fatalf("point %d of the burst = %d %s, want 201", i, code, body)
		}
	}
	code, body := b.do(t, "POST", "/api/tasks/"+tk.ID+"/track", "worker1", p)
	if code != 429 || !strings.Contains(errorOf(body), "too many positions from your phone") {
		t.Errorf("the 13th point at once = %d %s, want 429", code, body)
	}
	b.clock.Add(5 * time.Second)
	if code, body := b.do(t, "POST", "/api/tasks/"+tk.ID+"/track", "worker1", p); code != 201 {
		t.Errorf("a point 5 s later = %d %s, want 201", code, body)
	}
}

// TestReportNamingAFarCameraIsRefused: a "nearby camera" farther than
// map.nearby_m from the report's place is refused with the distance and
// the nearest cameras the reporter may name; a near one is taken.
func TestReportNamingAFarCameraIsRefused(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withLogins())
	// cam1 stands at 33.5200,119.1400; 0.0243° north is 2.7 km
	far := map[string]any{"title": "垃圾桶倒了", "camera": "cam1", "location": map[string]any{"lat": 33.5443, "lng": 119.1400}}
	code, body := b.do(t, "POST", "/api/reports", "resident", far)
	wantError(t, "a resident naming a camera 2.7 km away", code, body, 400,
		"camera cam1 (花巷口) is 2.7 km from the place of the report; a nearby camera must be within 500 m of it: choose one of the nearest cameras, or leave the camera out")
	var refusal struct {
		Nearest   []task.NearbyCamera `json:"nearest"`
		DistanceM float64             `json:"distance_m"`
		Code      string
		Params    map[string]any
	}
	if json.Unmarshal([]byte(body), &refusal) != nil || len(refusal.Nearest) != 1 || refusal.Nearest[0].ID != "cam1" || refusal.DistanceM != 2702 {
		t.Errorf("the refusal lists %+v at %v m; want only cam1 (the one public camera) at 2702 m", refusal.Nearest, refusal.DistanceM)
	}
	// the page says it in its language from the code
	if refusal.Code != api.MsgCameraFar || refusal.Params["distance_m"] != 2702.0 || refusal.Params["limit_m"] != 500.0 || refusal.Params["name"] != "花巷口" {
		t.Errorf("the refusal's code %q params %v; want %s with the distance, the limit and the camera's name", refusal.Code, refusal.Params, api.MsgCameraFar)
	}
	// a worker on patrol near cam3 naming cam1: the nearest are cam3, cam2, cam1
	near3 := map[string]any{"title": "井盖松动", "camera": "cam1", "location": map[string]any{"lat": 33.5302, "lng": 119.1481}}
	code, body = b.do(t, "POST", "/api/reports", "worker3", near3)
	if json.Unmarshal([]byte(body), &refusal) != nil || code != 400 || len(refusal.Nearest) != 3 || refusal.Nearest[0].ID != "cam3" || refusal.Nearest[0].DistanceM > 30 {
		t.Errorf("a worker naming cam1 near cam3 = %d %s; want 400 listing cam3 (within 30 m) first", code, body)
	}
	near := map[string]any{"title": "垃圾桶倒了", "camera": "cam1", "location": map[string]any{"lat": 33.5230, "lng": 119.1400}} // 334 m
	if tk := b.report(t, "resident", near); tk.Camera != "cam1" || tk.Grid != "g1" {
		t.Errorf("a report 334 m from cam1 made %+v, want one on cam1 in g1", tk)
	}
	var m api.MapSettings
	b.must(t, 200, "GET", "/api/map", "", nil, &m)
	if m.NearbyM != 500 || m.Tiles != "" || m.MaxZoom != 18 || m.Center != nil {
		t.Errorf("GET /api/map = %+v, want nearby_m 500, no tiles, max_zoom 18, no center", m)
	}
}

// codeOf is the message code of an error body ("" if none).
func codeOf(body string) string {
	var e struct{ Code string }
	_ = json.Unmarshal([]byte(body), &e)
	return e.Code
}
