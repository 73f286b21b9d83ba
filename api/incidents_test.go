package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"qianliyan/api"
	"qianliyan/detect"
)

func TestIncidentRoutes(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	// the incidents share the API's private Redis prefix
	store := detect.NewStore(b.rdb, b.cfg.Redis.Prefix)
	det := detect.NewDetector(b.cfg, b.hub, store, detect.Options{}, time.Hour)
	snaps := t.TempDir()
	deps := b.deps
	deps.Detection, deps.Incidents, deps.SnapshotDir = det, store, snaps
	srv := httptest.NewServer(api.New(deps).Handler())
	defer srv.Close()

	// an SSE subscriber before the incident is raised
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/events?token="+staffToken, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	gotEvent := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		incident := false
		for sc.Scan() {
			if sc.Text() == "event: incident" {
				incident = true
			} else if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && incident {
				gotEvent <- d
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)

	if err := os.WriteFile(filepath.Join(snaps, "snap1.jpg"), []byte("\xff\xd8jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := store.Raise(context.Background(), detect.Incident{Camera: "cam1", Zone: "垃圾桶", Kind: detect.ZoneChanged, Confidence: 0.8, Snapshot: "snap1.jpg"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-gotEvent:
		if !strings.Contains(d, in.ID) {
			t.Errorf("incident event %s, want incident %s", d, in.ID)
		}
	case <-time.After(5 * time.Second):
		t.Error("no incident event within 5 s")
	}

	for _, tc := range []struct {
		method, path, body, token string
		code                      int
		want                      string
	}{
		{"GET", "/api/incidents", "", staffToken, 200, in.ID},
		{"GET", "/api/incidents?kind=zone_changed&camera=cam1&open=1", "", staffToken, 200, in.ID},
		{"GET", "/api/incidents?kind=camera_offline", "", staffToken, 200, `{"incidents":[]}`},
		{"GET", "/api/incidents?kind=fire", "", staffToken, 400, `kind \"fire\" is not one of`},
		{"GET", "/api/incidents?limit=0", "", staffToken, 400, "limit must be a number from 1 to 1000"},
		{"GET", "/api/incidents", "", "", 401, "this needs the role staff or admin: log in"},
		{"GET", "/api/incidents/" + in.ID, "", staffToken, 200, `"zone":"垃圾桶"`},
		{"GET", "/api/incidents/nope", "", staffToken, 404, `no incident with id \"nope\"`},
		{"GET", "/api/incidents/" + in.ID + "/snapshot.jpg", "", staffToken, 200, "jpeg"},
		{"POST", "/api/cameras/cam1/zones/垃圾桶/reference", "", staffToken, 202, "becomes the reference"},
		{"POST", "/api/cameras/cam1/zones/nope/reference", "", staffToken, 404, `has no zone \"nope\"`},
		{"POST", "/api/cameras/cam1/zones/垃圾桶/reference", "", "", 401, "this needs the role staff or admin"},
		{"GET", "/api/cameras/cam1/detect", "", staffToken, 200, `"zones":[{"zone":"垃圾桶","has_reference":false,"diff":0}]`},
		{"GET", "/api/cameras/nope/detect", "", staffToken, 404, `no watched camera with id \"nope\"`},
		{"GET", "/api/cameras/cam1/detect", "", "", 401, "this needs the role staff or admin"},
		{"PUT", "/api/cameras/cam1/detect", `{"mode":"watch"}`, staffToken, 200, `"mode":"watch"`},
		{"PUT", "/api/cameras/cam1/detect", `{"mode":"fast"}`, staffToken, 400, `mode \"fast\" is not one of`},
		{"PUT", "/api/cameras/cam1/detect", `not json`, staffToken, 400, "is not JSON"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(res)
		if res.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s = %d %s; want %d with %q", tc.method, tc.path, res.StatusCode, body, tc.code, tc.want)
		}
	}
	if m := det.Watcher("cam1").Mode(); m != detect.Watch {
		t.Errorf("cam1 detection mode = %d after PUT watch", m)
	}
}

func readAll(res *http.Response) string {
	defer res.Body.Close()
	var sb strings.Builder
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		sb.WriteString(sc.Text())
	}
	return sb.String()
}

// TestThumbnailComesFromDetection: the overview's picture of a camera is
// detection's last analysed picture, 320 wide, with its time; a camera
// nobody may watch is refused as for its video, one without a picture yet
// is a 503 with a sentence.
func TestThumbnailComesFromDetection(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	store := detect.NewStore(b.rdb, b.cfg.Redis.Prefix)
	det := detect.NewDetector(b.cfg, b.hub, store, detect.Options{Mode: detect.Idle, CalmFor: time.Hour}, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = det.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deps := b.deps
	deps.Detection, deps.Incidents = det, store
	srv := httptest.NewServer(api.New(deps).Handler())
	defer srv.Close()

	deadline := time.Now().Add(10 * time.Second)
	for det.Watcher("cam1").Stats().Analyzed == 0 {
		if time.Now().After(deadline) {
			t.Fatal("cam1 was not analysed within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := time.Now()
	res, err := http.Get(srv.URL + "/api/cameras/cam1/thumb.jpg")
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(res.Body)
	res.Body.Close()
	at, _ := strconv.ParseInt(res.Header.Get("X-Picture-At"), 10, 64)
	if err != nil || res.StatusCode != 200 || img.Bounds().Dx() != 320 || img.Bounds().Dy() != 180 ||
		before.Sub(time.UnixMilli(at)) > 10*time.Second {
		t.Errorf("thumbnail: %d %v, %v, picture at %d; want a 320x180 JPEG analysed in the last seconds", res.StatusCode, err, img, at)
	}
	// several at once: those the caller may watch, the others missing
	var th api.Thumbs
	res, err = http.Get(srv.URL + "/api/thumbs?cameras=cam1,cam2,nope")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(res.Body).Decode(&th); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /api/thumbs: %d %v", res.StatusCode, err)
	}
	res.Body.Close()
	if len(th.Thumbs) != 1 || th.Thumbs[0].Camera != "cam1" || len(th.Thumbs[0].JPEG) < 1000 ||
		th.Missing["cam2"] != "not public" || th.Missing["nope"] != "no such camera" {
		t.Errorf("thumbs for a resident: %d pictures (%+v missing), want cam1's, cam2 not public, nope unknown", len(th.Thumbs), th.Missing)
	}
	for _, tc := range []struct {
		path, token string
		code        int
		want        string
	}{
		{"/api/thumbs", staffToken, 400, "name 1 to 200 cameras"},
		{"/api/cameras/cam2/thumb.jpg", "", 403, "is not public"},
		{"/api/cameras/cam2/thumb.jpg", staffToken, 503, `camera \"cam2\" has no picture yet`},
		{"/api/cameras/nope/thumb.jpg", staffToken, 404, `no camera with id \"nope\"`},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(res); res.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s = %d %s; want %d with %q", tc.path, res.StatusCode, body, tc.code, tc.want)
		}
	}
}
