package eval

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/internal/camsimproc"
	"qianliyan/internal/redistest"
	"qianliyan/internal/scene"
	"qianliyan/internal/testenv"
)

// The evaluation's picture and the bridge's detection settings: the
// shipped ones of configs/demo.yaml, except calm_for (the reference is
// taken at refAt, when the script says every zone is empty). The mode is
// active (every frame decoded, 2 analyses a second), or QLY_EVAL_MODE.
const (
	evalSize    = "1280x720"
	evalHeight  = 720
	evalFPS     = "10"
	refAt       = 9 * time.Second // scene time; the scripts keep every zone empty and the bin standing until 10 s
	tail        = 8 * time.Second // played after the loop, for late reports (nothing happens before 10 s)
	evalToken   = "eval-staff-token"
	detectYAML  = "detect: {mode: %s, rate: 2, calm_for: 1h, zone_diff: 18, zone_hold: 3s, loiter_after: 20s}"
	zoneHold    = 3 * time.Second
	loiterAfter = 20 * time.Second
)

// TestEvalScenes is `make eval`: it plays camsim's eval-* scenes (or those
// named in QLY_EVAL_SCENES, comma-separated) in real time as cameras of
// one bridge, scores what the bridge reported against each script's
// ground truth and prints the table. It fails only when the run is broken
// (a process that does not start, a camera that stays offline, Redis),
// never on scores: it measures. QLY_EVAL_VIDEO=FILE also plays a video
// file (no ground truth: its reports are only counted).
func TestEvalScenes(t *testing.T) {
	if os.Getenv("QLY_EVAL") == "" {
		t.Skip("plays a minute and a half of scenes in real time: make eval runs it (QLY_EVAL=1)")
	}
	scripts := loadEvalScenes(t)
	length := scripts[0].Length
	testenv.Build(t, "./cmd/bridge") // before the scenes' clock starts
	args := []string{"-cameras", "1", "-fps", evalFPS, "-size", evalSize}
	for _, s := range scripts {
		args = append(args, "-scene", s.Name)
	}
	// camsim encodes every scene's whole loop before it serves: over a
	// minute for six on two busy cores
	cam := camsimproc.StartWithin(t, 5*time.Minute, args...)
	rdb, prefix := redistest.Client(t, "eval")

	var cams []evalCamera
	for _, s := range scripts {
		cams = append(cams, evalCamera{id: s.Name, url: cam.SceneURL(s.Name), zones: s.Zones})
	}
	video := os.Getenv("QLY_EVAL_VIDEO")
	if video != "" {
		url := cam.PushSource(t, "video", "movie="+video+":loop=0,setpts=N/FRAME_RATE/TB",
			"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "20", "-bf", "0")
		cams = append(cams, evalCamera{id: "video", url: url,
			zones: []scene.Zone{{Name: "picture", Kind: "watch", Polygon: [][2]float64{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}}})
	}
	mode := cmp.Or(os.Getenv("QLY_EVAL_MODE"), "active")
	detect := fmt.Sprintf(detectYAML, mode)
	br := startEvalBridge(t, cams, prefix, detect)

	origin := cam.SceneWall(0, length)
	if time.Until(origin.Add(refAt)) < time.Second {
		origin = origin.Add(length) // too late for this loop's reference: the next one
	}
	time.Sleep(time.Until(origin.Add(refAt)))
	for _, c := range cams {
		if err := br.post("/api/cameras/" + c.id + "/zones/*/reference"); err != nil {
			t.Fatalf("camera %s: zone reference: %v", c.id, err)
		}
	}
	cpu0, at0 := camsimproc.ProcCPU(br.cmd.Process.Pid), time.Now()
	end := origin.Add(length + tail)
	t.Logf("playing the scenes until %s (%.0f s)", end.Format(time.TimeOnly), time.Until(end).Seconds())
	time.Sleep(time.Until(end))
	cpu := (camsimproc.ProcCPU(br.cmd.Process.Pid) - cpu0) / time.Since(at0).Seconds()

	seen, err := readSeen(context.Background(), rdb, prefix, origin)
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]Score{}
	var perScene, events strings.Builder
	for _, s := range scripts {
		tr := s.Truth(evalHeight)
		writeEvents(&events, s, tr, seen[s.Name])
		for _, z := range s.Zones {
			sc := ScoreZone(z, tr, seen[s.Name], Window{From: refAt, To: length}, Settings{ZoneHold: zoneHold, LoiterAfter: loiterAfter})
			k := byKind[z.Kind]
			k.Add(sc)
			byKind[z.Kind] = k
			late := ""
			for _, d := range sc.ChangeLatency {
				late += fmt.Sprintf(" %+.1f s", d.Seconds())
			}
			if late != "" {
				late = " (after the hold:" + late + ")"
			}
			fmt.Fprintf(&perScene, "  %-13s %-9s %-10s entries %2d  TP %2d  FP %2d  FN %2d  exits seen %d/%d  zone_changed due/seen %d/%d%s, false %d  loitering due/seen %d/%d, false %d\n",
				s.Name, z.Name, z.Kind, sc.Entries, sc.TP, sc.FP, sc.FN, sc.ExitsSeen, sc.Exits,
				sc.ChangesDue, sc.ChangesSeen, late, sc.FalseChanged, sc.LoitersDue, sc.LoitersSeen, sc.FalseLoitering)
		}
	}
	var out strings.Builder
	var names []string
	for _, s := range scripts {
		names = append(names, s.Name)
	}
	fmt.Fprintf(&out, "\nDetection accuracy: %s (%v each at %s, %s fps), played once in real time, one bridge (%s)\n\n",
		strings.Join(names, ", "), length, evalSize, evalFPS, detect)
	WriteTable(&out, byKind)
	fmt.Fprintf(&out, "\nper scene and zone:\n%s", perScene.String())
	fmt.Fprintf(&out, "bridge CPU over the loop: %.0f%% of a core for %d cameras (%.0f%% each)\n", 100*cpu, len(cams), 100*cpu/float64(len(cams)))
	if video != "" {
		counts := map[string]int{}
		for _, s := range seen["video"] {
			counts[s.Kind]++
		}
		fmt.Fprintf(&out, "video %s (no ground truth, an independent check): %v\n", video, counts)
	}
	fmt.Print(out.String())
	if dir := os.Getenv("QLY_EVAL_OUT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "eval.md"), []byte(out.String()), 0o644); err != nil {
			t.Errorf("write the table: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "eval-events.txt"), []byte(events.String()), 0o644); err != nil {
			t.Errorf("write the events: %v", err)
		}
	}
}

// writeEvents lists a scene's truth and what the bridge reported, in
// scene time, to see why a line of the table is what it is.
func writeEvents(out *strings.Builder, s *scene.Script, tr scene.Truth, seen []Seen) {
	fmt.Fprintf(out, "%s\n", s.Name)
	for _, v := range tr.Visits {
		fmt.Fprintf(out, "  truth  %-9s people[%d] (%d px) in %5.1f s .. %5.1f s\n", v.Zone, v.Walk, v.Height, v.Enter.Seconds(), v.Exit.Seconds())
	}
	for z, falls := range tr.BinFalls {
		for _, f := range falls {
			fmt.Fprintf(out, "  truth  %-9s bin down %5.1f s .. %5.1f s\n", z, f.From.Seconds(), f.To.Seconds())
		}
	}
	for _, e := range seen {
		who := ""
		if e.Track != 0 {
			who = fmt.Sprintf("  #%d", e.Track)
		}
		fmt.Fprintf(out, "  seen   %-9s %-15s at %5.1f s%s\n", e.Zone, e.Kind, e.At.Seconds(), who)
	}
}

// loadEvalScenes reads the scenes to play from cmd/camsim/scenes; they
// must share one length, since they play as one loop.
func loadEvalScenes(t *testing.T) []*scene.Script {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(t), "cmd/camsim/scenes")
	var names []string
	if env := os.Getenv("QLY_EVAL_SCENES"); env != "" {
		names = strings.Split(env, ",")
	} else {
		files, _ := filepath.Glob(filepath.Join(dir, "eval-*.yaml"))
		for _, f := range files {
			names = append(names, strings.TrimSuffix(filepath.Base(f), ".yaml"))
		}
	}
	if len(names) == 0 {
		t.Fatalf("no eval-*.yaml scenes in %s", dir)
	}
	var out []*scene.Script
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n+".yaml"))
		if err != nil {
			t.Fatalf("scene %s: %v", n, err)
		}
		s, err := scene.Parse(data)
		if err != nil {
			t.Fatalf("scene %s: %v", n, err)
		}
		if len(s.Zones) == 0 {
			t.Fatalf("scene %s has no zones: nothing to score", n)
		}
		if len(out) > 0 && s.Length != out[0].Length {
			t.Fatalf("scene %s is %v long, %s %v: the scenes play as one loop, give them one length", n, s.Length, out[0].Name, out[0].Length)
		}
		out = append(out, s)
	}
	return out
}

// evalCamera is one camera of the evaluation's bridge.
type evalCamera struct {
	id, url string
	zones   []scene.Zone
}

// evalBridge is bin/bridge running for the evaluation.
type evalBridge struct {
	url string
	cmd *exec.Cmd
}

// startEvalBridge runs the bridge on loopback with a camera per scene and
// the scenes' zones, and returns once every camera is online.
func startEvalBridge(t *testing.T, cams []evalCamera, prefix, detect string) *evalBridge {
	t.Helper()
	bin := testenv.Build(t, "./cmd/bridge")
	dir := t.TempDir()
	port, metrics, udp := testenv.FreePort(t, "tcp"), testenv.FreePort(t, "tcp"), testenv.FreePort(t, "udp")
	var y strings.Builder
	fmt.Fprintf(&y, "server: {addr: \"127.0.0.1:%d\", metrics_addr: \"127.0.0.1:%d\", staff_token: %q}\n", port, metrics, evalToken)
	fmt.Fprintf(&y, "redis: {url: %q, prefix: %q}\n", redistest.URL(), prefix)
	fmt.Fprintf(&y, "webrtc: {udp_port: %d, tcp_port: 0}\n%s\n", udp, detect)
	fmt.Fprintf(&y, "data_dir: %q\ncameras:\n", filepath.Join(dir, "data"))
	for _, c := range cams {
		var zones []string
		for _, z := range c.zones {
			poly, _ := json.Marshal(z.Polygon) // a JSON list is a YAML flow list
			zones = append(zones, fmt.Sprintf("{name: %q, kind: %q, polygon: %s}", z.Name, z.Kind, poly))
		}
		fmt.Fprintf(&y, "  - {id: %s, name: %q, grid: eval, url: %q, transport: tcp, zones: [%s]}\n", c.id, c.id, c.url, strings.Join(zones, ", "))
	}
	cfg := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(cfg, []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfg)
	testenv.Run(t, cmd, filepath.Join(dir, "bridge.log"))
	deadline := time.Now().Add(30 * time.Second)
	for online := 0; online < len(cams); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("bridge: %d of %d cameras online after 30 s", online, len(cams))
		}
		online = countOnline(fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics))
	}
	return &evalBridge{url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
}

// countOnline counts the cameras /metrics says are online.
func countOnline(url string) int {
	res, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	n := 0
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "qly_camera_online{") && strings.HasSuffix(sc.Text(), " 1") {
			n++
		}
	}
	return n
}

// post sends an empty POST as the center's staff and wants 202.
func (b *evalBridge) post(path string) error {
	req, _ := http.NewRequest(http.MethodPost, b.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+evalToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s: %s, want 202 Accepted", path, res.Status)
	}
	return nil
}

// readSeen reads the bridge's observations and new incidents from its
// Redis streams, by camera, at scene time (wall time less origin): an
// observation when it was published (its stream entry's time), an
// incident when it started (each is counted once, however often updated).
func readSeen(ctx context.Context, rdb *redis.Client, prefix string, origin time.Time) (map[string][]Seen, error) {
	out := map[string][]Seen{}
	obs, err := rdb.XRange(ctx, prefix+"observations", "-", "+").Result()
	if err != nil {
		return nil, fmt.Errorf("read the observations: %w", err)
	}
	for _, m := range obs {
		var o struct {
			Camera, Zone, Kind string
			Track              int
		}
		if data, ok := m.Values["json"].(string); !ok || json.Unmarshal([]byte(data), &o) != nil {
			return nil, fmt.Errorf("observation %s: no JSON in %v", m.ID, m.Values)
		}
		ms, _ := strconv.ParseInt(strings.Split(m.ID, "-")[0], 10, 64)
		out[o.Camera] = append(out[o.Camera], Seen{Zone: o.Zone, Kind: o.Kind, At: time.UnixMilli(ms).Sub(origin), Track: o.Track})
	}
	incs, err := rdb.XRange(ctx, prefix+"{i}:incidents", "-", "+").Result()
	if err != nil {
		return nil, fmt.Errorf("read the incidents: %w", err)
	}
	started := map[string]bool{}
	for _, m := range incs {
		var in struct {
			ID, Camera, Zone, Kind string
			StartedMS              int64 `json:"started_ms"`
		}
		if data, ok := m.Values["json"].(string); !ok || json.Unmarshal([]byte(data), &in) != nil {
			return nil, fmt.Errorf("incident %s: no JSON in %v", m.ID, m.Values)
		}
		if started[in.ID] {
			continue
		}
		started[in.ID] = true
		out[in.Camera] = append(out[in.Camera], Seen{Zone: in.Zone, Kind: in.Kind, At: time.UnixMilli(in.StartedMS).Sub(origin)})
	}
	for _, s := range out {
		sort.SliceStable(s, func(i, j int) bool { return s[i].At < s[j].At })
	}
	return out, nil
}
