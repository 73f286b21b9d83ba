package detect_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"qianliyan/detect"
	"qianliyan/internal/camsimproc"
)

// walkerScene is a calm street (the bin scene's, without the fall) where
// one person walks into the bin's zone at about 16.6 s of a 40 s loop,
// stays 3 s and walks out.
const walkerScene = `name: walker
variant: 0
length: 40s
bin_x: 0.30
light: {amplitude: 0.03, period: 40s}
people:
  - {walker: c, from: [0.75, 0.615], to: [0.40, 0.615], leave: [0.75, 0.615], start: 12s, walk: 5s, stay: 3s}
`

// TestAutoModeCatchesAWalkerOnACalmCamera: in Auto mode a calm camera
// decodes only its key frames; a person walking into a zone steps it up
// in time to be observed within 2 s of the scripted entry; once they have
// gone, the camera steps down again.
func TestAutoModeCatchesAWalkerOnACalmCamera(t *testing.T) {
	t.Parallel()
	const length = 40 * time.Second
	scene := filepath.Join(t.TempDir(), "walker.yaml")
	if err := os.WriteFile(scene, []byte(walkerScene), 0o644); err != nil {
		t.Fatal(err)
	}
	cam := camsimproc.Start(t, "-cameras", "1", "-fps", "10", "-scene", scene)
	d, store := pipeline(t, fmt.Sprintf(`
cameras:
  - id: walker
    name: 过路巷
    grid: g1
    url: %q
    transport: tcp
    zones:
      - {name: 垃圾桶, kind: bin, polygon: %s}
`, cam.SceneURL("walker"), binZone), detect.Options{Thresholds: detect.DefaultThresholds(), Mode: detect.Auto, Rate: 4,
		CalmFor: time.Hour, StepDown: 3 * time.Second}, time.Minute)
	seen := make(chan detect.Observation, 16)
	store.OnObservation(func(o detect.Observation) {
		if o.Kind == detect.PersonEntered || o.Kind == detect.PersonLeft {
			seen <- o
		}
	})
	w := d.Watcher("walker")

	sleepUntil(t, cam.SceneWall(5*time.Second, length), cam, length)
	w.TakeReference("")
	sleepUntil(t, cam.SceneWall(7*time.Second, length), cam, length)
	calm0 := w.Stats()
	sleepUntil(t, cam.SceneWall(11500*time.Millisecond, length), cam, length)
	calm := w.Stats()
	decoded := calm.Decoded - calm0.Decoded
	t.Logf("calm 7-11.5 s: %d pictures decoded of 45 sent, stepped up %d times", decoded, calm.StepUps-calm0.StepUps)
	if decoded > 20 {
		t.Errorf("a calm camera in Auto mode decoded %d pictures in 4.5 s (45 sent), want about its key frames", decoded)
	}

	enters := cam.SceneWall(16600*time.Millisecond, length)
	select {
	case o := <-seen:
		late := time.UnixMilli(o.AtMS).Sub(enters)
		st := w.Stats()
		t.Logf("%s %v after the scripted entry; %d step-ups", o.Kind, late.Round(10*time.Millisecond), st.StepUps)
		if o.Kind != detect.PersonEntered || late < -time.Second || late > 2*time.Second {
			t.Errorf("observation %+v %v after the scripted entry, want person_entered within 2 s", o, late)
		}
	case <-time.After(time.Until(enters) + 6*time.Second):
		t.Fatal("the walker was not seen entering the zone")
	}
	// gone by about 25 s; 3 s of calm later the camera is back on key frames
	sleepUntil(t, cam.SceneWall(34*time.Second, length), cam, length)
	if st := w.Stats(); st.Stepped || st.StepUps == 0 {
		t.Errorf("at 34 s: stepped up %v after %d step-ups, want back on key frames after one or more", st.Stepped, st.StepUps)
	}
}

// sleepUntil sleeps until at, failing when at has passed (camsim was read
// too late for the scene's timing).
func sleepUntil(t *testing.T, at time.Time, cam *camsimproc.Proc, length time.Duration) {
	t.Helper()
	wait := time.Until(at)
	if wait < -time.Second {
		t.Fatalf("the scene is at %v already, past the moment wanted", cam.SceneTime(time.Now(), length))
	}
	time.Sleep(max(0, wait))
}
