package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"qianliyan/api"
	"qianliyan/detect"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/testenv"
	"qianliyan/internal/whepclient"
	"qianliyan/record"
	"qianliyan/task"
)

// storyClient speaks the bridge's JSON API for one person.
type storyClient struct {
	t        testing.TB
	base     string
	token    string
	formType string // the Content-Type of a multipart body
}

// do sends body (JSON unless it is a *multipart.Writer's form) and decodes
// the answer into out; the status must be want.
func (c storyClient) do(method, path string, body any, want int, out any) {
	c.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case *bytes.Buffer:
		rd = b
		ctype = c.formType
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

func (c storyClient) task(id string) api.TaskDetail {
	c.t.Helper()
	var d api.TaskDetail
	c.do(http.MethodGet, "/api/tasks/"+id, nil, http.StatusOK, &d)
	return d
}

// jpegOf fetches path and checks that it is a real JPEG picture.
func (c storyClient) jpegOf(path string) image.Point {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		c.t.Errorf("GET %s: %d %s", path, res.StatusCode, data)
		return image.Point{}
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		c.t.Errorf("GET %s: not a JPEG: %v (%d bytes)", path, err, len(data))
		return image.Point{}
	}
	return img.Bounds().Size()
}

func login(t *testing.T, base, user, password string) storyClient {
	t.Helper()
	var tok api.TokenResponse
	storyClient{t: t, base: base}.do(http.MethodPost, "/api/login", map[string]string{"user": user, "password": password}, http.StatusOK, &tok)
	return storyClient{t: t, base: base, token: tok.Token}
}

// until polls f every 100 ms until it is true or the deadline passes.
func until(t *testing.T, what string, deadline time.Time, f func() bool) time.Time {
	t.Helper()
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not by %s", what, deadline.Format("15:04:05.000"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Now()
}

// TestStoryBinKnockedOverToRating is the story of DESIGN.md over real
// RTSP, WebRTC, Redis and HTTP with the real bridge binary and camsim's
// scripted bin scene (a 60 s loop at 10 fps): the bin falls at 20 s, an
// incident becomes a task, staff accept and dispatch it to worker1, who
// claims it; a person walks into the bin's zone at about 39.6 s and the
// task goes arrived, seen on camera; the bin stands again at 55 s, the
// worker submits with a photo and the camera proposes verification with
// before and after pictures; staff verify and close; a resident who
// watched may not rate it, staff record a 5-star follow-up (回访).
// A WHEP viewer plays the camera throughout. The timeline must have every
// step, in order; its log is the story.
// startBinStory starts camsim's scripted bin scene (10 fps) and the bridge
// watching it, with the staff member staff1 (password staff-pw) and the
// worker worker1 of grid hexia-01 (worker-pw), a 3 s verification hold.
func startBinStory(t *testing.T) (*camsimproc.Proc, *bridgeProc) {
	t.Helper()
	testenv.Build(t, "./cmd/bridge") // before the scene's clock starts
	cam := camsimproc.Start(t, "-cameras", "1", "-fps", "10", "-scene", "bin")
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	cfg := fmt.Sprintf(`detect: {mode: active, rate: 4, zone_hold: 1.5s, calm_for: 1h}
tasks: {verify_hold: 3s}
users:
  - {name: staff1, display_name: "值班员 王敏", role: staff, password_hash: %q}
  - {name: worker1, display_name: "网格员 李强", role: worker, grids: [hexia-01], phone: "13800000001", password_hash: %q}`,
		hash("staff-pw"), hash("worker-pw"))
	br := startBridgeWith(t, []cameraSpec{{id: "bin", url: cam.SceneURL("bin"), public: true,
		zones: "[{name: 垃圾桶, kind: bin, polygon: " + binZoneYAML + "}]"}}, "", cfg)
	return cam, br
}

func TestStoryBinKnockedOverToRating(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of scripted scene")
	}
	const length = 60 * time.Second
	cam, b := startBinStory(t)
	origin := cam.SceneWall(0, length)
	scene := func(at time.Time) float64 { return at.Sub(origin).Seconds() }
	staff := login(t, b.URL, "staff1", "staff-pw")
	worker := login(t, b.URL, "worker1", "worker-pw")

	// The center watches the camera on the wall.
	viewer, err := whepclient.Play(whepclient.HTTP(b.URL+"/whep/bin", staff.token), 0)
	if err != nil {
		t.Fatalf("WHEP: %v", err)
	}
	t.Cleanup(viewer.Close)

	// The normal look: the bin standing, nobody near, at 15 s.
	refAt := cam.SceneWall(15*time.Second, length)
	if wait := time.Until(refAt); wait > 0 {
		time.Sleep(wait)
	} else {
		t.Fatalf("the scene is at %.1f s already: camsim and the bridge took too long to start", scene(time.Now()))
	}
	staff.do(http.MethodPost, "/api/cameras/bin/zones/*/reference", nil, http.StatusAccepted, nil)

	// 20 s: the bin falls → incident → task.
	fall := cam.SceneWall(20*time.Second, length)
	var tk *task.Task
	until(t, "a task from the fallen bin", fall.Add(10*time.Second), func() bool {
		var l api.TaskList
		staff.do(http.MethodGet, "/api/tasks?camera=bin", nil, http.StatusOK, &l)
		if len(l.Tasks) > 0 {
			tk = l.Tasks[0]
		}
		return tk != nil
	})
	var in detect.Incident
	staff.do(http.MethodGet, "/api/incidents/"+tk.IncidentID, nil, http.StatusOK, &in)
	t.Logf("task %s %q from incident %s: %v after the fall; incident→task %d ms",
		tk.ID, tk.Title, in.ID, time.UnixMilli(tk.CreatedMS).Sub(fall).Round(10*time.Millisecond), tk.CreatedMS-in.StartedMS)
	if tk.Kind != detect.ZoneChanged || tk.Zone != "垃圾桶" || tk.Grid != "hexia-01" || tk.State != task.Reported || tk.Photo == "" || tk.Photo != in.Snapshot {
		t.Errorf("task = %+v, want a reported zone_changed task in 垃圾桶, grid hexia-01, with the incident's snapshot %q", tk, in.Snapshot)
	}
	id := tk.ID
	act := func(c storyClient, action string, body any) {
		t.Helper()
		var ch api.TaskChange
		c.do(http.MethodPost, "/api/tasks/"+id+"/"+action, body, http.StatusOK, &ch)
	}

	// The center accepts and dispatches; the worker claims on the phone.
	act(staff, "accept", map[string]any{"request_id": "story-accept"})
	act(staff, "dispatch", map[string]any{"request_id": "story-dispatch", "worker": "worker1"})
	act(worker, "claim", map[string]any{"request_id": "story-claim"})

	// ~39.6 s: a person walks into the zone → arrived, seen on camera.
	enters := cam.SceneWall(39600*time.Millisecond, length)
	var d api.TaskDetail
	seen := until(t, "arrived on camera", enters.Add(6*time.Second), func() bool {
		d = worker.task(id)
		return d.Task.State == task.Arrived
	})
	arr := d.Timeline[len(d.Timeline)-1]
	t.Logf("arrived: sighting %v after the scripted entry, on the task %v after it", time.UnixMilli(arr.AtMS).Sub(enters).Round(10*time.Millisecond),
		seen.Sub(enters).Round(100*time.Millisecond))
	if arr.Action != task.Arrive || arr.Source != task.ByCamera || arr.Evidence == nil || arr.Evidence.Snapshot == "" {
		t.Fatalf("arrival entry = %+v, want arrive by the camera with a snapshot", arr)
	}
	if sz := worker.jpegOf("/api/snapshots/" + arr.Evidence.Snapshot); sz.X < 320 {
		t.Errorf("arrival snapshot is %v", sz)
	}
	if err := viewer.WaitPackets(100, 5*time.Second); err != nil {
		t.Errorf("the center's viewer: %v", err)
	}
	packetsAtArrival := viewer.Packets.Load()

	// The worker photographs the fix, then submits once the bin stands (55 s).
	var up struct {
		Photo string `json:"photo"`
	}
	worker.upload(t, fixPhoto(t), &up)
	back := cam.SceneWall(55*time.Second, length)
	time.Sleep(time.Until(back))
	act(worker, "submit", map[string]any{"request_id": "story-submit", "note": "垃圾桶已扶正", "evidence": map[string]any{"photo": up.Photo}})

	// The zone matches its reference for verify_hold → proposal by camera.
	until(t, "verification proposed by the camera", back.Add(10*time.Second), func() bool {
		d = staff.task(id)
		return d.Task.Proposal != nil
	})
	p := d.Task.Proposal
	t.Logf("proposed %v after the bin was back: %s", time.UnixMilli(p.AtMS).Sub(back).Round(10*time.Millisecond), p.Verdict)
	if p.Before != tk.Photo || p.After == "" || p.After == p.Before || p.Camera != "bin" || p.State != task.Submitted {
		t.Errorf("proposal = %+v, want before %q (the incident's) and a new after picture", p, tk.Photo)
	}
	for _, pic := range []string{p.Before, p.After} {
		if sz := staff.jpegOf("/api/snapshots/" + pic); sz.X < 320 {
			t.Errorf("snapshot %s is %v", pic, sz)
		}
	}
	staff.jpegOf("/api/uploads/" + up.Photo)

	// The center verifies with one click and closes. A resident who watched
	// may not rate a task the camera reported; the center calls back (回访)
	// and records the rating.
	act(staff, "verify", map[string]any{"request_id": "story-verify"})
	act(staff, "close", map[string]any{"request_id": "story-close", "note": "结案"})
	var dev api.TokenResponse
	storyClient{t: t, base: b.URL}.do(http.MethodPost, "/api/device", nil, http.StatusCreated, &dev)
	resident := storyClient{t: t, base: b.URL, token: dev.Token}
	resident.do(http.MethodPost, "/api/tasks/"+id+"/rating", map[string]any{"stars": 1}, http.StatusForbidden, nil)
	staff.do(http.MethodPost, "/api/tasks/"+id+"/rating", map[string]any{"stars": 5, "comment": "电话回访：处理得很快"}, http.StatusCreated, nil)

	if n := viewer.Packets.Load(); n <= packetsAtArrival || viewer.KeyFrames.Load() == 0 {
		t.Errorf("the viewer got %d packets (%d at the arrival), %d key frames: video stopped", n, packetsAtArrival, viewer.KeyFrames.Load())
	}

	d = staff.task(id)
	var got []string
	var prev int64
	for _, e := range d.Timeline {
		step := string(e.Action)
		if e.Source == task.ByCamera {
			step += "[camera]"
		}
		got = append(got, step)
		if e.AtMS < prev || e.AtMS <= 0 {
			t.Errorf("entry %d %s at %d ms, before the one before (%d)", e.Seq, e.Action, e.AtMS, prev)
		}
		prev = e.AtMS
		at := time.UnixMilli(e.AtMS)
		t.Logf("%5.1f s  %s  %-8s %-10s → %-10s by %-12s %s%s", scene(at), at.UTC().Format("15:04:05.000"), e.Action, e.From, e.To, e.By, e.Source, evidenceWords(e))
	}
	// Every step the camera saw, and the worker's submission, keep a clip;
	// the incident's (10 s before the task to 20 s after) is cut by now.
	for _, e := range d.Timeline {
		switch e.Action {
		case task.Create, task.Arrive, task.Submit, task.Propose:
			if e.Evidence == nil || e.Evidence.Clip == nil || e.Evidence.Clip.Camera != "bin" {
				t.Errorf("%s entry has no clip of the camera: %+v", e.Action, e.Evidence)
			}
		}
	}
	if c := d.Timeline[0].Evidence; c != nil && c.Clip != nil {
		var cl record.Clip
		until(t, "the incident's clip cut", time.UnixMilli(c.Clip.EndMS).Add(8*time.Second), func() bool {
			staff.do(http.MethodGet, "/api/clips/"+c.Clip.ID, nil, http.StatusOK, &cl)
			return cl.State != record.ClipPending
		})
		if cl.State != record.ClipReady || cl.Short || cl.Task != id {
			t.Errorf("the incident's clip = %+v, want it ready, whole, of task %s", cl, id)
		}
	}
	want := []string{"create[camera]", "accept", "dispatch", "claim", "arrive[camera]", "submit", "propose[camera]", "verify", "close", "rate"}
	if !slices.Equal(got, want) {
		t.Errorf("timeline %v\nwant     %v", got, want)
	}
	if d.Task.State != task.Closed || d.Task.Ratings.Count != 1 || d.Task.Ratings.Stars != 5 {
		t.Errorf("task ends %s with ratings %+v, want closed and one 5-star rating", d.Task.State, d.Task.Ratings)
	}
}

// binZoneYAML is the bin's zone in camsim's scripted bin scene.
const binZoneYAML = "[[0.27, 0.46], [0.43, 0.46], [0.43, 0.64], [0.27, 0.64]]"

// upload posts a photo as multipart/form-data to /api/uploads.
func (c storyClient) upload(t *testing.T, photo []byte, out any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "fix.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(photo); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	c.formType = mw.FormDataContentType()
	c.do(http.MethodPost, "/api/uploads", &buf, http.StatusCreated, out)
}

// fixPhoto is the worker's photo of the bin put back: a small JPEG.
func fixPhoto(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := range 120 {
		for x := range 160 {
			img.Set(x, y, color.RGBA{uint8(60 + x/2), uint8(90 + y/2), 70, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// evidenceWords is what a timeline entry brings, for the story's log.
func evidenceWords(e task.Entry) string {
	var w []string
	if e.Worker != "" {
		w = append(w, "worker "+e.Worker)
	}
	if e.Stars > 0 {
		w = append(w, fmt.Sprintf("%d stars", e.Stars))
	}
	if e.Note != "" {
		w = append(w, fmt.Sprintf("%q", e.Note))
	}
	if ev := e.Evidence; ev != nil {
		for _, kv := range [][2]string{{"snapshot", ev.Snapshot}, {"photo", ev.Photo}, {"before", ev.Before}, {"after", ev.After}, {"verdict", ev.Verdict}} {
			if kv[1] != "" {
				w = append(w, kv[0]+" "+kv[1])
			}
		}
	}
	if len(w) == 0 {
		return ""
	}
	return "  " + strings.Join(w, ", ")
}
