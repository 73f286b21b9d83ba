package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"qianliyan/internal/whepclient"
)

func TestResidentsSeeOnlyPublicCameras(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	var list struct{ Cameras []struct{ ID string } }
	_, body := b.do(t, "GET", "/api/cameras", "", nil)
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Cameras) != 1 || list.Cameras[0].ID != "cam1" {
		t.Errorf("resident's camera list = %s, want only the public cam1", body)
	}
	if code, body := b.do(t, "GET", "/api/cameras/cam2", "", nil); code != 403 || !strings.Contains(body, "not public") {
		t.Errorf("resident GET cam2 = %d %s, want 403 not public", code, body)
	}
	if code, body := b.do(t, "GET", "/api/cameras/cam2", "wrong-token", nil); code != 401 || !strings.Contains(body, "neither the staff token nor one this bridge gives out") {
		t.Errorf("wrong token GET cam2 = %d %s, want 401 saying the token is not one of ours", code, body)
	}
}

func TestWHEPPlaysAndEnds(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	v, err := whepclient.Play(whepclient.HTTP(b.url+"/whep/cam1", ""), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if !strings.HasPrefix(v.Location, b.url+"/whep/cam1/sessions/") {
		t.Errorf("Location = %q", v.Location)
	}
	if err := v.WaitPackets(200, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, key := v.Firsts(); key == 0 || key > time.Second {
		t.Errorf("first key frame after %v, want within 1 s", key)
	}
	code, body := b.do(t, "GET", "/api/cameras/cam1", staffToken, nil)
	if code != 200 || !strings.Contains(body, `"viewers":1`) || !strings.Contains(body, `"sessions":[{`) {
		t.Errorf("camera after a viewer joined = %d %s", code, body)
	}
	_, metrics := call(t, "GET", b.metrics+"/metrics", "", "")
	if want := `qly_camera_viewers{camera="cam1"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %q", want)
	}
	// never a series per session: unbounded, and it told who watches what
	if strings.Contains(metrics, "session=") {
		t.Errorf("metrics have a session label:\n%s", metrics)
	}
	if code, err := v.Delete(); err != nil || code != 200 {
		t.Fatalf("DELETE = %d %v", code, err)
	}
	if code, _ := v.Delete(); code != 404 {
		t.Errorf("second DELETE = %d, want 404", code)
	}
	if _, body := b.do(t, "GET", "/api/cameras/cam1", staffToken, nil); !strings.Contains(body, `"viewers":0`) {
		t.Errorf("viewer still counted after DELETE: %s", body)
	}
}

func TestWHEPRefusalsAreClear(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	pc, offer, err := whepclient.Offer()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc2, vp8, err := whepclient.Offer(webrtc.MimeTypeVP8)
	if err != nil {
		t.Fatal(err)
	}
	defer pc2.Close()
	for _, tc := range []struct {
		name, path, ctype, body, token string
		code                           int
		msg                            string
	}{
		{"malformed offer", "/whep/cam1", "application/sdp", "v=0\r\nnonsense", "", 400, "SDP offer is malformed"},
		{"no H.264", "/whep/cam1", "application/sdp", vp8, "", 415, "offer has no H.264"},
		{"unknown camera", "/whep/nope", "application/sdp", offer, "", 404, `no camera with id \"nope\"`},
		{"not public", "/whep/cam2", "application/sdp", offer, "", 403, "not public"},
		{"offline camera, staff", "/whep/cam2", "application/sdp", offer, staffToken, 503, "offline"},
		{"wrong content type", "/whep/cam1", "text/plain", offer, "", 415, "must be application/sdp"},
		{"too large", "/whep/cam1", "application/sdp", strings.Repeat("a", 70<<10), "", 413, "larger than 64 KiB"},
		{"delete unknown session", "/whep/cam1/sessions/nope", "", "", "", 404, "no such session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodPost
			if strings.Contains(tc.path, "/sessions/") {
				method = http.MethodDelete
			}
			req, _ := http.NewRequest(method, b.url+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			code, body := send(t, req)
			if code != tc.code || !strings.Contains(body, tc.msg) || !strings.HasPrefix(body, `{"error":"`) {
				t.Errorf("= %d %s; want %d with %q", code, body, tc.code, tc.msg)
			}
		})
	}
	if _, body := b.do(t, "GET", "/api/cameras/cam1", staffToken, nil); !strings.Contains(body, `"viewers":0`) {
		t.Errorf("refused offers left viewers: %s", body)
	}
}

func TestStaffPlaysPrivateCameraWithToken(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	// cam2 never comes online: the token passes the door, the relay says offline
	_, err := whepclient.Play(whepclient.HTTP(b.url+"/whep/cam2", staffToken), 0)
	var he *whepclient.HTTPError
	if !errors.As(err, &he) || he.Code != 503 {
		t.Errorf("staff offer to offline private camera: %v, want 503", err)
	}
}

func TestSnapshotIsTheLatestKeyFrame(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	res, err := http.Get(b.url + "/api/cameras/cam1/snapshot.jpg")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("snapshot = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	img, err := jpeg.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 1280 || r.Dy() != 720 {
		t.Errorf("snapshot %dx%d, want 1280x720", r.Dx(), r.Dy())
	}
	if code, _ := b.do(t, "GET", "/api/cameras/cam2/snapshot.jpg", "", nil); code != 403 {
		t.Errorf("resident snapshot of private camera = %d, want 403", code)
	}
	if code, body := b.do(t, "GET", "/api/cameras/cam2/snapshot.jpg", staffToken, nil); code != 503 || !strings.Contains(body, "no picture yet") {
		t.Errorf("snapshot of offline camera = %d %s, want 503", code, body)
	}
}

func TestEventsCarryCameraState(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	read := func(token string) map[string]string {
		req, _ := http.NewRequest(http.MethodGet, b.url+"/api/events?token="+token, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		got := map[string]string{}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		deadline := time.AfterFunc(3*time.Second, func() { res.Body.Close() })
		defer deadline.Stop()
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				event = e
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok && event == "camera" {
				var c struct {
					ID     string
					Health struct{ Online bool }
				}
				if err := json.Unmarshal([]byte(d), &c); err != nil {
					t.Fatalf("bad event data %q: %v", d, err)
				}
				got[c.ID] = map[bool]string{true: "online", false: "offline"}[c.Health.Online]
				if len(got) == 2 || (token == "" && len(got) == 1) {
					return got
				}
			}
		}
		return got
	}
	if got := read(staffToken); got["cam1"] != "online" || got["cam2"] != "offline" {
		t.Errorf("staff events = %v, want cam1 online and cam2 offline", got)
	}
	if got := read(""); len(got) != 1 || got["cam1"] != "online" {
		t.Errorf("resident events = %v, want only cam1", got)
	}
}
