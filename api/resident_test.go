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

// TestGuestReportsFollowTheResidentIntoTheAccount: a resident reports as a
// guest (a device token), then signs in on the same phone sending that
// token; the reports are the account's from then on, in Redis, and the
// device token is logged out.
func TestGuestReportsFollowTheResidentIntoTheAccount(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withLogins())
	var dev api.TokenResponse
	b.must(t, 201, "POST", "/api/device", "", nil, &dev)
	first := b.report(t, dev.Token, map[string]any{"title": "垃圾桶倒了", "camera": "cam1"})
	second := b.report(t, dev.Token, map[string]any{"title": "路灯不亮", "camera": "cam1"})
	if first.Reporter != dev.User {
		t.Fatalf("the guest's report has reporter %q, want %s", first.Reporter, dev.User)
	}
	code, body := call(t, "POST", b.url+"/api/login", "", fmt.Sprintf(`{"user": "resident", "password": "resident-pw", "device": %q}`, dev.Token))
	var tr api.TokenResponse
	if code != 200 || json.Unmarshal([]byte(body), &tr) != nil || tr.Adopted != 2 {
		t.Fatalf("login with the device token = %d %s, want 200 with adopted 2", code, body)
	}
	ids, total := b.list(t, tr.Token, "mine=1")
	if total != 2 || !strings.Contains(strings.Join(ids, " "), first.ID) || !strings.Contains(strings.Join(ids, " "), second.ID) {
		t.Errorf("the account's reports: %v, want %s and %s", ids, first.ID, second.ID)
	}
	var one api.TaskDetail
	b.must(t, 200, "GET", "/api/tasks/"+first.ID, tr.Token, nil, &one)
	if one.Task.Reporter != "resident" || one.Timeline[0].By != "resident" {
		t.Errorf("the adopted report: reporter %q, created by %q; want resident for both", one.Task.Reporter, one.Timeline[0].By)
	}
	// in Redis: the reporter index moved
	ctx := t.Context()
	if n, _ := b.rdb.ZCard(ctx, b.cfg.Redis.Prefix+"{t}:tasks:reporter:"+dev.User).Result(); n != 0 {
		t.Errorf("the device still indexes %d reports", n)
	}
	if n, _ := b.rdb.ZCard(ctx, b.cfg.Redis.Prefix+"{t}:tasks:reporter:resident").Result(); n != 2 {
		t.Errorf("the account indexes %d reports, want 2", n)
	}
	if code, body := call(t, "GET", b.url+"/api/me", dev.Token, ""); code != 401 {
		t.Errorf("the adopted device token still works: %d %s", code, body)
	}
	// a token that is not a device's, or a second sign-in, adopts nothing
	for _, device := range []string{b.tokens["resident2"], "garbled", dev.Token} {
		code, body := call(t, "POST", b.url+"/api/login", "", fmt.Sprintf(`{"user": "resident", "password": "resident-pw", "device": %q}`, device))
		if code != 200 || strings.Contains(body, "adopted") {
			t.Errorf("login with device %.12s… = %d %s, want 200 adopting nothing", device, code, body)
		}
	}
	if _, total := b.list(t, "resident2", "mine=1"); total != 0 {
		t.Errorf("resident2 has %d reports, want none", total)
	}
}

// TestResidentGetsNoLoginsNorGPS reads, as the resident who reported it,
// the JSON of a task a worker claimed and checked in at by GPS: the task,
// its timeline, a list, the answer to a rating and the event stream.
func TestResidentGetsNoLoginsNorGPS(t *testing.T) {
	cfg := taskConfig(t)
	for i := range cfg.Users {
		if cfg.Users[i].Name == "worker1" {
			cfg.Users[i].DisplayName = "王五"
		}
	}
	b := serve(t, cfg, withTasks(), withEvents(), withLogins())
	feed := b.taskEvents(t, "resident")
	time.Sleep(100 * time.Millisecond)
	tk := b.report(t, "resident", map[string]any{"title": "垃圾桶倒了", "camera": "cam1"})
	b.move(t, "staff", tk.ID, "accept", nil)
	b.move(t, "staff", tk.ID, "dispatch", map[string]any{"worker": "worker1", "grid": "g1"})
	b.move(t, "worker1", tk.ID, "claim", nil)
	b.move(t, "worker1", tk.ID, "arrive", map[string]any{"evidence": map[string]any{"gps": map[string]any{"lat": 33.52003, "lng": 119.14001, "accuracy_m": 6}}})

	leaks := func(what, body string) {
		t.Helper()
		for _, leak := range []string{`"worker1"`, `"by":"staff"`, `"@staff_token"`, `"gps"`, "33.52003"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s shows the resident %s: %s", what, leak, body)
			}
		}
	}
	code, body := b.do(t, "GET", "/api/tasks/"+tk.ID, "resident", nil)
	if code != 200 {
		t.Fatalf("GET the task as its reporter = %d %s", code, body)
	}
	leaks("GET /api/tasks/{id}", body)
	var d api.TaskDetail
	_ = json.Unmarshal([]byte(body), &d)
	if d.Task.Worker != "王师傅" {
		t.Errorf("the resident sees the worker as %q, want 王师傅", d.Task.Worker)
	}
	for _, e := range d.Timeline {
		if e.Role == task.Worker && e.By != "王师傅" || e.Action == task.Dispatch && e.Worker != "王师傅" {
			t.Errorf("the resident sees the %s entry by %q to %q, want 王师傅", e.Action, e.By, e.Worker)
		}
	}
	_, body = b.do(t, "GET", "/api/tasks?mine=1", "resident", nil)
	leaks("GET /api/tasks?mine=1", body)
	// staff still see everything
	if _, body := b.do(t, "GET", "/api/tasks/"+tk.ID, "staff", nil); !strings.Contains(body, `"worker1"`) || !strings.Contains(body, "33.52003") {
		t.Errorf("staff do not see the worker and the GPS fix: %s", body)
	}

	// the events of the resident's report
	deadline := time.After(3 * time.Second)
	for n := 0; n < 5; n++ {
		select {
		case ev := <-feed:
			j, _ := json.Marshal(ev)
			leaks("event "+string(ev.Entry.Action), string(j))
		case <-deadline:
			t.Fatalf("the resident got %d of the 5 task events", n)
		}
	}
}
