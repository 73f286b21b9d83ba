package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"qianliyan/api"
	"qianliyan/internal/camsimproc"
	"qianliyan/record"
)

// TestChromiumPlaysAClipAndLooksBackThroughTheRecording: a worker submits
// a task on a recorded camera; the submit entry's clip (2 s before to 3 s
// after) plays on the wall's task panel, decoded frame by frame; then the
// enlarged camera looks back through its recording and returns to live.
func TestChromiumPlaysAClipAndLooksBackThroughTheRecording(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1")
	hash, err := bcrypt.GenerateFromPassword([]byte("worker-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	br := startBridgeWith(t, []cameraSpec{{id: "cam1", url: cam.URL(1)}}, "", fmt.Sprintf(`detect: {mode: off}
record: {before: 2s, after: 3s}
users:
  - {name: worker1, role: worker, grids: [hexia-01], password_hash: %q}`, hash))
	staff := storyClient{t: t, base: br.URL, token: staffToken}
	worker := login(t, br.URL, "worker1", "worker-pw")

	var env api.TaskEnvelope
	staff.do(http.MethodPost, "/api/tasks", map[string]any{"title": "垃圾桶倒了", "camera": "cam1", "accept": true}, http.StatusCreated, &env)
	id := env.Task.ID
	staff.do(http.MethodPost, "/api/tasks/"+id+"/dispatch", map[string]any{"worker": "worker1"}, http.StatusOK, nil)
	worker.do(http.MethodPost, "/api/tasks/"+id+"/claim", nil, http.StatusOK, nil)
	worker.do(http.MethodPost, "/api/tasks/"+id+"/arrive", map[string]any{"evidence": map[string]any{"gps": map[string]any{"lat": 33.5, "lng": 119.1}}}, http.StatusOK, nil)
	time.Sleep(3 * time.Second) // the clip's 2 s before are recorded
	var up struct{ Photo string }
	worker.upload(t, fixPhoto(t), &up)
	var ch api.TaskChange
	worker.do(http.MethodPost, "/api/tasks/"+id+"/submit", map[string]any{"evidence": map[string]any{"photo": up.Photo}}, http.StatusOK, &ch)
	if ch.Entry.Evidence == nil || ch.Entry.Evidence.Clip == nil {
		t.Fatalf("the submit entry lists no clip: %+v", ch.Entry)
	}
	clip := ch.Entry.Evidence.Clip.ID
	var cl record.Clip
	until(t, "the clip ready", time.Now().Add(20*time.Second), func() bool {
		staff.do(http.MethodGet, "/api/clips/"+clip, nil, http.StatusOK, &cl)
		return cl.State != record.ClipPending
	})
	var rec api.Recording
	until(t, "a closed segment", time.Now().Add(30*time.Second), func() bool {
		staff.do(http.MethodGet, "/api/cameras/cam1/recording", nil, http.StatusOK, &rec)
		return len(rec.Segments) > 0
	})

	type frames struct {
		Found              bool
		Frames, Width      int
		Duration, Time     float64
		Start              int64
		Error, State, Mode string
		ElapsedMS          int64 `json:"elapsed_ms"`
	}
	var res struct {
		Clip      frames
		Recording frames
		AfterLive struct {
			Mode          string
			RecordingLeft int `json:"recording_left"`
			Live          frames
			LiveLater     frames `json:"live_later"`
		} `json:"after_live"`
	}
	runScenario(t, &res, "recplay", br.URL, artifacts(t), staffToken, id, "cam1")
	t.Logf("recplay: %+v", res)
	if c := res.Clip; c.Frames <= 25 || c.Width != 1280 || c.State != "ready" || c.Duration < 4 || c.Duration > 7.5 {
		t.Errorf("clip on the task panel: %+v; want ready, > 25 frames of 1280 wide decoded, 5 s ± one GOP", c)
	}
	if r := res.Recording; r.Frames <= 25 || r.Mode != "recording" || r.Start < rec.Segments[0].StartMS {
		t.Errorf("looking back: %+v; want > 25 frames decoded of a kept segment, the tile in recording mode", r)
	}
	if a := res.AfterLive; a.Mode != "" || a.RecordingLeft != 0 || a.LiveLater.Frames <= a.Live.Frames {
		t.Errorf("back to live: %+v; want the recording gone and the live video decoding on", a)
	}
}
