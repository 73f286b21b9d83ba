package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"qianliyan/internal/camsimproc"
)

// artifacts is where the browser tests leave their screenshots (not
// committed): tests/browser/artifacts.
func artifacts(t *testing.T) string {
	t.Helper()
	root, err := camsimproc.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "tests", "browser", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runScenario runs a one-shot scenario and decodes its JSON line into v.
func runScenario(t *testing.T, v any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := node(t, ctx, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check.mjs %s: %v\n%s", args[0], err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("check.mjs %s printed %q: %v\n%s", args[0], out, err, stderr.String())
	}
}

// fourCameras starts camsim with five cameras and the bridge with them:
// cam1..cam4 public, cam5 for staff only.
func fourCameras(t *testing.T) (*camsimproc.Proc, *bridgeProc) {
	cam := camsimproc.Start(t, "-cameras", "5")
	var cams []cameraSpec
	for i := 1; i <= 5; i++ {
		cams = append(cams, cameraSpec{id: fmt.Sprintf("cam%d", i), url: cam.URL(i), public: i <= 4})
	}
	return cam, startBridge(t, cams, "")
}

func TestChromiumScreenPlaysFourTiles(t *testing.T) {
	_, br := fourCameras(t)
	var res struct {
		Tiles []struct {
			Camera        string
			Frames        int
			Width, Height int
			Status        string
		}
		ElapsedMS int `json:"elapsed_ms"`
	}
	runScenario(t, &res, "screen", br.URL, artifacts(t), staffToken, "4")
	if len(res.Tiles) != 4 {
		t.Fatalf("screen shows %d tiles, want 4: %+v", len(res.Tiles), res)
	}
	for _, tile := range res.Tiles {
		if tile.Frames <= 25 || tile.Width != 1280 || tile.Height != 720 || tile.Status != "在线" {
			t.Errorf("tile %s: %d frames decoded, %dx%d, status %q; want > 25 frames of 1280x720, 在线",
				tile.Camera, tile.Frames, tile.Width, tile.Height, tile.Status)
		}
	}
	if res.ElapsedMS > 5000 {
		t.Errorf("four tiles took %d ms to pass 25 decoded frames, want within 5 s", res.ElapsedMS)
	}
	t.Logf("4 tiles past 25 decoded frames in %d ms", res.ElapsedMS)
}

func TestChromiumAppPlaysPublicRefusesPrivate(t *testing.T) {
	_, br := fourCameras(t)
	var res struct {
		Public struct {
			Frames       int
			FirstFrameMS float64 `json:"first_frame_ms"`
		}
		Private struct {
			Frames int
			Status string
		}
	}
	runScenario(t, &res, "app", br.URL, artifacts(t), "cam2", "cam5")
	if res.Public.Frames <= 25 {
		t.Errorf("public camera: %d frames decoded, want > 25", res.Public.Frames)
	}
	if res.Private.Frames != 0 || res.Private.Status != "无权限" {
		t.Errorf("private camera: %d frames, status %q; want none and 无权限", res.Private.Frames, res.Private.Status)
	}
	t.Logf("resident's first frame after %.0f ms", res.Public.FirstFrameMS)
}

func TestChromiumShowsOfflineAndResumes(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1")
	br := startBridge(t, []cameraSpec{{id: "cam1", url: cam.URL(1), public: true}}, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := node(t, ctx, "offline", br.URL, artifacts(t), staffToken, "cam1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	defer stdin.Close()
	lines := bufio.NewScanner(stdout)
	next := func(want string) map[string]any {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("check.mjs ended before %q: %s", want, stderr.String())
		}
		var ev map[string]any
		if err := json.Unmarshal(lines.Bytes(), &ev); err != nil || ev["event"] != want {
			t.Fatalf("check.mjs said %q, want event %q", lines.Text(), want)
		}
		return ev
	}
	say := func(s string) { _, _ = io.WriteString(stdin, s+"\n") }

	next("playing")
	cam.Stop()
	say("wait-status 离线 8000")
	if ev := next("status"); ev["ok"] != true {
		t.Fatalf("page did not show 离线 within 8 s of the camera stopping: %v", ev)
	}
	cam.Restart(t)
	say("wait-frames 25 15000")
	if ev := next("frames"); ev["ok"] != true {
		t.Fatalf("video did not come back on the page within 15 s of the camera's return: %v", ev)
	} else {
		t.Logf("offline shown, video back %v ms after the camera restarted", ev["ms"])
	}
	say("quit")
}

// TestChromiumScreenShowsIncident scripts a bin-zone change with ffmpeg's
// drawbox (a white box from second 10 to 20 of every 20) and checks that
// the big screen lists the incident with its snapshot, marks the camera's
// tile, and shows the incident ended once the box is gone.
func TestChromiumScreenShowsIncident(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1")
	start := time.Now()
	url := cam.PushScene(t, "scene", camsimproc.BinBox("between(mod(t,20),10,20)"))
	br := startBridgeWith(t, []cameraSpec{{id: "scene", url: url, public: true,
		zones: "[{name: 垃圾桶, kind: bin, polygon: " + camsimproc.BinZone + "}]"}},
		"", "detect: {calm_for: 1h, zone_hold: 2s, rate: 4}")
	// the normal look is taken by staff while the box is away (second 3 of a cycle)
	if s := math.Mod(time.Since(start).Seconds(), 20); s < 3 || s > 8 {
		time.Sleep(time.Duration((20 - math.Mod(time.Since(start).Seconds()-3, 20)) * float64(time.Second)))
	}
	req, _ := http.NewRequest(http.MethodPost, br.URL+"/api/cameras/scene/zones/*/reference", nil)
	req.Header.Set("Authorization", "Bearer "+staffToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("take reference: %v %v", err, res)
	}
	res.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := node(t, ctx, "incidents", br.URL, artifacts(t), staffToken, "scene", "30000")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check.mjs incidents: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var found struct {
		Found      bool
		MS         int
		Kind       string
		ImgWidth   int  `json:"img_width"`
		TileMarked bool `json:"tile_marked"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &found); err != nil {
		t.Fatalf("check.mjs printed %q", out)
	}
	if !found.Found || found.Kind != "zone_changed" || found.ImgWidth != 1280 || !found.TileMarked {
		t.Fatalf("screen incident = %+v, want a zone_changed item with its 1280-wide snapshot and the tile marked", found)
	}
	var ended struct{ Ended bool }
	if len(lines) < 2 || json.Unmarshal([]byte(lines[1]), &ended) != nil || !ended.Ended {
		t.Fatalf("the incident did not show as ended after the box went: %q", out)
	}
	t.Logf("incident on the screen %d ms after the page opened", found.MS)
}
