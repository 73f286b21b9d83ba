package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"qianliyan/api"
	"qianliyan/cluster"
	"qianliyan/configs"
	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
	"qianliyan/internal/whepclient"
	"qianliyan/record"
	"qianliyan/relay"
	"qianliyan/task"
)

// member is one bridge of a two-member cluster in this process.
type member struct {
	url       string
	cl        *cluster.Cluster
	deps      api.Deps
	incidents *detect.Store // as its detection would raise them
	rec       *record.Recorder
	// stopMirror stops writing its cameras' health to Redis, as a member
	// that hangs would.
	stopMirror context.CancelFunc
}

// startMember serves the API of member node over cfg (cam1 pinned to b,
// cam2 to a) on its own listener, with its membership running; with
// video it reads its cameras and mirrors their health to Redis.
func startMember(t *testing.T, base *configs.Config, node string, video bool) *member {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := *base
	cfg.Cameras = append([]configs.Camera(nil), base.Cameras...)
	cfg.Cameras[0].Node, cfg.Cameras[1].Node = "b", "a"
	cfg.DataDir = t.TempDir()
	cfg.Cluster = configs.Cluster{Node: node, Lease: configs.Duration(600 * time.Millisecond), PublicURL: "http://" + ln.Addr().String(),
		ProxyWHEP: base.Cluster.ProxyWHEP}
	log := slog.New(slog.DiscardHandler)
	rdb := redistest.Connect(t)
	hub := ingest.NewHub(&cfg, log)
	rl, err := relay.NewServer(hub, relay.Options{TCPPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	m := &member{url: cfg.Cluster.PublicURL, cl: cluster.New(rdb, &cfg, nil, log)}
	m.incidents = detect.NewStore(rdb, cfg.Redis.Prefix)
	if m.rec, err = record.New(&cfg, hub, log); err != nil {
		t.Fatal(err)
	}
	m.deps = api.Deps{Config: &cfg, Cameras: hub, Relay: rl, Redis: rdb, Log: log, Cluster: m.cl,
		Tasks: task.NewStore(rdb, cfg.Redis.Prefix, cfg.Tasks, nil), Incidents: m.incidents, Recorder: m.rec}
	a := api.New(m.deps)
	srv := a.HTTPServer("")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.cl.Run(ctx) })
	wg.Go(func() { _ = a.Run(ctx) })
	if video {
		mirror := &ingest.HealthMirror{RDB: rdb, Prefix: cfg.Redis.Prefix, Every: 200 * time.Millisecond, Source: ingest.WithViewers(hub.Healths, rl.Viewers)}
		var mctx context.Context
		mctx, m.stopMirror = context.WithCancel(ctx)
		wg.Go(func() { _ = hub.Run(ctx) })
		wg.Go(func() { _ = mirror.Run(mctx) })
		wg.Go(func() { _ = m.rec.Run(ctx) })
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); rl.Close(); cancel(); wg.Wait() })
	return m
}

// get asks the member for path as staff: the status, headers and body.
func (m *member) get(t *testing.T, path string) (int, http.Header, []byte) {
	t.Helper()
	return testenv.Get(t, m.url+path, staffToken)
}

// startPair starts members a and b over cfg (cam1 pinned to b, cam2 to a),
// b with video when bVideo, and returns once each sees the other.
func startPair(t *testing.T, cfg *configs.Config, bVideo bool) (a, b *member) {
	t.Helper()
	a, b = startMember(t, cfg, "a", false), startMember(t, cfg, "b", bVideo)
	testenv.WaitFor(t, "both members see each other", 3*time.Second, func() bool {
		return len(a.cl.Members()) == 2 && len(b.cl.Members()) == 2
	})
	return a, b
}

func TestAnyMemberAnswersAndSendsViewersToTheOwner(t *testing.T) {
	cfg := liveConfig(t)
	a, b := startPair(t, cfg, true)

	// the member that does not own cam1 sends its viewer to the owner,
	// keeping the path and query
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", a.url+"/whep/cam1?stream=main&x=1", strings.NewReader("v=0"))
	req.Header.Set("Content-Type", "application/sdp")
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := b.url + "/whep/cam1?stream=main&x=1"; res.StatusCode != 307 || res.Header.Get("Location") != want || res.Header.Get("X-Owner") != "b" {
		t.Errorf("POST /whep/cam1 on a = %d, Location %q, X-Owner %q; want 307 to %s from b",
			res.StatusCode, res.Header.Get("Location"), res.Header.Get("X-Owner"), want)
	}
	// a, which does not read cam1, shows its health from what b wrote
	testenv.WaitFor(t, "cam1 online on a", 10*time.Second, func() bool {
		_, body := call(t, "GET", a.url+"/api/cameras/cam1", staffToken, "")
		var c api.Camera
		return json.Unmarshal([]byte(body), &c) == nil && c.Health.Online && c.Health.Width == 1280 && c.Health.FPS > 0
	})
	// so does its snapshot, which is where the camera is read; a token in
	// the query (an <img>) goes along
	res, err = noFollow.Get(a.url + "/api/cameras/cam1/snapshot.jpg?token=" + staffToken)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := b.url + "/api/cameras/cam1/snapshot.jpg?token=" + staffToken; res.StatusCode != 307 || res.Header.Get("Location") != want {
		t.Errorf("GET cam1's snapshot on a = %d, Location %q; want 307 to %s", res.StatusCode, res.Header.Get("Location"), want)
	}
	if res, err := http.Get(a.url + "/api/cameras/cam1/snapshot.jpg"); err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("cam1's snapshot asked of a, followed to b: %v %v, want a JPEG", res, err)
	} else {
		res.Body.Close()
	}
	// a WHEP client follows it and plays from b
	v, err := whepclient.Play(whepclient.HTTP(a.url+"/whep/cam1", ""), 0)
	if err != nil {
		t.Fatalf("a viewer of cam1 sent by a to b: %v", err)
	}
	defer v.Close()
	if !strings.HasPrefix(v.Location, b.url+"/whep/cam1/sessions/") {
		t.Errorf("session Location = %q, want it at b (%s)", v.Location, b.url)
	}
	if err := v.WaitPackets(100, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// a counts the viewer b relays (from b's health in Redis)
	testenv.WaitFor(t, "cam1's viewer at b counted on a", 3*time.Second, func() bool {
		_, body := call(t, "GET", a.url+"/api/cameras/cam1", staffToken, "")
		var c api.Camera
		return json.Unmarshal([]byte(body), &c) == nil && c.Viewers == 1
	})
	// the owner serves its own camera; an unknown camera is still a 404 on a
	req, _ = http.NewRequest("POST", b.url+"/whep/cam1", strings.NewReader("v=0"))
	req.Header.Set("Content-Type", "application/sdp")
	if res, err := noFollow.Do(req); err != nil || res.StatusCode == 307 {
		t.Errorf("POST /whep/cam1 on its owner b = %v %v, want no redirect", res.StatusCode, err)
	} else {
		res.Body.Close()
	}
	if code, body := call(t, "POST", a.url+"/whep/nope", "", "v=0"); code != 404 {
		t.Errorf("POST /whep/nope on a = %d %s, want 404", code, body)
	}

	// GET /api/cluster on either member: both members, their URLs,
	// leases and cameras
	for _, m := range []*member{a, b} {
		code, body := call(t, "GET", m.url+"/api/cluster", staffToken, "")
		var view api.ClusterView
		if err := json.Unmarshal([]byte(body), &view); code != 200 || err != nil {
			t.Fatalf("GET /api/cluster = %d %s", code, body)
		}
		if len(view.Members) != 2 {
			t.Fatalf("GET /api/cluster on %s: %s, want 2 members", view.Node, body)
		}
		for i, want := range []struct {
			node, url, cams string
		}{{"a", a.url, "cam2"}, {"b", b.url, "cam1"}} {
			got := view.Members[i]
			if got.Node != want.node || got.URL != want.url || strings.Join(got.Cameras, ",") != want.cams ||
				time.Until(got.Expires) <= 0 || time.Until(got.Expires) > 600*time.Millisecond {
				t.Errorf("on %s, member %d = %+v; want %s at %s with %s, its lease ending within 600ms", view.Node, i, got, want.node, want.url, want.cams)
			}
		}
	}
	if code, body := call(t, "GET", a.url+"/api/cluster", "", ""); code != 401 {
		t.Errorf("GET /api/cluster without a token = %d %s, want 401 (the center's only)", code, body)
	}

	// an owner that stops reporting: a says so instead of showing its
	// last word as the truth
	b.stopMirror()
	testenv.WaitFor(t, "cam1 offline on a, its owner silent", 8*time.Second, func() bool {
		_, body := call(t, "GET", a.url+"/api/cameras", staffToken, "")
		var list struct{ Cameras []api.Camera }
		return json.Unmarshal([]byte(body), &list) == nil && len(list.Cameras) == 2 && !list.Cameras[0].Health.Online &&
			strings.HasPrefix(list.Cameras[0].Health.LastError, "member b, which reads this camera, has not reported its health for ")
	})
}

func TestProxyWHEPPlaysThroughTheMemberThatDoesNotOwnTheCamera(t *testing.T) {
	t.Run("cluster.proxy_whep", func(t *testing.T) { playThroughNonOwner(t, true) })
	// the pages ask for it (a browser cannot follow the 307 to another origin)
	t.Run("asked by the page", func(t *testing.T) { playThroughNonOwner(t, false) })
}

// playThroughNonOwner plays cam1, which member b reads, through member a:
// with cluster.proxy_whep on, or with every request asking (ProxyHeader).
func playThroughNonOwner(t *testing.T, proxyWHEP bool) {
	cfg := liveConfig(t)
	cfg.Cluster.ProxyWHEP = proxyWHEP
	ask := func(req *http.Request) *http.Request {
		if !proxyWHEP {
			req.Header.Set(api.ProxyHeader, "1")
		}
		return req
	}
	a, b := startPair(t, cfg, true)
	testenv.WaitFor(t, "cam1 online at b", 10*time.Second, func() bool {
		h, ok := b.deps.Cameras.Health("cam1")
		return ok && h.Online
	})
	// a client that follows no redirect: a must answer the offer itself
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("a redirect: the member should have proxied the offer")
	}}
	var owner string
	exchange := func(offer string) (string, string, error) {
		req, _ := http.NewRequest("POST", a.url+"/whep/cam1", strings.NewReader(offer))
		req.Header.Set("Content-Type", "application/sdp")
		res, err := noFollow.Do(ask(req))
		if err != nil {
			return "", "", err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusCreated {
			return "", "", &whepclient.HTTPError{Code: res.StatusCode, Body: string(body)}
		}
		owner = res.Header.Get("X-Owner")
		loc, err := res.Request.URL.Parse(res.Header.Get("Location"))
		if err != nil {
			return "", "", err
		}
		return string(body), loc.String(), nil
	}
	v, err := whepclient.Play(exchange, 0)
	if err != nil {
		t.Fatalf("a viewer of cam1 through a: %v", err)
	}
	defer v.Close()
	if !strings.HasPrefix(v.Location, a.url+"/whep/cam1/sessions/") || owner != "b" {
		t.Errorf("session Location %q, X-Owner %q; want the session at a (%s), owned by b", v.Location, owner, a.url)
	}
	if err := v.WaitPackets(100, 5*time.Second); err != nil {
		t.Fatalf("video through a from b: %v", err)
	}
	if n := b.deps.Relay.Viewers()["cam1"]; n != 1 {
		t.Errorf("b has %d viewers of cam1, want the one proxied by a", n)
	}
	if n := a.deps.Relay.Viewers()["cam1"]; n != 0 {
		t.Errorf("a has %d viewers of cam1 itself, want 0", n)
	}
	// the session ends through a too
	del := func() (int, error) {
		req, _ := http.NewRequest(http.MethodDelete, v.Location, nil)
		res, err := http.DefaultClient.Do(ask(req))
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	if code, err := del(); err != nil || code != 200 {
		t.Fatalf("DELETE of the session through a = %d %v, want 200", code, err)
	}
	testenv.WaitFor(t, "b's session to end", 5*time.Second, func() bool { return b.deps.Relay.Viewers()["cam1"] == 0 })
	if code, _ := del(); code != 404 {
		t.Errorf("a second DELETE through a = %d, want the owner's 404", code)
	}
}

// A clip is cut by the member that reads its camera and kept on its disk;
// asked of another member, it comes from there: what it holds, then its
// video once cut. A clip no member has is a 404.
func TestAClipCutOnAnotherMemberIsServedByAny(t *testing.T) {
	cfg := liveConfig(t)
	cfg.Record.Before, cfg.Record.After = configs.Duration(time.Second), configs.Duration(time.Second)
	a, b := startPair(t, cfg, true)
	testenv.WaitFor(t, "cam1 online at b", 10*time.Second, func() bool {
		h, ok := b.deps.Cameras.Health("cam1")
		return ok && h.Online
	})
	time.Sleep(2 * time.Second) // a second of video before the clip's moment
	cl, err := b.rec.Clip("cam1", "", "incident", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, http.Header, []byte) { return a.get(t, path) }
	code, h, body := get("/api/clips/" + cl.ID)
	var info record.Clip
	if code != 200 || json.Unmarshal(body, &info) != nil || info.ID != cl.ID || h.Get("X-Owner") != "b" {
		t.Fatalf("clip %s asked of a = %d %s (X-Owner %q), want b's description", cl.ID, code, body, h.Get("X-Owner"))
	}
	var video []byte
	testenv.WaitFor(t, "the clip's video through a", 15*time.Second, func() bool {
		code, _, video = get("/api/clips/" + cl.ID + ".mp4")
		return code == 200
	})
	if len(video) < 1000 || string(video[4:8]) != "ftyp" {
		t.Errorf("the clip's video through a: %d bytes starting %q, want an MP4", len(video), video[:min(8, len(video))])
	}
	if code, _, body := get("/api/clips/C0000000000none"); code != 404 {
		t.Errorf("a clip no member has = %d %s, want 404", code, body)
	}
}

// The wall's overview on one member shows the cameras the others read: it
// asks each owner once for its pictures (here b, without detection: its
// cameras' latest key frames, shrunk).
func TestThumbsOfCamerasAnotherMemberReadsComeThroughAny(t *testing.T) {
	cfg := liveConfig(t)
	a, _ := startPair(t, cfg, true) // b reads cam1 (pinned)
	var got api.Thumbs
	testenv.WaitFor(t, "cam1's picture through a", 10*time.Second, func() bool {
		code, _, body := a.get(t, "/api/thumbs?cameras=cam2,cam1,nosuch")
		got = api.Thumbs{}
		return code == 200 && json.Unmarshal(body, &got) == nil && len(got.Thumbs) == 1
	})
	th := got.Thumbs[0]
	img, err := jpeg.Decode(bytes.NewReader(th.JPEG))
	if err != nil {
		t.Fatalf("%s's picture through a is no JPEG: %v", th.Camera, err)
	}
	if th.Camera != "cam1" || img.Bounds().Dx() != 320 || time.Since(time.UnixMilli(th.AtMS)) > 10*time.Second {
		t.Fatalf("thumbs through a: %s at %d (%v old), %v; want cam1's picture, 320 wide, recent", th.Camera, th.AtMS, time.Since(time.UnixMilli(th.AtMS)), img.Bounds())
	}
	if got.Missing["cam2"] == "" || got.Missing["nosuch"] != "no such camera" {
		t.Errorf("missing through a: %q, want cam2 (a reads no video here) and nosuch with reasons", got.Missing)
	}
	// a key frame is decoded for it every 10 s at most, however often the
	// overview asks: a few key frames later, the same picture
	time.Sleep(3 * time.Second)
	var again api.Thumbs
	if code, _, body := a.get(t, "/api/thumbs?cameras=cam1"); code != 200 || json.Unmarshal(body, &again) != nil || len(again.Thumbs) != 1 {
		t.Fatalf("cam1's picture again: %d %s", code, body)
	}
	if again.Thumbs[0].AtMS != th.AtMS {
		t.Errorf("cam1's picture 3 s later is of %d, want the same as before (%d): one decode per 10 s", again.Thumbs[0].AtMS, th.AtMS)
	}
}

// A worker's submission through a member that does not read the task's
// camera still gets its clip: that member asks the one that reads it,
// which has the video, to keep it. The dossier made on the first member
// holds the clip, fetched from the second.
func TestASubmissionThroughAnotherMemberKeepsItsClipForTheDossier(t *testing.T) {
	cfg := recordedTaskConfig(t)
	a, b := startPair(t, cfg, true)
	via := &bridge{url: a.url, cfg: cfg, rec: b.rec, tokens: map[string]string{}}
	for _, u := range []string{"resident", "staff", "worker1"} {
		via.tokens[u] = via.login(t, u).Token
	}
	id, clip := via.toSubmitted(t) // every step through a
	var cl record.Clip
	testenv.WaitFor(t, "the clip cut on b", 15*time.Second, func() bool {
		cl, _ = b.rec.ClipInfo(clip)
		return cl.State == record.ClipReady
	})
	if cl.Task != id || cl.Reason != "submit" || cl.Camera != "cam1" || cl.Bytes == 0 {
		t.Fatalf("b's clip %s = %+v, want task %s's submission on cam1, with video", clip, cl, id)
	}
	if _, here := a.rec.ClipInfo(clip); here {
		t.Errorf("a, which does not read cam1, keeps clip %s too", clip)
	}
	res, err := http.DefaultClient.Do(newRequest("GET", a.url+"/api/tasks/"+id+"/dossier", via.tokens["staff"], ""))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("the dossier from a = %d %s", res.StatusCode, data)
	}
	files := unzip(t, data)
	if got := files["clips/"+clip+".mp4"]; int64(len(got)) != cl.Bytes || !strings.Contains(string(files["index.html"]), `href="clips/`+clip+`.mp4"`) {
		t.Errorf("the dossier from a holds %d bytes of clip %s (want b's %d) and links it: %v", len(got), clip, cl.Bytes,
			strings.Contains(string(files["index.html"]), clip))
	}
	// a client cannot pass for a member to have clips kept
	code, body := call(t, "POST", b.url+"/api/cluster/clips", staffToken, fmt.Sprintf(`{"camera": "cam1", "task": %q, "reason": "submit", "at_ms": %d}`, id, time.Now().UnixMilli()))
	if code != 403 {
		t.Errorf("POST /api/cluster/clips without the members' signature = %d %s, want 403", code, body)
	}
}
