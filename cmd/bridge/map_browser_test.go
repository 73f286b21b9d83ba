package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// mapCameras stand in the demo's streets; cam5 is 2.6 km away from the rest.
var mapCameras = []struct {
	id       string
	lat, lng float64
}{
	{"cam1", 33.50012, 119.13921}, {"cam2", 33.49958, 119.13847}, {"cam3", 33.50105, 119.13976},
	{"cam4", 33.50231, 119.14052}, {"cam5", 33.52000, 119.16000},
}

// TestChromiumMapShowsCamerasTrackAndNearestCamera: with no tile server
// configured, (1) the worker's phone (390x844, geolocation scripted) claims
// a task, reports its walk, one position per 15 s of the fixes' time, and
// checks in by GPS at its end;
// (2) the wall at 1920x1080 opens its map with a marker per camera, the
// worker's last position (moved by the next one, live) and the open
// task, and a camera's marker opens the camera live; the task's detail replays the
// track in the order walked; (3) the resident's report at 390x844, placed
// by the phone's position next to cam3, lists cam3 first with its
// distance, and choosing cam5 says it is not nearby.
func TestChromiumMapShowsCamerasTrackAndNearestCamera(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("worker-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var cams []cameraSpec
	for _, c := range mapCameras {
		cams = append(cams, cameraSpec{id: c.id, url: "rtsp://127.0.0.1:9/none", public: true, offline: true, loc: fmt.Sprintf("{lat: %v, lng: %v}", c.lat, c.lng)})
	}
	b := startBridgeWith(t, cams, "", fmt.Sprintf(`detect: {mode: off}
users:
  - {name: worker1, display_name: 李强, role: worker, grids: [hexia-01], password_hash: %q}`, hash))
	var made struct{ Task struct{ ID string } }
	staffCall(t, b, "POST", "/api/tasks", map[string]any{"title": "垃圾桶倒了", "camera": "cam1", "accept": true}, &made)
	staffCall(t, b, "POST", "/api/tasks/"+made.Task.ID+"/dispatch", map[string]any{"worker": "worker1", "grid": "hexia-01"}, nil)
	walk := [][2]float64{{33.49900, 119.13800}, {33.49930, 119.13830}, {33.49960, 119.13860}, {33.49985, 119.13890}, {33.50005, 119.13915}}
	walkJSON, _ := json.Marshal(walk)
	var res struct {
		OK        bool
		Failed    string
		Posted    int
		Arrived   bool
		ArriveErr string `json:"arrive_error"`
		Markers   struct{ Cameras, Offline, Workers, Tasks int }
		Worker    string
		MovedLive bool `json:"moved_live"`
		Opened    struct {
			Camera    string
			MapHidden bool `json:"map_hidden"`
			Failed    bool
		}
		Replay struct {
			Points int
			Seen   []string
			Last   int
		}
		Picker struct {
			Nearest []struct {
				Camera   string
				Distance float64
			}
			Far string
		}
		Errors []string
	}
	runScenario(t, &res, "map", b.URL, artifacts(t), staffToken, "worker1:worker-pw", made.Task.ID, string(walkJSON), "33.50110,119.13980", "cam5")
	t.Logf("map: %+v", res)
	if !res.OK {
		t.Fatalf("the scenario stopped: %s (page errors %v)", res.Failed, res.Errors)
	}
	if len(res.Errors) > 0 {
		t.Errorf("the pages threw: %v", res.Errors)
	}
	if res.Posted != len(walk) {
		t.Errorf("the phone reported %d positions, want the %d of its walk", res.Posted, len(walk))
	}
	if !res.Arrived {
		t.Errorf("the GPS check-in at the walk's end did not arrive: %q", res.ArriveErr)
	}
	if m := res.Markers; m.Cameras != len(mapCameras) || m.Offline != len(mapCameras) || m.Workers != 1 || m.Tasks != 1 {
		t.Errorf("the wall's map shows %+v; want %d cameras (all offline), 1 worker, 1 task", m, len(mapCameras))
	}
	if res.Worker != "李强" {
		t.Errorf("the worker's marker is labelled %q, want 李强", res.Worker)
	}
	if !res.MovedLive {
		t.Errorf("a position posted while the wall's map is open did not move the worker's marker (the position event)")
	}
	if o := res.Opened; o.Failed || !o.MapHidden || o.Camera == "" {
		t.Errorf("a click on camera %q's marker: %+v; want the map hidden and its tile enlarged", o.Camera, o)
	}
	// the replay visits the walk's points in order
	var want []string
	for _, p := range walk {
		want = append(want, fmt.Sprintf("%v,%v", p[0], p[1]))
	}
	want = append(want, fmt.Sprintf("%v,%v", walk[len(walk)-1][0]+0.0001, walk[len(walk)-1][1]+0.0001)) // the live one
	if res.Replay.Points != len(walk)+1 || res.Replay.Last != len(walk) || strings.Join(res.Replay.Seen, " ") != strings.Join(want, " ") {
		t.Errorf("the replay of %d points went through %v (last step %d); want %v", res.Replay.Points, res.Replay.Seen, res.Replay.Last, want)
	}
	n := res.Picker.Nearest
	if len(n) != 3 || n[0].Camera != "cam3" || n[0].Distance > 10 || n[1].Distance < n[0].Distance || n[2].Distance < n[1].Distance {
		t.Errorf("the picker lists %+v; want 3 cameras, cam3 first (within 10 m), nearest first", n)
	}
	if !strings.Contains(res.Picker.Far, "2.") || !strings.Contains(res.Picker.Far, "公里") || !strings.Contains(res.Picker.Far, "超过 500 米") {
		t.Errorf("choosing cam5 says %q; want it is 2.x 公里 away, 超过 500 米", res.Picker.Far)
	}
}
