package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"qianliyan/api"
	"qianliyan/configs"
	"qianliyan/internal/av"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/redistest"
	"qianliyan/internal/whepclient"
)

// subConfig is two public cameras of a camsim with sub-streams: cam1 with
// its sub_url, cam2 without.
func subConfig(t *testing.T) *configs.Config {
	t.Helper()
	cam := camsimproc.Start(t, "-cameras", "2", "-size", "640x360", "-sub", "320x180", "-loop", "2s", "-gop", "1s")
	cfg, err := configs.Parse("sub.yaml", []byte(fmt.Sprintf(`
cameras:
  - {id: cam1, name: 花巷口, grid: g1, url: %q, sub_url: %q, public: true}
  - {id: cam2, name: 估衣街, grid: g1, url: %q, public: true}
`, cam.URL(1), cam.URL(1)+"/sub", cam.URL(2))))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.StaffToken = staffToken
	_, cfg.Redis.Prefix = redistest.Client(t, "apisub")
	return cfg
}

// whepWithHeaders posts offers to endpoint and keeps the answer's headers.
func whepWithHeaders(endpoint string, got *http.Header) whepclient.Exchange {
	return func(offer string) (string, string, error) {
		res, err := http.Post(endpoint, "application/sdp", strings.NewReader(offer))
		if err != nil {
			return "", "", err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		*got = res.Header
		if res.StatusCode != http.StatusCreated {
			return "", "", &whepclient.HTTPError{Code: res.StatusCode, Body: string(body)}
		}
		u, _ := url.Parse(endpoint)
		loc, err := u.Parse(res.Header.Get("Location"))
		if err != nil {
			return "", "", err
		}
		return string(body), loc.String(), nil
	}
}

// pictureSize plays the viewer until it has kept a few frames and decodes
// them: the size of the pictures and how many decoded.
func pictureSize(t *testing.T, v *whepclient.Viewer) (w, h, n int) {
	t.Helper()
	select {
	case <-v.KeyFrame():
	case <-time.After(10 * time.Second):
		t.Fatal("no key frame within 10 s")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(v.Kept()) < 10 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	dec, err := av.NewDecoder(av.H264, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, au := range v.Kept() {
		img, err := dec.Decode(au)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if img != nil {
			n++
			w, h = img.Rect.Dx(), img.Rect.Dy()
		}
	}
	return w, h, n
}

func TestWHEPPlaysTheSubStreamOrSaysItFellBack(t *testing.T) {
	b := serve(t, subConfig(t), withVideo("cam1", "cam2"))

	// cam1's sub-stream is not read until a viewer asks for it.
	if h, _ := b.hub.Health("cam1"); h.Sub == nil || h.Sub.Online {
		t.Fatalf("cam1's sub-stream before any viewer: %+v, want known and not read", h.Sub)
	}
	var hdr http.Header
	v, err := whepclient.Play(whepWithHeaders(b.url+"/whep/cam1?stream=sub", &hdr), 10)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if hdr.Get("X-Stream") != "sub" || hdr.Get("X-Stream-Fallback") != "" {
		t.Errorf("cam1 ?stream=sub: X-Stream %q, X-Stream-Fallback %q; want sub and none", hdr.Get("X-Stream"), hdr.Get("X-Stream-Fallback"))
	}
	if !strings.HasSuffix(v.Location, "?stream=sub") {
		t.Errorf("Location = %q, want the session with ?stream=sub", v.Location)
	}
	if w, h, n := pictureSize(t, v); w != 320 || h != 180 || n < 5 {
		t.Errorf("cam1 ?stream=sub decoded %d pictures of %dx%d, want at least 5 of 320x180", n, w, h)
	}
	code, body := b.do(t, "GET", "/api/cameras/cam1", staffToken, nil)
	var cam api.Camera
	if err := json.Unmarshal([]byte(body), &cam); err != nil || code != 200 {
		t.Fatalf("GET cam1 = %d %s", code, body)
	}
	if cam.Viewers != 1 || len(cam.Sessions) != 1 || cam.Health.Sub == nil || !cam.Health.Sub.Online || cam.Health.Sub.Width != 320 {
		t.Errorf("cam1 while its sub-stream plays: viewers %d, sessions %d, sub health %+v; want 1, 1, online 320 wide",
			cam.Viewers, len(cam.Sessions), cam.Health.Sub)
	}
	// the session's URL is the sub-stream's: without ?stream=sub it is not found
	if code, _ := call(t, "DELETE", strings.TrimSuffix(v.Location, "?stream=sub"), "", ""); code != 404 {
		t.Errorf("DELETE of the session without ?stream=sub = %d, want 404", code)
	}
	if code, err := v.Delete(); err != nil || code != 200 {
		t.Errorf("DELETE %s = %d %v, want 200", v.Location, code, err)
	}

	// cam2 has no sub-stream: main plays, and the headers say so.
	v2, err := whepclient.Play(whepWithHeaders(b.url+"/whep/cam2?stream=sub", &hdr), 10)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if hdr.Get("X-Stream") != "main" || hdr.Get("X-Stream-Fallback") != "no sub-stream" {
		t.Errorf("cam2 ?stream=sub: X-Stream %q, X-Stream-Fallback %q; want main and no sub-stream", hdr.Get("X-Stream"), hdr.Get("X-Stream-Fallback"))
	}
	if strings.Contains(v2.Location, "stream=") {
		t.Errorf("Location of a main-stream session = %q, want no stream parameter", v2.Location)
	}
	if w, h, n := pictureSize(t, v2); w != 640 || h != 360 || n < 5 {
		t.Errorf("cam2 ?stream=sub decoded %d pictures of %dx%d, want at least 5 of the main 640x360", n, w, h)
	}

	req, _ := http.NewRequest("POST", b.url+"/whep/cam1?stream=hd", strings.NewReader("v=0"))
	req.Header.Set("Content-Type", "application/sdp")
	if code, body := send(t, req); code != 400 || !strings.Contains(body, `stream \"hd\" is neither main nor sub`) {
		t.Errorf("?stream=hd = %d %s, want 400 saying it is neither main nor sub", code, body)
	}
}
