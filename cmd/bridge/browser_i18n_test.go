package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"qianliyan/internal/camsimproc"
)

// TestChromiumZhCNShowsNoEnglish plays a story and reads the pages in
// zh-CN as their users see them: a bin-zone incident on a real RTSP camera
// becomes a task; staff dispatch a task with a place to the worker, who
// claims it and, on the phone, checks in 1.3 km away (refused), then on the
// spot; the wall lists the incident and shows its task, /board the other; a
// resident's report is refused for want of a place, then sent. No view may
// show an ASCII word of 3+ letters outside a short allow-list (units,
// brands, protocols): the server's messages come as codes the pages
// translate, and times in the center's zone with their dates.
func TestChromiumZhCNShowsNoEnglish(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1")
	url := cam.PushScene(t, "scene", camsimproc.BinBox(camsimproc.WallCycle(20, 10, 20)))
	hash, err := bcrypt.GenerateFromPassword([]byte("worker-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	const lat, lng = 33.50012, 119.13921
	// and a camera that is gone: its tile and list entry say why in Chinese
	br := startBridgeWith(t, []cameraSpec{{id: "scene", url: url, public: true,
		zones: "[{name: 垃圾桶, kind: bin, polygon: " + camsimproc.BinZone + "}]"},
		{id: "gone", url: "rtsp://127.0.0.1:1/nothing-here", public: true, offline: true}}, "",
		fmt.Sprintf(`detect: {mode: active, calm_for: 1h, zone_hold: 2s, rate: 4}
tasks: {claim_within: 2s}
users:
  - {name: worker1, display_name: 李强, role: worker, grids: [hexia-01], password_hash: %q}`, hash))
	// the normal look, taken while the box is away (as in TestChromiumScreenShowsIncident)
	if p := camsimproc.CyclePhase(time.Now(), 20); p < 3 || p > 8 {
		time.Sleep(time.Until(camsimproc.NextPhase(time.Now(), 20, 3)))
	}
	staffCall(t, br, "POST", "/api/cameras/scene/zones/*/reference", nil, nil)

	// a task with a place, dispatched past its claim limit, then claimed
	var far struct{ Task struct{ ID string } }
	staffCall(t, br, "POST", "/api/tasks", map[string]any{"title": "井盖松动", "description": "花巷口井盖松动，有人踩空", "camera": "scene",
		"location": map[string]any{"lat": lat, "lng": lng, "address": "淮安区河下古镇花巷口"}, "accept": true}, &far)
	staffCall(t, br, "POST", "/api/tasks/"+far.Task.ID+"/dispatch", map[string]any{"worker": "worker1"}, nil)
	var login struct{ Token string }
	if code, body := br.call(t, "POST", "/api/login", "", `{"user": "worker1", "password": "worker-pw"}`); code != 200 || json.Unmarshal([]byte(body), &login) != nil {
		t.Fatalf("worker login: %d %s", code, body)
	}

	// the incident's task, once the box has been seen
	var incTask string
	deadline := time.Now().Add(60 * time.Second)
	for incTask == "" {
		var list struct{ Tasks []struct{ ID, Source string } }
		staffCall(t, br, "GET", "/api/tasks?camera=scene", nil, &list)
		for _, x := range list.Tasks {
			if x.Source == "incident" {
				incTask = x.ID
			}
		}
		if incTask == "" && time.Now().After(deadline) {
			t.Fatalf("no task from an incident within 60 s; detection: %s", br.staffGet("/api/cameras/scene/detect"))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if code, body := br.call(t, "POST", "/api/tasks/"+far.Task.ID+"/claim", login.Token, `{}`); code != 200 {
		t.Fatalf("worker claims: %d %s", code, body)
	}

	var res struct {
		OK            bool
		Failed        string
		Views         map[string][]struct{ Word, Text, El string }
		Refusal       string
		ReportRefusal string   `json:"report_refusal"`
		GoneReason    string   `json:"gone_reason"`
		TimelineTimes []string `json:"timeline_times"`
		Errors        []string
	}
	runScenario(t, &res, "zhcn", br.URL, artifacts(t), staffToken, "worker1:worker-pw", far.Task.ID, incTask,
		fmt.Sprint(lat), fmt.Sprint(lng), "scene")
	if !res.OK {
		t.Fatalf("the scenario stopped: %s (page errors %v)", res.Failed, res.Errors)
	}
	if len(res.Errors) > 0 {
		t.Errorf("the pages threw: %v", res.Errors)
	}
	for _, view := range []string{"worker-list", "worker-refused", "worker-arrived", "wall", "wall-incident-task", "board", "board-far-task", "app-list", "app-report-refused", "app-report-sent"} {
		words, ok := res.Views[view]
		if !ok {
			t.Errorf("%s: not looked at", view)
		}
		for _, w := range words {
			t.Errorf("%s: English %q in <%s> %q", view, w.Word, w.El, w.Text)
		}
	}
	if !strings.Contains(res.Refusal, "米") || !regexp.MustCompile(`13[0-9]{2} 米`).MatchString(res.Refusal) {
		t.Errorf("the check-in 1.3 km away said %q, want the distance in 米", res.Refusal)
	}
	if !strings.Contains(res.GoneReason, "拒绝连接") {
		t.Errorf("the tile of a camera whose address refuses the connection said %q, want it in Chinese (拒绝连接)", res.GoneReason)
	}
	if !strings.Contains(res.ReportRefusal, "位置") {
		t.Errorf("the report without a place said %q, want it to ask for the place (位置)", res.ReportRefusal)
	}
	// every step with its date; each after the first with the time since the one before
	date := regexp.MustCompile(`^\d{2}/\d{2} \d{2}:\d{2}:\d{2}(\+\S+)?$`)
	for i, s := range res.TimelineTimes {
		if !date.MatchString(s) || (i > 0) != strings.Contains(s, "+") {
			t.Errorf("timeline time %d %q, want MM/DD hh:mm:ss and, after the first, +duration (all: %q)", i, s, res.TimelineTimes)
		}
	}
	if len(res.TimelineTimes) < 4 {
		t.Errorf("the worker's timeline has %d steps, want create, accept, dispatch, claim, arrive", len(res.TimelineTimes))
	}
}
