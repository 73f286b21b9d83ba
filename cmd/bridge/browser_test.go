package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"qianliyan/internal/camsimproc"
	"qianliyan/internal/testenv"
)

// artifacts is where the browser tests leave their screenshots (not
// committed): tests/browser/artifacts.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(t), "tests", "browser", "artifacts")
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

// TestChromiumOverviewShowsEveryCamera: the wall's layout of every camera
// (全部) shows each camera's picture from detection's last analysis, 12
// online and one offline greyed with its reason, within 3 s of opening;
// refreshes them without reloading the page; plays no video until a click
// opens a camera live and enlarged.
func TestChromiumOverviewShowsEveryCamera(t *testing.T) {
	const n = 12
	cam := camsimproc.Start(t, "-cameras", strconv.Itoa(n), "-fps", "10")
	var cams []cameraSpec
	for i := 1; i <= n; i++ {
		cams = append(cams, cameraSpec{id: fmt.Sprintf("cam%d", i), url: cam.URL(i), public: true})
	}
	cams = append(cams, cameraSpec{id: "gone", url: "rtsp://127.0.0.1:1/nothing-here", offline: true})
	br := startBridgeWith(t, cams, "", "detect: {mode: idle, calm_for: 1h}")
	waitThumbnails(t, br, n, 20*time.Second)
	var res struct {
		Cells []struct {
			Camera, Status, Why string
			Loaded, Visible     bool
			Width               int
		}
		LoadedMS  int `json:"loaded_ms"`
		Videos    int `json:"videos_in_overview"`
		Refreshed int
		Live      *struct {
			Camera   string
			Frames   int
			Enlarged bool
		}
		OnlineCount string `json:"online_count"`
	}
	runScenario(t, &res, "overview", br.URL, artifacts(t), staffToken, strconv.Itoa(n+1))
	online := 0
	for _, c := range res.Cells {
		switch {
		case c.Camera == "gone":
			if c.Status != "offline" || c.Why == "" || !c.Visible {
				t.Errorf("the offline camera's cell: %+v, want offline with its reason, on screen", c)
			}
		case c.Status == "online" && c.Loaded && c.Width == 320 && c.Visible:
			online++
		default:
			t.Errorf("cell %+v, want online with a 320-wide picture, on screen", c)
		}
	}
	if len(res.Cells) != n+1 || online != n {
		t.Errorf("%d cells, %d online with their picture; want %d and %d", len(res.Cells), online, n+1, n)
	}
	if res.LoadedMS > 3000 {
		t.Errorf("every picture in %d ms, want within 3 s", res.LoadedMS)
	}
	if res.Videos != 0 {
		t.Errorf("the overview plays %d videos, want none: pictures only", res.Videos)
	}
	if res.Refreshed < n {
		t.Errorf("%d of %d pictures refreshed within 8 s, want all", res.Refreshed, n)
	}
	if res.Live == nil || res.Live.Frames <= 25 || !res.Live.Enlarged {
		t.Errorf("a click on a cell: %+v, want its camera live (> 25 frames) and enlarged", res.Live)
	}
	if !strings.Contains(res.OnlineCount, strconv.Itoa(n)) || !strings.Contains(res.OnlineCount, strconv.Itoa(n+1)) {
		t.Errorf("online count %q, want %d of %d", res.OnlineCount, n, n+1)
	}
	t.Logf("%d pictures in %d ms, %d refreshed, live after the click: %+v", online, res.LoadedMS, res.Refreshed, res.Live)
}

// BenchmarkWall16 plays a 16-tile page of the wall in Chromium at 1920x1080,
// sub-streams (640x360) in the tiles, and reports each tile's decoded
// frames a second over 5 s (camsim sends 25): the slowest and the mean.
func BenchmarkWall16(b *testing.B) {
	const n = 16
	cam := camsimproc.Start(b, "-cameras", strconv.Itoa(n), "-sub", "640x360")
	var cams []cameraSpec
	for i := 1; i <= n; i++ {
		cams = append(cams, cameraSpec{id: fmt.Sprintf("cam%d", i), url: cam.URL(i), subURL: cam.URL(i) + "/sub", public: true})
	}
	br := startBridge(b, cams, "")
	for b.Loop() {
		out, err := node(b, context.Background(), "wallfps", br.URL, staffToken, strconv.Itoa(n)).Output()
		if err != nil {
			b.Fatalf("check.mjs wallfps: %v", err)
		}
		var res struct {
			StartMS int `json:"start_ms"`
			Tiles   []struct {
				Camera, Stream string
				Width          int
				FPS            float64
			}
		}
		if err := json.Unmarshal(out, &res); err != nil {
			b.Fatalf("wallfps printed %q: %v", out, err)
		}
		if len(res.Tiles) != n {
			b.Fatalf("%d tiles playing, want %d: %s", len(res.Tiles), n, out)
		}
		low, sum := 1e9, 0.0
		for _, t := range res.Tiles {
			if t.Stream != "sub" || t.Width != 640 {
				b.Errorf("tile %s plays %s at %d wide, want the 640-wide sub-stream", t.Camera, t.Stream, t.Width)
			}
			low, sum = min(low, t.FPS), sum+t.FPS
		}
		b.ReportMetric(low, "slowest-tile-fps")
		b.ReportMetric(sum/float64(n), "mean-tile-fps")
		b.ReportMetric(float64(res.StartMS), "all-playing-ms")
	}
}

// waitThumbnails waits until cameras cam1..camN have a thumbnail:
// detection's first analysis of each comes with its first key frame.
func waitThumbnails(tb testing.TB, br *bridgeProc, n int, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for i := 1; i <= n; i++ {
		for {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/cameras/cam%d/thumb.jpg", br.URL, i), nil)
			req.Header.Set("Authorization", "Bearer "+staffToken)
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				tb.Fatalf("cam%d has no thumbnail %v after the bridge came up: %v", i, within, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
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
// drawbox (a white box from second 10 to 20 of every 20 of the wall clock)
// and checks that the big screen lists the incident with its snapshot,
// marks the camera's tile, and shows the incident ended once the box is
// gone.
func TestChromiumScreenShowsIncident(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1")
	url := cam.PushScene(t, "scene", camsimproc.BinBox(camsimproc.WallCycle(20, 10, 20)))
	br := startBridgeWith(t, []cameraSpec{{id: "scene", url: url, public: true,
		zones: "[{name: 垃圾桶, kind: bin, polygon: " + camsimproc.BinZone + "}]"}},
		"", "detect: {mode: active, calm_for: 1h, zone_hold: 2s, rate: 4}")
	// the normal look is taken by staff while the box is away (seconds 3
	// to 8 of a cycle leave the pipeline's delay on either side)
	if p := camsimproc.CyclePhase(time.Now(), 20); p < 3 || p > 8 {
		time.Sleep(time.Until(camsimproc.NextPhase(time.Now(), 20, 3)))
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
		t.Fatalf("screen incident = %+v, want a zone_changed item with its 1280-wide snapshot and the tile marked\ndetection: %s", found, br.staffGet("/api/cameras/scene/detect"))
	}
	var ended struct{ Ended bool }
	if len(lines) < 2 || json.Unmarshal([]byte(lines[1]), &ended) != nil || !ended.Ended {
		t.Fatalf("the incident did not show as ended after the box went: %q", out)
	}
	t.Logf("incident on the screen %d ms after the page opened", found.MS)
}

// TestChromiumStoryOnThreePages plays DESIGN.md's story on the three pages
// at once, in three browser contexts, over the real bridge and camsim's
// scripted bin scene (a 60 s loop: the bin falls at 20 s, a person stands
// in its zone from about 39.6 s to 50 s, the bin stands again at 55 s):
// staff sign in on /screen and accept the incident's task and dispatch it
// with the worker picker; the worker, signed in on /worker with the phone's
// position granted, claims it, arrives (seen on camera, or by GPS if the
// camera has not seen anyone 6 s after the person came), and submits with
// a photo once the bin stands; staff verify the camera's proposal (before
// and after pictures) with one click and close; the resident watching the
// camera on /app sees it closed with no rate button (the camera reported
// it), and staff record a 5-star follow-up (回访) on the wall. Every page's
// video must decode frames,
// and the wall's timeline must list every step with its time to the second.
// Screenshots: tests/browser/artifacts/story3-*.png.
func TestChromiumStoryOnThreePages(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of scripted scene")
	}
	const length = 60 * time.Second
	cam, br := startBinStory(t)
	photo := filepath.Join(t.TempDir(), "fix.jpg")
	if err := os.WriteFile(photo, fixPhoto(t), 0o644); err != nil {
		t.Fatal(err)
	}

	// The normal look (the bin standing, nobody near) at 15 s of a loop;
	// a slow start waits for the next loop.
	refAt := cam.SceneWall(15*time.Second, length)
	if time.Until(refAt) < 0 {
		refAt = refAt.Add(length)
	}
	time.Sleep(time.Until(refAt))
	origin := refAt.Add(-15 * time.Second)
	staff := login(t, br.URL, "staff1", "staff-pw")
	staff.do(http.MethodPost, "/api/cameras/bin/zones/*/reference", nil, http.StatusAccepted, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := node(t, ctx, "story3", br.URL, artifacts(t), "bin", strconv.FormatInt(origin.UnixMilli(), 10), photo, "staff1:staff-pw", "worker1:worker-pw")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("check.mjs story3:\n%s", stderr.String())
	if err != nil {
		t.Fatalf("check.mjs story3: %v", err)
	}
	type video struct {
		Frames, Width int
		Camera        string
	}
	var res struct {
		OK               bool
		Failed           string
		Task             string
		ArrivalSource    string `json:"arrival_source"`
		Proposal         bool
		ProposalPictures int `json:"proposal_pictures"`
		Timeline         []struct {
			Action, Source, Time, Datetime string
			Pictures                       int
		}
		Frames        map[string]video
		Stats         map[string]string
		TimerTicks    bool     `json:"timer_ticks"`
		TimerSamples  []string `json:"timer_samples"`
		WorkerEntries int      `json:"worker_timeline"`
		ResidentRates int      `json:"resident_may_rate"`
		Errors        []string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("check.mjs story3 printed %q: %v", out, err)
	}
	if !res.OK {
		t.Fatalf("the story stopped at %q: %v", res.Failed, res.Errors)
	}
	if len(res.Errors) > 0 {
		t.Errorf("the pages threw: %v", res.Errors)
	}

	// Every step is on the wall's timeline, in order, each with its time to the second.
	var got []string
	var prev time.Time
	shanghai := time.FixedZone("Asia/Shanghai", 8*3600)
	clock := regexp.MustCompile(`^\d{2}/\d{2} \d{2}:\d{2}:\d{2}$`) // with its date (in the center's zone)
	for _, e := range res.Timeline {
		step := e.Action
		if e.Source == "camera" {
			step += "[camera]"
		}
		got = append(got, step)
		at, err := time.Parse(time.RFC3339Nano, e.Datetime)
		if err != nil || !clock.MatchString(e.Time) || at.Before(prev) {
			t.Errorf("timeline entry %s shows %q (%s), want a time to the second, after the one before", e.Action, e.Time, e.Datetime)
		} else if want := at.In(shanghai).Format("01/02 15:04:05"); e.Time != want {
			t.Errorf("timeline entry %s shows %q, want %q: the center's time (Asia/Shanghai), whatever the browser's zone", e.Action, e.Time, want)
		}
		prev = at
		t.Logf("%5.1f s  %s  %s  %d pictures", at.Sub(origin).Seconds(), e.Time, step, e.Pictures)
	}
	arrive := "arrive"
	if res.ArrivalSource == "camera" {
		arrive = "arrive[camera]"
	}
	want := []string{"create[camera]", "accept", "dispatch", "claim", arrive, "submit", "propose[camera]", "verify", "close", "rate"}
	if !slices.Equal(got, want) {
		t.Errorf("the wall's timeline %v\nwant                %v", got, want)
	}
	t.Logf("arrival confirmed by %s", res.ArrivalSource)
	if res.ResidentRates != 0 {
		t.Errorf("/app offers the watching resident %d rate buttons on the camera's task, want none: only the reporter rates", res.ResidentRates)
	}
	if !res.Proposal || res.ProposalPictures != 2 {
		t.Errorf("camera's proposal on the wall: %v with %d pictures loaded, want shown with before and after", res.Proposal, res.ProposalPictures)
	}
	if !res.TimerTicks {
		t.Errorf("the task's time in its state did not tick on the wall: %q every 0.5 s", res.TimerSamples)
	}
	if res.WorkerEntries != len(res.Timeline) {
		t.Errorf("the worker's phone shows %d timeline entries, the wall %d", res.WorkerEntries, len(res.Timeline))
	}
	if res.Stats["closed"] != "1" || res.Stats["closing_rate"] != "100%" || !strings.HasPrefix(res.Stats["satisfaction"], "100%") {
		t.Errorf("today's statistics on the wall %v, want 1 closed, 办结率 100%%, 满意度 100%%", res.Stats)
	}
	// Each page decoded the camera's video the whole time (10 fps).
	for _, page := range []string{"screen_wall", "screen_detail", "worker", "app"} {
		v := res.Frames[page]
		if v.Frames <= 100 || v.Width != 1280 || v.Camera != "bin" {
			t.Errorf("%s video: %d frames decoded, %d wide, camera %q; want > 100 frames of the 1280-wide bin camera", page, v.Frames, v.Width, v.Camera)
		}
	}
	for _, name := range []string{"story3-screen.png", "story3-worker.png", "story3-app.png"} {
		if fi, err := os.Stat(filepath.Join(artifacts(t), name)); err != nil || fi.Size() < 10000 {
			t.Errorf("screenshot %s missing or empty: %v", name, err)
		}
	}
}
