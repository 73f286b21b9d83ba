package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// startPhoneBridge runs the bridge with one camera that never comes online
// (these tests are about the phone pages, not video), a worker, staff and a
// resident, and the tasks section given.
func startPhoneBridge(t *testing.T, tasksYAML string) *bridgeProc {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	cfg := fmt.Sprintf(`detect: {mode: off}
tasks: %s
users:
  - {name: worker1, display_name: 李强, role: worker, grids: [hexia-01], password_hash: %q}
  - {name: resident1, display_name: 张阿姨, role: resident, password_hash: %q}`, tasksYAML, hash("worker-pw"), hash("resident-pw"))
	return startBridgeWith(t, []cameraSpec{{id: "cam1", url: "rtsp://127.0.0.1:9/none", public: true, offline: true}}, "", cfg)
}

// staffCall sends body as JSON to path with the staff token and decodes the answer.
func staffCall(t *testing.T, b *bridgeProc, method, path string, body, out any) {
	t.Helper()
	j, _ := json.Marshal(body)
	code, data := b.call(t, method, path, staffToken, string(j))
	if code >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, code, data)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(data), out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChromiumWorkerIsAlertedOfANewTask: the worker's phone page is open
// (notifications allowed) when staff dispatch a task to the worker: the page
// raises a system notification, vibrates and shows the count in its title;
// left unclaimed past claim_within, the task calls again; opened, the count
// goes. A phone not asked yet is asked for the permission once, on its
// first tap.
func TestChromiumWorkerIsAlertedOfANewTask(t *testing.T) {
	b := startPhoneBridge(t, "{claim_within: 3s}")
	var res struct {
		OK            bool
		Failed        string
		Permission    string
		Notifications []struct{ Title, Body, Tag string }
		Vibrate       int
		TitleBefore   string `json:"title_before"`
		TitleNew      string `json:"title_new"`
		TitleOpened   string `json:"title_opened"`
		MsToNotify    int    `json:"ms_to_notify"`
		Overdue       bool
		Task          string
		Ask           struct {
			Offered            bool
			Asked              int
			HiddenAfter        bool `json:"hidden_after"`
			OfferedAfterReload bool `json:"offered_after_reload"`
			AskedAfterReload   int  `json:"asked_after_reload"`
		}
		ServiceWorker struct {
			Shown []struct{ Title, Body, Task, Scope string }
			Task  string
		} `json:"service_worker"`
		Errors []string
	}
	runScenario(t, &res, "workeralert", b.URL, artifacts(t), "worker1:worker-pw", staffToken, "cam1", "hexia-01")
	t.Logf("workeralert: %+v", res)
	if !res.OK {
		t.Fatalf("the scenario stopped: %s (page errors %v)", res.Failed, res.Errors)
	}
	if len(res.Errors) > 0 {
		t.Errorf("the page threw: %v", res.Errors)
	}
	if res.Permission != "granted" {
		t.Errorf("Notification.permission %q, want granted (the context grants it)", res.Permission)
	}
	if len(res.Notifications) == 0 || res.Notifications[0].Title != "新工单" || res.Notifications[0].Body != "井盖松动" ||
		res.Notifications[0].Tag != "qly-"+res.Task {
		t.Fatalf("notifications %+v, want 新工单 井盖松动 tagged with the task", res.Notifications)
	}
	if res.MsToNotify > 5000 {
		t.Errorf("the notification came %d ms after the dispatch, want within 5 s", res.MsToNotify)
	}
	if res.Vibrate < 1 {
		t.Errorf("navigator.vibrate was called %d times, want at least once", res.Vibrate)
	}
	if strings.HasPrefix(res.TitleBefore, "(") || !strings.HasPrefix(res.TitleNew, "(1) ") || !strings.Contains(res.TitleNew, "网格员") {
		t.Errorf("title before %q, after the dispatch %q; want no count, then \"(1) …网格员\"", res.TitleBefore, res.TitleNew)
	}
	if !res.Overdue || len(res.Notifications) < 2 || res.Vibrate < 2 {
		t.Errorf("no second call for the task unclaimed past claim_within: %d notifications, %d vibrations", len(res.Notifications), res.Vibrate)
	}
	if strings.HasPrefix(res.TitleOpened, "(") {
		t.Errorf("title %q once the task is opened, want the count gone", res.TitleOpened)
	}
	// where the page may not make a notification (Chrome on Android), the
	// service worker shows it
	if sw := res.ServiceWorker; len(sw.Shown) == 0 || sw.Shown[0].Title != "新工单" || sw.Shown[0].Task != sw.Task || !strings.HasSuffix(sw.Shown[0].Scope, "/web/") {
		t.Errorf("through the service worker: %+v, want 新工单 of task %s from the /web/ registration", sw.Shown, sw.Task)
	}
	// permission asked once, from the first tap, and not again
	if a := res.Ask; a.Asked != 1 || !a.HiddenAfter || a.OfferedAfterReload || a.AskedAfterReload != 0 {
		t.Errorf("a phone not asked yet: %+v; want one request from the first tap, then no 开启提醒 button and no request, also after a reload", a)
	}
}

// TestChromiumPhonePagesHaveTapTargetsAndReadableText measures, at
// 390x844, every button, link and field of /app (list, report, sign-in,
// live view) and of the worker's page (sign-in, list, a task to claim):
// each at least 44 px tall, and no text under 12 px.
func TestChromiumPhonePagesHaveTapTargetsAndReadableText(t *testing.T) {
	b := startPhoneBridge(t, "{}")
	var made struct{ Task struct{ ID string } }
	staffCall(t, b, "POST", "/api/tasks", map[string]any{"title": "井盖松动", "camera": "cam1", "accept": true}, &made)
	staffCall(t, b, "POST", "/api/tasks/"+made.Task.ID+"/dispatch", map[string]any{"worker": "worker1", "grid": "hexia-01"}, nil)
	var res struct {
		Views map[string]struct {
			Measured int
			Targets  []struct {
				El     string
				Height float64
			}
			Texts []struct {
				El     string
				FontPx float64 `json:"font_px"`
			}
		}
	}
	runScenario(t, &res, "phone", b.URL, artifacts(t), "worker1:worker-pw", made.Task.ID, "cam1")
	for _, view := range []string{"app-list", "app-report", "app-mine-signin", "app-live", "worker-signin", "worker-list", "worker-task"} {
		v, ok := res.Views[view]
		if !ok || v.Measured < 5 {
			t.Errorf("%s: %d elements measured, want the view's buttons and text", view, v.Measured)
			continue
		}
		for _, x := range v.Targets {
			t.Errorf("%s: %s is %.1f px tall, want at least 44", view, x.El, x.Height)
		}
		for _, x := range v.Texts {
			t.Errorf("%s: %s has %.1f px text, want at least 12", view, x.El, x.FontPx)
		}
		t.Logf("%s: %d elements measured", view, v.Measured)
	}
}

// TestChromiumResidentSignsInWithTheGuestsReports: on /app a resident
// reports as a guest, signs in from the bar (张阿姨 shows there) and finds
// the report under 我的上报; 退出 logs the token out on the server.
func TestChromiumResidentSignsInWithTheGuestsReports(t *testing.T) {
	b := startPhoneBridge(t, "{}")
	type bar struct {
		Who             string
		Signin, Signout bool
	}
	var res struct {
		OK                bool
		Failed            string
		GuestBar          bar `json:"guest_bar"`
		Report            string
		Who               string
		Mine              []string
		Note              string
		SheetAccount      string `json:"sheet_account"`
		TokenAfterSignout string `json:"token_after_signout"`
		MeAfterSignout    int    `json:"me_after_signout"`
		BarAfterSignout   bar    `json:"bar_after_signout"`
		Errors            []string
	}
	runScenario(t, &res, "account", b.URL, artifacts(t), "resident1:resident-pw", "cam1")
	t.Logf("account: %+v", res)
	if !res.OK {
		t.Fatalf("the scenario stopped: %s (page errors %v)", res.Failed, res.Errors)
	}
	if res.GuestBar != (bar{Signin: true}) {
		t.Errorf("a guest's bar %+v, want 账号登录 only", res.GuestBar)
	}
	if res.Who != "张阿姨" || len(res.Mine) != 1 || res.Mine[0] != res.Report || !strings.Contains(res.Note, "1 条") {
		t.Errorf("signed in: bar says %q, 我的上报 %v with note %q; want 张阿姨, the guest's report %s, and a note of 1 report taken over",
			res.Who, res.Mine, res.Note, res.Report)
	}
	if res.SheetAccount != "退出（张阿姨）" {
		t.Errorf("我的上报 offers %q, want 退出（张阿姨）", res.SheetAccount)
	}
	if res.BarAfterSignout != (bar{Signin: true}) || res.TokenAfterSignout != "" || res.MeAfterSignout != 401 {
		t.Errorf("after 退出: bar %+v, stored token %q, GET /api/me with the old token %d; want 账号登录, none, 401",
			res.BarAfterSignout, res.TokenAfterSignout, res.MeAfterSignout)
	}
	if len(res.Errors) > 0 {
		t.Errorf("the page threw: %v", res.Errors)
	}
}
