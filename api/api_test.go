package api_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"qianliyan/api"
	"qianliyan/configs"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/redistest"
	"qianliyan/internal/schedlat"
)

// liveConfig starts camsim with two cameras and configures them: cam1,
// public, in grid hexia-01, with a bin zone, behind camsim's password, and
// cam2, whose address answers nothing; a private Redis prefix.
func liveConfig(t *testing.T) *configs.Config {
	t.Helper()
	cam := camsimproc.Start(t, "-cameras", "2", "-user", "admin", "-pass", "s3cret")
	withPass := strings.Replace(cam.URL(1), "rtsp://", "rtsp://admin:s3cret@", 1)
	cfg, err := configs.Parse("api.yaml", []byte(fmt.Sprintf(`
cameras:
  - id: cam1
    name: 河下古镇·花巷口
    grid: hexia-01
    location: {lat: 33.52, lng: 119.14, address: 淮安市淮安区河下古镇花巷口}
    url: %q
    public: true
    zones:
      - {name: 垃圾桶, kind: bin, polygon: [[0.1, 0.6], [0.3, 0.6], [0.3, 0.9], [0.1, 0.9]]}
  - id: cam2
    name: 估衣街西段
    grid: hexia-02
    url: "rtsp://127.0.0.1:1/nothing-here"
`, withPass)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.StaffToken = staffToken
	_, cfg.Redis.Prefix = redistest.Client(t, "apitest")
	return cfg
}

func TestCamerasAPI(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())

	code, body := b.do(t, "GET", "/api/cameras", staffToken, nil)
	if code != 200 {
		t.Fatalf("GET /api/cameras = %d %s", code, body)
	}
	if strings.Contains(body, "s3cret") || strings.Contains(body, "rtsp://") {
		t.Fatalf("camera list leaks the camera URL or password: %s", body)
	}
	var list struct{ Cameras []api.Camera }
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Cameras) != 2 {
		t.Fatalf("listed %d cameras, want 2", len(list.Cameras))
	}
	c1 := list.Cameras[0]
	if c1.ID != "cam1" || c1.Name != "河下古镇·花巷口" || c1.Grid != "hexia-01" || !c1.Public || c1.Location.Lat != 33.52 {
		t.Errorf("cam1 = %+v", c1)
	}
	if len(c1.Zones) != 1 || c1.Zones[0].Kind != "bin" || len(c1.Zones[0].Polygon) != 4 {
		t.Errorf("cam1 zones = %+v", c1.Zones)
	}
	if h := c1.Health; !h.Online || h.Width != 1280 || h.Codec != ingest.H264 || h.FPS < 20 {
		t.Errorf("cam1 health = %+v, want online 1280 H264 ~25 fps", h)
	}

	code, body = b.do(t, "GET", "/api/cameras/cam2", staffToken, nil)
	var c2 api.Camera
	if err := json.Unmarshal([]byte(body), &c2); code != 200 || err != nil {
		t.Fatalf("GET /api/cameras/cam2 = %d %s", code, body)
	}
	if c2.Health.Online || !strings.Contains(c2.Health.LastError, "refused the connection") {
		t.Errorf("cam2 health = %+v, want offline with 'refused the connection'", c2.Health)
	}
}

func TestBadRequestsGetClearErrors(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	for _, tc := range []struct {
		method, path string
		code         int
		msg          string
	}{
		{"GET", "/api/cameras/nope", 404, `no camera with id \"nope\"`},
		{"GET", "/api/nothing", 404, "no such page or route: /api/nothing"},
		{"POST", "/api/cameras", 405, "POST is not allowed on /api/cameras"},
	} {
		code, body := b.do(t, tc.method, tc.path, "", nil)
		if code != tc.code || !strings.Contains(body, `{"error":"`+tc.msg) {
			t.Errorf("%s %s = %d %s; want %d with error %q", tc.method, tc.path, code, body, tc.code, tc.msg)
		}
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	code, body := b.do(t, "GET", "/healthz", "", nil)
	if code != 200 || !strings.Contains(body, `"redis":"ok"`) || !strings.Contains(body, `"cameras_online":1`) {
		t.Errorf("GET /healthz = %d %s", code, body)
	}
	code, body = call(t, "GET", b.metrics+"/metrics", "", "")
	if code != 200 {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		`qly_camera_online{camera="cam1"} 1`,
		`qly_camera_online{camera="cam2"} 0`,
		"# TYPE qly_camera_dropped_units_total counter",
		"process_resident_memory_bytes ",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	m := regexp.MustCompile(`qly_camera_frames_total\{camera="cam1"\} (\d+)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no frames counter for cam1 in metrics")
	}
	if n, _ := strconv.Atoi(m[1]); n < 10 {
		t.Errorf("cam1 frames_total = %d, want > 10", n)
	}
	m = regexp.MustCompile(`qly_camera_bytes_total\{camera="cam1"\} (\d+)`).FindStringSubmatch(body)
	if m == nil || m[1] == "0" {
		t.Errorf("cam1 bytes_total missing or zero")
	}
	// a bridge that has been ingesting two cameras has had goroutines wait
	waits, err := schedlat.ParseProm(strings.NewReader(body), "go_sched_latencies_seconds")
	if err != nil {
		t.Errorf("scheduling waits in /metrics: %v", err)
	} else if waits.Quantile(1) == 0 {
		t.Errorf("no scheduling waits counted: %v", waits)
	}
}
