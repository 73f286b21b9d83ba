package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"qianliyan/api"
	"qianliyan/configs"
	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
	"qianliyan/task"
)

// taskConfig is three cameras with places (cam1 public in g1, cam2 in g1
// 150 m away, cam3 in g2 about 1.3 km away), users of every role (worker1
// in g1, worker2 in g2, worker3 in both; password: the login and "-pw"), a
// private Redis prefix and data folder.
func taskConfig(t testing.TB) *configs.Config {
	t.Helper()
	var users strings.Builder
	for i, u := range []string{"admin:admin:[]", "staff:staff:[]", "worker1:worker:[g1]", "worker2:worker:[g2]", "worker3:worker:[g1, g2]",
		"resident:resident:[]", "resident2:resident:[]"} {
		f := strings.SplitN(u, ":", 3)
		hash, err := bcrypt.GenerateFromPassword([]byte(f[0]+"-pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		grids := ""
		if f[2] != "[]" {
			grids = ", grids: " + f[2]
		}
		fmt.Fprintf(&users, "  - {name: %s, role: %s, phone: \"138000000%02d\", password_hash: %q%s}\n", f[0], f[1], i, hash, grids)
	}
	cfg, err := configs.Parse("tasks.yaml", []byte(`
cameras:
  - id: cam1
    name: 花巷口
    grid: g1
    url: "rtsp://127.0.0.1:1/a"
    public: true
    location: {lat: 33.5200, lng: 119.1400, address: 河下古镇花巷口}
    zones:
      - {name: 垃圾桶, kind: bin, polygon: [[0.1, 0.6], [0.3, 0.6], [0.3, 0.9]]}
  - {id: cam2, name: 估衣街, grid: g1, url: "rtsp://127.0.0.1:1/b", location: {lat: 33.5210, lng: 119.1412}}
  - {id: cam3, name: 竹巷街, grid: g2, url: "rtsp://127.0.0.1:1/c", location: {lat: 33.5300, lng: 119.1480}}
users:
`+users.String()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.StaffToken = staffToken
	cfg.Auth.Secret = strings.Repeat("k", 32)
	cfg.DataDir = t.TempDir()
	_, cfg.Redis.Prefix = redistest.Client(t, "tasktest")
	return cfg
}

func (b *bridge) create(t testing.TB, user string, body any) *task.Task {
	t.Helper()
	var env api.TaskEnvelope
	b.must(t, 201, "POST", "/api/tasks", user, body, &env)
	return env.Task
}

func (b *bridge) report(t testing.TB, user string, body any) *task.Task {
	t.Helper()
	var env api.TaskEnvelope
	b.must(t, 201, "POST", "/api/reports", user, body, &env)
	return env.Task
}

func (b *bridge) move(t testing.TB, user, id, action string, body any) api.TaskChange {
	t.Helper()
	var ch api.TaskChange
	b.must(t, 200, "POST", "/api/tasks/"+id+"/"+action, user, body, &ch)
	return ch
}

// list gives the ids GET /api/tasks?query lists for user, and the total.
func (b *bridge) list(t testing.TB, user, query string) ([]string, int) {
	t.Helper()
	var l api.TaskList
	b.must(t, 200, "GET", "/api/tasks?"+query, user, nil, &l)
	ids := []string{}
	for _, x := range l.Tasks {
		ids = append(ids, x.ID)
	}
	return ids, l.Total
}

// upload posts data as the multipart field "file".
func (b *bridge) upload(t testing.TB, user string, data []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "photo.bin")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", b.url+"/api/uploads", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+b.tokens[user])
	}
	return send(t, req)
}

// pngBytes is the start of a PNG file: enough for content sniffing.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")

func (b *bridge) photo(t testing.TB, user string) string {
	t.Helper()
	code, body := b.upload(t, user, pngBytes)
	var r struct{ Photo string }
	if err := json.Unmarshal([]byte(body), &r); code != 201 || err != nil || r.Photo == "" {
		t.Fatalf("upload as %s = %d %s", user, code, body)
	}
	return r.Photo
}

func TestTaskRoutesWithoutAStoreSayWhy(t *testing.T) {
	b := serve(t, taskConfig(t))
	staff := staffToken
	for _, path := range []string{"/api/tasks", "/api/tasks/T1", "/api/stats", "/api/workers"} {
		code, body := call(t, "GET", b.url+path, staff, "")
		wantError(t, "GET "+path+" without a task store", code, body, 503, "tasks are not available: this bridge was started without a task store")
	}
}

func TestWhoSeesWhichTask(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withEvents(), withLogins())
	onCam2 := b.create(t, "staff", map[string]any{"title": "井盖松动", "camera": "cam2"})
	b.clock.Add(time.Second)
	onCam3 := b.create(t, "admin", map[string]any{"title": "占道经营", "camera": "cam3"})
	b.clock.Add(time.Second)
	// a resident names the public camera; another gives a place near cam3
	mine := b.report(t, "resident", map[string]any{"title": "垃圾桶倒了", "camera": "cam1"})
	b.clock.Add(time.Second)
	theirs := b.report(t, "resident2", map[string]any{"description": "竹巷街路灯不亮", "location": map[string]any{"lat": 33.5298, "lng": 119.1482}})
	if onCam2.Grid != "g1" || onCam2.Location.Lat != 33.521 || onCam3.Grid != "g2" || mine.Grid != "g1" || theirs.Grid != "g2" || theirs.Camera != "" {
		t.Fatalf("grids %s %s %s %s (camera of the located report %q), want g1 g2 g1 g2 from the cameras and the nearest camera",
			onCam2.Grid, onCam3.Grid, mine.Grid, theirs.Grid, theirs.Camera)
	}
	if mine.Source != "resident" || mine.Reporter != "resident" || theirs.Title != "竹巷街路灯不亮" {
		t.Errorf("report = %+v / %+v", mine, theirs)
	}

	for _, tc := range []struct {
		user, query string
		want        []string
	}{
		{"staff", "", []string{theirs.ID, mine.ID, onCam3.ID, onCam2.ID}},
		{"@staff_token", "grid=g2", []string{theirs.ID, onCam3.ID}},
		{"worker1", "", []string{mine.ID, onCam2.ID}},
		{"worker2", "", []string{theirs.ID, onCam3.ID}},
		{"worker3", "", []string{theirs.ID, mine.ID, onCam3.ID, onCam2.ID}},
		{"worker3", "limit=2&offset=1", []string{mine.ID, onCam3.ID}},
		{"worker3", "grid=g1&state=reported", []string{mine.ID, onCam2.ID}},
		{"worker1", "mine=1", []string{}},
		{"resident", "", []string{mine.ID}},
		{"resident2", "", []string{theirs.ID}},
		{"resident2", "camera=cam2", []string{}},
		// a public camera's tasks are the residents' business (they rate them)
		{"resident2", "camera=cam1", []string{mine.ID}},
	} {
		got, total := b.list(t, tc.user, tc.query)
		wantTotal := len(tc.want)
		if tc.query == "limit=2&offset=1" {
			wantTotal = 4
		}
		if !slices.Equal(got, tc.want) || total != wantTotal {
			t.Errorf("%s lists ?%s: %v (total %d), want %v (total %d)", tc.user, tc.query, got, total, tc.want, wantTotal)
		}
	}
	var l api.TaskList
	b.must(t, 200, "GET", "/api/tasks?camera=cam1", "resident2", nil, &l)
	if l.Tasks[0].Reporter != "" {
		t.Errorf("resident2 sees who reported resident's task: %q", l.Tasks[0].Reporter)
	}

	code, body := b.do(t, "GET", "/api/tasks?grid=g2", "worker1", nil)
	wantError(t, "worker1 lists grid g2", code, body, 403, "grid g2 is not one of yours (g1): workers see the tasks of their own grids")
	code, body = b.do(t, "GET", "/api/tasks", "", nil)
	wantError(t, "nobody lists tasks", code, body, 401,
		"this needs a token: log in (POST /api/login), or get a resident's device token (POST /api/device), and send it as Authorization: Bearer <token>")
	code, body = b.do(t, "GET", "/api/tasks?state=done", "staff", nil)
	wantError(t, "a state that is none", code, body, 400,
		`state "done" is not one of reported, accepted, rejected, dispatched, claimed, arrived, submitted, verified, closed`)

	// one task: 404 for what the caller may not see, as for what does not exist
	for _, tc := range []struct{ user, id string }{{"worker1", onCam3.ID}, {"resident", theirs.ID}, {"resident", onCam2.ID}, {"staff", "T0000000000000000"}} {
		code, body := b.do(t, "GET", "/api/tasks/"+tc.id, tc.user, nil)
		wantError(t, tc.user+" GET "+tc.id, code, body, 404, fmt.Sprintf("no task %q", tc.id))
	}
	var d api.TaskDetail
	b.must(t, 200, "GET", "/api/tasks/"+onCam2.ID, "worker1", nil, &d)
	if d.Task.ID != onCam2.ID || len(d.Timeline) != 1 || d.Timeline[0].Action != task.Create || len(d.Ratings) != 0 || len(d.Allowed) != 0 {
		t.Errorf("worker1 GET %s = %+v; want the task, its create entry, no ratings, nothing allowed", onCam2.ID, d)
	}
	b.must(t, 200, "GET", "/api/tasks/"+onCam2.ID, "staff", nil, &d)
	if !slices.Equal(d.Allowed, []string{"accept", "reject", "merge"}) {
		t.Errorf("staff may %v on a reported task, want [accept reject merge]", d.Allowed)
	}

	// an expired token is refused on the task routes too
	b.clock.Add(13 * time.Hour)
	code, body = b.do(t, "GET", "/api/tasks", "worker1", nil)
	wantError(t, "expired token", code, body, 401, "the token expired at 2030-01-02 23:04:05 Asia/Shanghai; log in again")
}

func TestTransitionsByRoleStateAndRetry(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withEvents(), withLogins())
	tk := b.create(t, "staff", map[string]any{"title": "垃圾桶倒了", "camera": "cam1", "zone": "垃圾桶"})
	reported := b.report(t, "resident", map[string]any{"title": "路灯坏了", "camera": "cam1"})
	path := func(id, action string) string { return "/api/tasks/" + id + "/" + action }

	for _, tc := range []struct {
		name, user, id, action string
		body                   any
		code                   int
		msg                    string
	}{
		{"worker accepts", "worker1", tk.ID, "accept", nil, 403, "a worker may not accept tasks"},
		{"resident claims their own report", "resident", reported.ID, "claim", nil, 403, "a resident may not claim tasks"},
		{"staff claims", "staff", tk.ID, "claim", nil, 403, "a staff may not claim tasks"},
		{"worker of another grid", "worker2", tk.ID, "claim", nil, 404, fmt.Sprintf("no task %q", tk.ID)},
		{"unknown task", "staff", "Tnothing", "accept", nil, 404, `no task "Tnothing"`},
		{"unknown action", "staff", tk.ID, "approve", nil, 404,
			`no action "approve" on tasks; the actions are accept, dispatch, claim, arrive, submit, verify, close, rework, reject, merge, and rating`},
		{"bad JSON", "staff", tk.ID, "accept", `{"note": `, 400,
			`the body is not JSON of the right shape (unexpected EOF); send JSON like ` + `{"request_id": "a1b2", "note": "…", "evidence": {"photo": "…", "gps": {"lat": 33.52, "lng": 119.14, "accuracy_m": 8}}}`},
		{"a note that is no string", "staff", tk.ID, "accept", `{"note": 5}`, 400,
			`the field "note" must be a string, not number; send JSON like {"request_id": "a1b2", "note": "…", "evidence": {"photo": "…", "gps": {"lat": 33.52, "lng": 119.14, "accuracy_m": 8}}}`},
		{"a rejection without a reason", "staff", tk.ID, "reject", nil, 400, "a rejection needs a reason: a false alarm, or a duplicate of which task"},
		{"a photo that was not uploaded", "staff", tk.ID, "accept", map[string]any{"evidence": map[string]any{"photo": "../../etc/passwd"}}, 400,
			`photo "../../etc/passwd" is not the name of an uploaded photo: upload it first (POST /api/uploads) and send the name it gets`},
	} {
		code, body := b.do(t, "POST", path(tc.id, tc.action), tc.user, tc.body)
		wantError(t, tc.name, code, body, tc.code, tc.msg)
	}

	// illegal in this state: 409 with what is allowed instead
	code, body := b.do(t, "POST", path(tk.ID, "close"), "staff", nil)
	wantError(t, "closing a reported task", code, body, 409, "cannot close a task that is reported; allowed: accept, reject, merge")
	var refusal struct{ Allowed []string }
	if json.Unmarshal([]byte(body), &refusal); !slices.Equal(refusal.Allowed, []string{"accept", "reject", "merge"}) {
		t.Errorf("409 body %s, want allowed [accept reject]", body)
	}

	// the same request twice: the same entry; another request for a done step: 409
	first := b.move(t, "staff", tk.ID, "accept", map[string]any{"request_id": "req-1"})
	again := b.move(t, "staff", tk.ID, "accept", map[string]any{"request_id": "req-1"})
	if first.Entry.Seq != 2 || !reflect.DeepEqual(*again.Entry, *first.Entry) || again.Task.State != task.Accepted {
		t.Errorf("a retried accept gave entry %+v, then %+v; want the same entry twice", first.Entry, again.Entry)
	}
	code, body = b.do(t, "POST", path(tk.ID, "accept"), "staff", map[string]any{"request_id": "req-2"})
	wantError(t, "accept again with another request id", code, body, 409, "cannot accept a task that is accepted; allowed: dispatch, reject, merge")
	code, body = b.do(t, "POST", path(tk.ID, "dispatch"), "staff", map[string]any{"request_id": "req-1", "worker": "worker1"})
	wantError(t, "a request id used for another action", code, body, 409, fmt.Sprintf("request req-1 was already used to accept task %s", tk.ID))

	// a server-made request id shows in the timeline; a device token that
	// read it gets no replay of staff's step, nor the reporter's name
	// (issue 14, finding 2)
	rep := b.report(t, "resident", map[string]any{"title": "垃圾桶倒了", "camera": "cam1"})
	b.move(t, "staff", rep.ID, "accept", nil)
	_, body = call(t, "POST", b.url+"/api/device", "", "")
	var dev api.TokenResponse
	if err := json.Unmarshal([]byte(body), &dev); err != nil || dev.Token == "" {
		t.Fatalf("device token: %s", body)
	}
	var seen api.TaskDetail
	b.must(t, 200, "GET", "/api/tasks/"+rep.ID, dev.Token, nil, &seen)
	rid := seen.Timeline[len(seen.Timeline)-1].RequestID
	if !strings.HasPrefix(rid, "srv-") || seen.Task.Reporter != "" {
		t.Fatalf("a device sees request id %q and reporter %q, want a srv- id and no reporter", rid, seen.Task.Reporter)
	}
	code, body = b.do(t, "POST", path(rep.ID, "accept"), dev.Token, map[string]any{"request_id": rid})
	if code != 409 || strings.Contains(body, `"resident"`) {
		t.Errorf("a device replaying staff's request id: %d %s, want 409 without the reporter", code, body)
	}

	// staff merge a duplicate into another task: it is rejected, the other
	// one's timeline says so; a merge without into is a 400
	dup := b.report(t, "resident", map[string]any{"title": "垃圾桶又倒了", "camera": "cam1"})
	code, body = b.do(t, "POST", path(dup.ID, "merge"), "staff", map[string]any{})
	wantError(t, "a merge without into", code, body, 400, "a merge needs the task this one duplicates (into)")
	var merged api.TaskChange
	b.must(t, 200, "POST", path(dup.ID, "merge"), "staff", map[string]any{"into": tk.ID}, &merged)
	var kept api.TaskDetail
	b.must(t, 200, "GET", "/api/tasks/"+tk.ID, "staff", nil, &kept)
	if j := kept.Timeline[len(kept.Timeline)-1]; merged.Task.State != task.Rejected || merged.Task.DuplicateOf != tk.ID ||
		j.Action != task.Join || j.Other != dup.ID {
		t.Errorf("merge gave %+v; the kept task ends with %+v", merged.Task, j)
	}

	// dispatch goes only to a grid worker of the task's grid
	for _, tc := range []struct{ worker, msg string }{
		{"nobody", `no user "nobody": dispatch to a grid worker of grid g1 (worker1, worker3)`},
		{"staff", "staff is a staff, not a grid worker: dispatch to a grid worker of grid g1 (worker1, worker3)"},
		{"worker2", "worker worker2 works in grid g2, not in grid g1: dispatch to a grid worker of grid g1 (worker1, worker3)"},
	} {
		code, body := b.do(t, "POST", path(tk.ID, "dispatch"), "staff", map[string]any{"worker": tc.worker})
		wantError(t, "dispatch to "+tc.worker, code, body, 400, tc.msg)
	}
	// Idempotency-Key stands in for request_id
	req, _ := http.NewRequest("POST", b.url+path(tk.ID, "dispatch"), strings.NewReader(`{"worker": "worker1"}`))
	req.Header.Set("Authorization", "Bearer "+staffToken)
	req.Header.Set("Idempotency-Key", "key-7")
	var entries []task.Entry
	for range 2 {
		res, err := http.DefaultClient.Do(req.Clone(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		var ch api.TaskChange
		json.NewDecoder(res.Body).Decode(&ch)
		res.Body.Close()
		if res.StatusCode != 200 || ch.Entry == nil {
			t.Fatalf("dispatch with Idempotency-Key = %d", res.StatusCode)
		}
		entries = append(entries, *ch.Entry)
		req.Body = io.NopCloser(strings.NewReader(`{"worker": "worker1"}`))
	}
	if entries[0].RequestID != "key-7" || !reflect.DeepEqual(entries[0], entries[1]) || entries[0].Worker != "worker1" {
		t.Errorf("dispatch twice with Idempotency-Key key-7: %+v then %+v", entries[0], entries[1])
	}
	// a worker of the grid to whom it is not dispatched
	code, body = b.do(t, "POST", path(tk.ID, "claim"), "worker3", nil)
	wantError(t, "worker3 claims worker1's task", code, body, 403, fmt.Sprintf("task %s is not dispatched to you", tk.ID))
	// arriving far away
	code, body = b.do(t, "POST", path(tk.ID, "claim"), "worker1", nil)
	if code != 200 {
		t.Fatalf("claim = %d %s", code, body)
	}
	code, body = b.do(t, "POST", path(tk.ID, "arrive"), "worker1", map[string]any{"evidence": map[string]any{"gps": map[string]any{"lat": 33.53, "lng": 119.148}}})
	wantError(t, "arrive 1.3 km away", code, body, 400, "you are 1337 m from the task's place; check in within 50 m of it")
}

func TestUploadsAndSnapshots(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withEvents(), withLogins())
	dir := filepath.Join(b.cfg.DataDir, "uploads")
	stored := func() []string {
		es, _ := os.ReadDir(dir)
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}

	big := append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{0x55}, 7_550_000)...)
	code, body := b.upload(t, "worker1", big)
	wantError(t, "a 7.2 MB photo", code, body, 413, "the photo is 7.2 MB; the limit is 5 MB")
	if got := stored(); len(got) != 0 {
		t.Errorf("after a refused upload the folder holds %v", got)
	}
	code, body = b.upload(t, "worker1", []byte("just some words, not a picture"))
	wantError(t, "a text file", code, body, 415, "the file is text/plain, not a photo: send a JPEG or PNG picture")
	code, body = b.upload(t, "", pngBytes)
	if code != 401 {
		t.Errorf("upload without a token = %d %s, want 401", code, body)
	}
	if got := stored(); len(got) != 0 {
		t.Errorf("after refused uploads the folder holds %v", got)
	}

	name := b.photo(t, "resident")
	if !strings.HasSuffix(name, ".png") || !slices.Equal(stored(), []string{name}) {
		t.Errorf("upload stored %v as %q, want one .png", stored(), name)
	}
	// a photo no task uses yet: its uploader and the center see it, nobody
	// else (issue 14, finding 8: any token fetched any upload by name)
	fetch := func(token string) (int, string, []byte) {
		req, _ := http.NewRequest("GET", b.url+"/api/uploads/"+name+"?token="+token, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, res.Header.Get("Content-Type"), got
	}
	for _, who := range []string{"resident", "staff"} {
		if code, typ, got := fetch(b.tokens[who]); code != 200 || typ != "image/png" || !bytes.Equal(got, pngBytes) {
			t.Errorf("%s GET the upload = %d %s, %d bytes", who, code, typ, len(got))
		}
	}
	for _, who := range []string{"worker1", "worker2", "resident2"} {
		if code, _, got := fetch(b.tokens[who]); code != 404 {
			t.Errorf("%s GET another's unused upload = %d %q, want 404", who, code, got)
		}
	}
	if code, body := b.do(t, "POST", "/api/reports", "resident2", map[string]any{"title": "x", "camera": "cam1", "photo": name}); code != 400 {
		t.Errorf("resident2 attaching resident's photo = %d %s, want 400", code, body)
	}
	// once the resident's report on a camera of g1 uses it: g1's workers
	// see it too, others still not
	b.report(t, "resident", map[string]any{"title": "垃圾桶倒了", "camera": "cam1", "photo": name})
	if code, _, _ := fetch(b.tokens["worker1"]); code != 200 {
		t.Errorf("worker1 (g1) GET the photo of a g1 report = %d, want 200", code)
	}
	if code, _, _ := fetch(b.tokens["worker2"]); code != 404 {
		t.Errorf("worker2 (not g1) GET the photo of a g1 report = %d, want 404", code)
	}
	for _, tc := range []struct {
		path, user string
		code       int
		msg        string
	}{
		{"/api/uploads/" + name, "", 401, "this needs a token: log in (POST /api/login), or get a resident's device token (POST /api/device), and send it as Authorization: Bearer <token>"},
		{"/api/uploads/..%2F..%2Fetc%2Fpasswd", "staff", 404, "no such page or route: /api/uploads/../../etc/passwd"},
		{"/api/uploads/..%5C..%5Cconfig.yaml", "staff", 400, `"..\\..\\config.yaml" is not the name of an uploaded photo`},
		{"/api/uploads/u000000000ffffffffffffffff.jpg", "staff", 404, `no uploaded photo "u000000000ffffffffffffffff.jpg"`},
		{"/api/snapshots/in1.jpg", "resident", 403, "this needs the role staff or admin or worker; you are logged in as resident (resident)"},
		{"/api/snapshots/..%5Cuploads%5C" + name, "staff", 400, fmt.Sprintf("%q is not the name of a detection snapshot", `..\uploads\`+name)},
		{"/api/snapshots/in2.jpg", "worker1", 404, `no snapshot "in2.jpg"`},
	} {
		code, body := b.do(t, "GET", tc.path, tc.user, nil)
		wantError(t, "GET "+tc.path, code, body, tc.code, tc.msg)
	}
	os.MkdirAll(b.snaps, 0o755)
	os.WriteFile(filepath.Join(b.snaps, "in1.jpg"), []byte("\xff\xd8jpeg"), 0o644)
	if code, body := b.do(t, "GET", "/api/snapshots/in1.jpg", "worker1", nil); code != 200 || body != "\xff\xd8jpeg" {
		t.Errorf("worker1 GET a snapshot = %d %q", code, body)
	}
}

func TestReportsNeedWordsAndAPlace(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withEvents(), withLogins())
	long := strings.Repeat("很", 501)
	for _, tc := range []struct {
		name, user string
		body       any
		code       int
		msg        string
	}{
		{"no words", "resident", map[string]any{"camera": "cam1"}, 400, "a report needs words: a title or a description of the problem"},
		{"too many words", "resident", map[string]any{"description": long, "camera": "cam1"}, 400, "the description is 501 characters long; at most 500 are allowed"},
		{"no place", "resident", map[string]any{"title": "有人乱扔垃圾"}, 400, "say where the problem is: name a camera (camera) or give the place (location with lat and lng)"},
		{"a private camera", "resident", map[string]any{"title": "x", "camera": "cam2"}, 403, `camera "cam2" is not public: report on a public camera, or give the place (location) instead`},
		{"no such camera", "resident", map[string]any{"title": "x", "camera": "cam9"}, 400, `no camera with id "cam9"`},
		{"not JSON", "resident", "title=x", 400, `the body is not JSON of the right shape (invalid character 'i' in literal true (expecting 'r')); send JSON like ` + `{"title": "垃圾桶倒了", "description": "花巷口的垃圾桶被风吹倒了", "photo": "…", "location": {"lat": 33.52, "lng": 119.14}}`},
		{"the center", "staff", map[string]any{"title": "x", "camera": "cam1"}, 403, "reports are for residents and workers; the center creates tasks with POST /api/tasks"},
		{"nobody", "", map[string]any{"title": "x", "camera": "cam1"}, 401, "this needs a token: log in (POST /api/login), or get a resident's device token (POST /api/device), and send it as Authorization: Bearer <token>"},
	} {
		code, body := b.do(t, "POST", "/api/reports", tc.user, tc.body)
		wantError(t, tc.name, code, body, tc.code, tc.msg)
	}
	// a device token reports too; a worker's report is a patrol report on
	// the worker's own grid's private camera
	code, body := call(t, "POST", b.url+"/api/device", "", "")
	var dev api.TokenResponse
	if json.Unmarshal([]byte(body), &dev); code != 201 {
		t.Fatal(body)
	}
	b.tokens["device"] = dev.Token
	r := b.report(t, "device", map[string]any{"description": "花巷口东侧的垃圾桶被风吹倒了，垃圾撒了一地，请尽快处理一下谢谢", "camera": "cam1", "photo": b.photo(t, "device")})
	if r.Reporter != dev.User || r.Title != "花巷口东侧的垃圾桶被风吹倒了，垃圾撒了一地，请尽快处理一下谢…" || r.Location.Address != "河下古镇花巷口" || r.Photo == "" {
		t.Errorf("device report = %+v", r)
	}
	p := b.report(t, "worker1", map[string]any{"title": "井盖缺失", "camera": "cam2"})
	if p.Source != "patrol" || p.Grid != "g1" {
		t.Errorf("patrol report = %+v", p)
	}
}

// taskEvents reads the `event: task` messages of user's event stream.
func (b *bridge) taskEvents(t *testing.T, user string) <-chan task.Event {
	t.Helper()
	msgs := testenv.SSE(t, b.url+"/api/events?token="+b.tokens[user])
	out := make(chan task.Event, 100)
	go func() {
		for m := range msgs {
			var ev task.Event
			if m.Name == "task" && json.Unmarshal([]byte(m.Data), &ev) == nil {
				out <- ev
			}
		}
	}()
	return out
}

func TestTaskEventsGoToWhoMaySeeThem(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withEvents(), withLogins())
	streams := map[string]<-chan task.Event{}
	for _, u := range []string{"staff", "worker1", "worker2", "resident", "resident2"} {
		streams[u] = b.taskEvents(t, u)
	}
	time.Sleep(100 * time.Millisecond) // the streams are subscribed once their headers came; this is margin
	g1 := b.create(t, "staff", map[string]any{"title": "井盖松动", "camera": "cam2", "accept": true})
	g2 := b.report(t, "resident", map[string]any{"title": "路灯不亮", "location": map[string]any{"lat": 33.5301, "lng": 119.1479}})
	b.move(t, "staff", g2.ID, "accept", nil)

	want := map[string][]string{
		"staff":     {g1.ID + " create", g1.ID + " accept", g2.ID + " create", g2.ID + " accept"},
		"worker1":   {g1.ID + " create", g1.ID + " accept"},
		"worker2":   {g2.ID + " create", g2.ID + " accept"},
		"resident":  {g2.ID + " create", g2.ID + " accept"},
		"resident2": {},
	}
	for u, ch := range streams {
		got := []string{}
		timeout := time.After(2 * time.Second)
		if len(want[u]) == 0 {
			timeout = time.After(300 * time.Millisecond)
		}
	read:
		for len(got) < len(want[u]) || len(want[u]) == 0 {
			select {
			case ev := <-ch:
				if ev.Type != "task" || ev.Task == nil || ev.Entry == nil {
					t.Errorf("%s got event %+v, want type task with the task and its entry", u, ev)
					continue
				}
				got = append(got, ev.Task.ID+" "+string(ev.Entry.Action))
			case <-timeout:
				break read
			}
		}
		select { // nothing more
		case ev := <-ch:
			got = append(got, ev.Task.ID+" "+string(ev.Entry.Action))
		case <-time.After(100 * time.Millisecond):
		}
		if !slices.Equal(got, want[u]) {
			t.Errorf("%s's task events: %v, want %v", u, got, want[u])
		}
	}
}

func TestWorkersListOpenTasks(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withEvents(), withLogins())
	tk := b.create(t, "staff", map[string]any{"title": "井盖松动", "camera": "cam2", "accept": true})
	b.move(t, "staff", tk.ID, "dispatch", map[string]any{"worker": "worker3"})
	var ws struct{ Workers []api.Worker }
	b.must(t, 200, "GET", "/api/workers?grid=g1", "staff", nil, &ws)
	want := []api.Worker{
		{User: "worker1", Name: "worker1", Grids: []string{"g1"}, Phone: "13800000002"},
		{User: "worker3", Name: "worker3", Grids: []string{"g1", "g2"}, Phone: "13800000004", OpenTasks: 1},
	}
	if fmt.Sprint(ws.Workers) != fmt.Sprint(want) {
		t.Errorf("GET /api/workers?grid=g1 = %+v\nwant %+v", ws.Workers, want)
	}
	code, body := b.do(t, "GET", "/api/workers", "worker1", nil)
	wantError(t, "a worker lists workers", code, body, 403, "this needs the role staff or admin; you are logged in as worker1 (worker)")
	code, body = b.do(t, "GET", "/api/workers?grid=g9", "staff", nil)
	wantError(t, "workers of no grid", code, body, 400, `no grid "g9"; the grids are g1, g2`)
}

// TestTheWholeLoopThroughHTTP is the story without video: a resident
// reports a bin knocked over on the public camera, staff accept and
// dispatch, the worker claims, checks in by GPS, submits a photo, staff
// verify and close, the resident rates; every step is in the timeline, the
// figures count it, and a restarted bridge still has it all.
func TestTheWholeLoopThroughHTTP(t *testing.T) {
	cfg := taskConfig(t)
	b := serve(t, cfg, withTasks(), withEvents(), withLogins())
	minute := func() { b.clock.Add(time.Minute) }

	photo := b.photo(t, "resident")
	tk := b.report(t, "resident", map[string]any{"title": "垃圾桶倒了", "description": "花巷口的垃圾桶倒了", "camera": "cam1", "photo": photo})
	id := tk.ID
	minute()
	b.move(t, "staff", id, "accept", map[string]any{"request_id": "acc-1"})
	minute()
	b.move(t, "staff", id, "dispatch", map[string]any{"worker": "worker1", "note": "请尽快处理"})
	var ws struct{ Workers []api.Worker }
	b.must(t, 200, "GET", "/api/workers", "admin", nil, &ws)
	if ws.Workers[0].User != "worker1" || ws.Workers[0].OpenTasks != 1 {
		t.Errorf("workers after the dispatch: %+v, want worker1 with 1 open task", ws.Workers)
	}
	minute()
	var d api.TaskDetail
	b.must(t, 200, "GET", "/api/tasks/"+id, "worker1", nil, &d)
	if !slices.Equal(d.Allowed, []string{"claim"}) {
		t.Errorf("worker1 may %v on the dispatched task, want [claim]", d.Allowed)
	}
	if ids, _ := b.list(t, "worker1", "mine=1"); !slices.Equal(ids, []string{id}) {
		t.Errorf("worker1's own tasks: %v, want [%s]", ids, id)
	}
	b.move(t, "worker1", id, "claim", nil)
	minute()
	arrived := b.move(t, "worker1", id, "arrive", map[string]any{"evidence": map[string]any{"gps": map[string]any{"lat": 33.52015, "lng": 119.14005, "accuracy_m": 6}}})
	if g := arrived.Entry.Evidence.GPS; g == nil || g.DistanceM < 10 || g.DistanceM > 25 || g.AccuracyM != 6 {
		t.Errorf("arrival's GPS evidence = %+v, want about 17 m from the camera", g)
	}
	minute()
	fix := b.photo(t, "worker1")
	b.move(t, "worker1", id, "submit", map[string]any{"note": "已扶正", "evidence": map[string]any{"photo": fix}})
	minute()
	b.move(t, "staff", id, "verify", nil)
	code, body := b.do(t, "POST", "/api/tasks/"+id+"/rating", "resident", map[string]any{"stars": 5})
	wantError(t, "rating a verified task", code, body, 409, fmt.Sprintf("only a closed task can be rated; task %s is verified", id))
	minute()
	b.move(t, "staff", id, "close", nil)
	minute()

	code, body = b.do(t, "POST", "/api/tasks/"+id+"/rating", "worker1", map[string]any{"stars": 5})
	wantError(t, "a worker rates", code, body, 403, "this needs the role resident or staff or admin; you are logged in as worker1 (worker)")
	code, body = b.do(t, "POST", "/api/tasks/"+id+"/rating", "resident", `{"stars": "five"}`)
	wantError(t, "stars in words", code, body, 400, `the field "stars" must be a number, not string; send JSON like {"stars": 5, "comment": "处理得很快"}`)
	var rated api.TaskChange
	b.must(t, 201, "POST", "/api/tasks/"+id+"/rating", "resident", map[string]any{"stars": 5, "comment": "处理得很快"}, &rated)
	if rated.Entry.Action != task.Rate || rated.Task.Ratings.Count != 1 {
		t.Errorf("rating = %+v", rated)
	}
	// another resident watched the public camera, and devices without
	// accounts: none of them rates (issue 14, finding 3)
	code, body = b.do(t, "POST", "/api/tasks/"+id+"/rating", "resident2", map[string]any{"stars": 1})
	wantError(t, "a resident rating another's report", code, body, 403,
		fmt.Sprintf("only the resident who reported task %s rates it; the center calls back (回访) for the others", id))
	for range 3 {
		_, body := call(t, "POST", b.url+"/api/device", "", "")
		var dev api.TokenResponse
		if err := json.Unmarshal([]byte(body), &dev); err != nil || dev.Token == "" {
			t.Fatalf("device token: %s", body)
		}
		if code, body := b.do(t, "POST", "/api/tasks/"+id+"/rating", dev.Token, map[string]any{"stars": 1}); code != 403 {
			t.Errorf("a device token rating a task it did not report: %d %s, want 403", code, body)
		}
	}
	// the reporter changes their mind: the new rating replaces the first;
	// staff's follow-up (回访) is kept, and the reporter's own counts
	b.clock.Add(time.Second)
	b.must(t, 201, "POST", "/api/tasks/"+id+"/rating", "resident", map[string]any{"stars": 4, "comment": "还行"}, &rated)
	b.must(t, 201, "POST", "/api/tasks/"+id+"/rating", "staff", map[string]any{"stars": 2, "comment": "电话回访"}, nil)
	b.clock.Add(-time.Second)

	b.must(t, 200, "GET", "/api/tasks/"+id, "staff", nil, &d)
	type step struct {
		action, by, role, source string
		at                       time.Time
	}
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	want := []step{
		{"create", "resident", "resident", "person", at(0)},
		{"accept", "staff", "staff", "person", at(1)},
		{"dispatch", "staff", "staff", "person", at(2)},
		{"claim", "worker1", "worker", "person", at(3)},
		{"arrive", "worker1", "worker", "person", at(4)},
		{"submit", "worker1", "worker", "person", at(5)},
		{"verify", "staff", "staff", "person", at(6)},
		{"close", "staff", "staff", "person", at(7)},
		{"rate", "resident", "resident", "person", at(8)},
		{"rate", "resident", "resident", "person", at(8).Add(time.Second)},
		{"rate", "staff", "staff", "person", at(8).Add(time.Second)},
	}
	var got []step
	for _, e := range d.Timeline {
		got = append(got, step{string(e.Action), e.By, string(e.Role), e.Source, time.UnixMilli(e.AtMS).UTC()})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("timeline:\n%v\nwant\n%v", got, want)
	}
	tl := d.Timeline
	if tl[0].Evidence == nil || tl[0].Evidence.Photo != photo || tl[2].Worker != "worker1" || tl[2].Grid != "g1" || tl[2].Note != "请尽快处理" ||
		tl[5].Evidence == nil || tl[5].Evidence.Photo != fix || tl[1].RequestID != "acc-1" || tl[8].Stars != 5 || tl[8].Note != "处理得很快" {
		t.Errorf("timeline details: %+v", tl)
	}
	if d.Task.State != task.Closed || len(d.Ratings) != 2 || d.Task.Ratings != (task.RatingSummary{Count: 1, Stars: 4, Good: 1, Mean: 4}) ||
		!d.Ratings[1].FollowUp || len(d.Allowed) != 0 {
		t.Errorf("closed task = %+v, ratings %+v, allowed %v", d.Task, d.Ratings, d.Allowed)
	}
	// the resident sees the photos of the whole story
	if code, _ := b.do(t, "GET", "/api/uploads/"+fix, "resident", nil); code != 200 {
		t.Errorf("resident GET the worker's photo = %d", code)
	}

	var st task.Stats
	b.must(t, 200, "GET", "/api/stats", "staff", nil, &st)
	from, to := time.Date(2030, 1, 2, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)), time.Date(2030, 1, 3, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	if st.Query.FromMS != from.UnixMilli() || st.Query.ToMS != to.UnixMilli() {
		t.Errorf("stats by default over %d..%d, want today in Asia/Shanghai %d..%d", st.Query.FromMS, st.Query.ToMS, from.UnixMilli(), to.UnixMilli())
	}
	if st.Reported != 1 || st.Closed != 1 || st.ClosingRate != 1 || st.Open != 0 || st.Satisfaction.Count != 1 || st.Satisfaction.Mean != 4 || st.Satisfaction.Share != 1 {
		t.Errorf("stats = %+v; want 1 reported and closed, closing rate 1, the reporter's one rating of 4", st)
	}
	if st.Stages[len(st.Stages)-1].Stage != "total" || st.Stages[len(st.Stages)-1].MedianMS != 7*60*1000 {
		t.Errorf("total time = %+v, want 7 minutes", st.Stages[len(st.Stages)-1])
	}
	b.must(t, 200, "GET", fmt.Sprintf("/api/stats?from_ms=%d&grid=g2", t0.UnixMilli()), "staff", nil, &st)
	if st.Reported != 0 || st.Query.Grid != "g2" {
		t.Errorf("stats of grid g2 = %+v, want none", st)
	}
	code, body = b.do(t, "GET", "/api/stats", "worker1", nil)
	wantError(t, "a worker asks for the figures", code, body, 403, "this needs the role staff or admin; you are logged in as worker1 (worker)")

	// a restart: a new store and a new server over the same Redis, going on
	// at the same time
	again := serve(t, cfg, withTasks(), withEvents(), withLogins(), withClock(b.clock))
	var after api.TaskDetail
	again.must(t, 200, "GET", "/api/tasks/"+id, "staff", nil, &after)
	before, _ := json.Marshal(d)
	now, _ := json.Marshal(after)
	if !bytes.Equal(before, now) {
		t.Errorf("after a restart GET /api/tasks/%s =\n%s\nwant\n%s", id, now, before)
	}
	if ids, total := again.list(t, "resident", ""); !slices.Equal(ids, []string{id}) || total != 1 {
		t.Errorf("after a restart the resident lists %v (%d)", ids, total)
	}
}

// wantCoded checks a refusal's message code and parameters, which the
// pages translate (web/i18n.js); the English "error" stays beside them.
func wantCoded(t *testing.T, what, body, wantCode string, wantParams map[string]any) {
	t.Helper()
	var e struct {
		Error  string
		Code   string
		Params map[string]any
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Errorf("%s: %s is not an error body with a sentence", what, body)
		return
	}
	if e.Code != wantCode || !reflect.DeepEqual(e.Params, wantParams) {
		t.Errorf("%s: code %q params %v, want %q %v (body %s)", what, e.Code, e.Params, wantCode, wantParams, body)
	}
}

func TestRefusalsComeAsCodesWithParameters(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withLogins())
	tk := b.create(t, "staff", map[string]any{"title": "垃圾桶倒了", "camera": "cam1", "zone": "垃圾桶", "accept": true})
	path := func(id, action string) string { return "/api/tasks/" + id + "/" + action }

	code, body := b.do(t, "GET", "/api/tasks/Tnothing", "staff", nil)
	wantError(t, "GET an unknown task", code, body, 404, `no task "Tnothing"`)
	wantCoded(t, "GET an unknown task", body, "task.not_found", map[string]any{"id": "Tnothing"})
	code, body = b.do(t, "POST", path("Tnothing", "accept"), "staff", nil)
	wantCoded(t, "accept an unknown task", body, "task.not_found", map[string]any{"id": "Tnothing"})
	_, body = b.do(t, "GET", "/api/tasks/"+tk.ID, "worker2", nil)
	wantCoded(t, "a task of another grid", body, "task.not_found", map[string]any{"id": tk.ID})

	_, body = b.do(t, "POST", path(tk.ID, "close"), "staff", nil)
	wantCoded(t, "closing an accepted task", body, "task.transition",
		map[string]any{"action": "close", "state": "accepted", "allowed": []any{"dispatch", "reject", "merge"}})
	_, body = b.do(t, "POST", path(tk.ID, "claim"), "staff", nil)
	wantCoded(t, "staff claims", body, "task.role_may_not", map[string]any{"role": "staff", "action": "claim"})

	b.move(t, "staff", tk.ID, "dispatch", map[string]any{"worker": "worker1"})
	b.move(t, "worker1", tk.ID, "claim", nil)
	_, body = b.do(t, "POST", path(tk.ID, "arrive"), "worker1", map[string]any{})
	wantCoded(t, "arrive without GPS", body, "task.arrive_needs_gps", map[string]any{})
	code, body = b.do(t, "POST", path(tk.ID, "arrive"), "worker1", map[string]any{"evidence": map[string]any{"gps": map[string]any{"lat": 33.53, "lng": 119.148}}})
	wantError(t, "arrive 1.3 km away", code, body, 400, "you are 1337 m from the task's place; check in within 50 m of it")
	wantCoded(t, "arrive 1.3 km away", body, "task.gps_too_far", map[string]any{"distance_m": 1337.0, "radius_m": 50.0})

	_, body = b.do(t, "POST", "/api/reports", "resident", map[string]any{"title": "路灯坏了"})
	wantCoded(t, "a report with no place", body, "api.report_where", map[string]any{})
	_, body = b.do(t, "GET", "/api/tasks", "", nil)
	wantCoded(t, "nobody lists tasks", body, "api.token_needed", map[string]any{})

	// a moment goes as Unix ms, never as a clock time to read in some zone
	b.clock.Add(13 * time.Hour)
	_, body = b.do(t, "GET", "/api/tasks", "worker1", nil)
	var e struct{ Params map[string]any }
	if json.Unmarshal([]byte(body), &e); !strings.Contains(body, `"code":"api.token_expired"`) || e.Params["at_ms"] == nil {
		t.Errorf("an expired token: %s, want the code api.token_expired with at_ms", body)
	}
}
