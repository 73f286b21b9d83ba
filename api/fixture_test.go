package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/api"
	"qianliyan/configs"
	"qianliyan/ingest"
	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
	"qianliyan/record"
	"qianliyan/relay"
	"qianliyan/task"
)

// staffToken is the configs' server.staff_token.
const staffToken = "test-staff-token"

// t0 is when the tests' clocks start.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// bridge is the API under test, served over httptest on loopback with the
// real Redis, an ingest hub and a WebRTC relay over the config's cameras,
// and what the options added.
type bridge struct {
	url     string
	metrics string // serves GET /metrics, as server.metrics_addr does
	cfg     *configs.Config
	deps    api.Deps // what the API was built with, for a second server over the same parts
	hub     *ingest.Hub
	rl      *relay.Server
	rdb     *redis.Client
	clock   *testenv.Clock   // tokens, tasks and stats read it
	store   *task.Store      // withTasks
	snaps   string           // withTasks: the detection snapshots' folder
	rec     *record.Recorder // withRecording
	// tokens are the bearer tokens of the users logged in (withLogins),
	// and "@staff_token" for the config's staff token.
	tokens map[string]string
}

// settings are what the options of serve choose.
type settings struct {
	video  []string
	events bool
	tasks  bool
	logins bool
	clock  *testenv.Clock
	relay  relay.Options
	limits api.HTTPLimits
	record bool
}

// option is one choice of serve.
type option func(*settings)

// withVideo runs the hub (the cameras' RTSP readers) and waits until the
// cameras ids are online with figures; without it the cameras never come
// online.
func withVideo(ids ...string) option { return func(s *settings) { s.video = ids } }

// withEvents runs the API's Run, which publishes the cameras' changes to
// the event streams, as the bridge does.
func withEvents() option { return func(s *settings) { s.events = true } }

// withTasks gives the API a task store on the config's Redis prefix and
// a snapshot folder under its data folder.
func withTasks() option { return func(s *settings) { s.tasks = true } }

// withLogins logs every configured user in (see login) and keeps their
// tokens.
func withLogins() option { return func(s *settings) { s.logins = true } }

// withClock has the API (and the task store) read c instead of a new
// clock at t0, e.g. for a restart that goes on at the same time.
func withClock(c *testenv.Clock) option { return func(s *settings) { s.clock = c } }

// withRecording records the cameras (2 s segments) into the config's data
// folder and gives the API the recorder; it needs withVideo.
func withRecording() option { return func(s *settings) { s.record = true } }

// withRelay changes the relay's options (the session caps).
func withRelay(change func(*relay.Options)) option {
	return func(s *settings) { change(&s.relay) }
}

// withHTTPLimits serves the API within l instead of the defaults.
func withHTTPLimits(l api.HTTPLimits) option { return func(s *settings) { s.limits = l } }

// serve runs the API over cfg until the test ends, served by the
// http.Servers the bridge uses (their timeouts included). Two calls with one cfg
// are a restart: the same Redis keys, new servers.
func serve(t testing.TB, cfg *configs.Config, opts ...option) *bridge {
	t.Helper()
	s := settings{relay: relay.Options{UDPPort: 0, TCPPort: -1}}
	for _, o := range opts {
		o(&s)
	}
	if s.clock == nil {
		s.clock = testenv.NewClock(t0)
	}
	b := &bridge{cfg: cfg, clock: s.clock, rdb: redistest.Connect(t), tokens: map[string]string{}}
	if cfg.Server.StaffToken != "" {
		b.tokens["@staff_token"] = cfg.Server.StaffToken
	}
	log := slog.New(slog.DiscardHandler)
	b.hub = ingest.NewHub(cfg, log)
	rl, err := relay.NewServer(b.hub, s.relay)
	if err != nil {
		t.Fatal(err)
	}
	b.rl = rl
	b.deps = api.Deps{Config: cfg, Cameras: b.hub, Relay: rl, Redis: b.rdb, Log: log, Now: b.clock.Now, HTTP: s.limits}
	if s.tasks {
		b.store = task.NewStore(b.rdb, cfg.Redis.Prefix, cfg.Tasks, b.clock.Now)
		b.snaps = filepath.Join(cfg.DataDir, "snapshots")
		b.deps.Tasks, b.deps.SnapshotDir = b.store, b.snaps
	}
	if s.record {
		if b.rec, err = record.New(cfg, b.hub, log); err != nil {
			t.Fatal(err)
		}
		b.rec.SegmentLength = 2 * time.Second
		b.deps.Recorder = b.rec
	}
	a := api.New(b.deps)
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	if b.rec != nil {
		running.Go(func() { _ = b.rec.Run(ctx) })
	}
	if len(s.video) > 0 {
		running.Go(func() { _ = b.hub.Run(ctx) })
	}
	if s.events {
		running.Go(func() { _ = a.Run(ctx) })
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = a.HTTPServer("")
	srv.Start()
	ms := httptest.NewUnstartedServer(nil)
	ms.Config = a.MetricsServer("")
	ms.Start()
	b.url, b.metrics = srv.URL, ms.URL
	t.Cleanup(func() { srv.Close(); ms.Close(); rl.Close(); cancel(); running.Wait() })

	deadline := time.Now().Add(10 * time.Second)
	for _, id := range s.video {
		for {
			if h, _ := b.hub.Health(id); h.Online && h.FPS > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not online with figures within 10 s", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if s.logins {
		for _, u := range cfg.Users {
			b.tokens[u.Name] = b.login(t, u.Name).Token
		}
	}
	return b
}

// login logs user in with the password the tests give every user: the
// login followed by "-pw".
func (b *bridge) login(t testing.TB, user string) api.TokenResponse {
	t.Helper()
	code, body := call(t, "POST", b.url+"/api/login", "", fmt.Sprintf(`{"user": %q, "password": %q}`, user, user+"-pw"))
	if code != 200 {
		t.Fatalf("login as %s = %d %s", user, code, body)
	}
	var tr api.TokenResponse
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// call sends a request with an optional bearer token and JSON body; it
// returns the status and the body.
func call(t testing.TB, method, url, token, body string) (int, string) {
	t.Helper()
	return send(t, newRequest(method, url, token, body))
}

// newRequest is a request with an optional bearer token and JSON body.
func newRequest(method, url, token, body string) *http.Request {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// send does req and returns the status and the whole body.
func send(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// do sends body (a string as is, anything else as JSON) to path as user:
// a user logged in by withLogins, "@staff_token", a raw token, or "" for
// nobody. It returns the status and the body.
func (b *bridge) do(t testing.TB, method, path, user string, body any) (int, string) {
	t.Helper()
	s, ok := body.(string)
	if !ok && body != nil {
		j, _ := json.Marshal(body)
		s = string(j)
	}
	tok := ""
	if user != "" {
		tok = b.tokens[user]
		if tok == "" {
			tok = user // a raw token
		}
	}
	return call(t, method, b.url+path, tok, s)
}

// must sends like do and fails unless the status is want; it decodes the
// body into out.
func (b *bridge) must(t testing.TB, want int, method, path, user string, body, out any) {
	t.Helper()
	code, resp := b.do(t, method, path, user, body)
	if code != want {
		t.Fatalf("%s %s as %s = %d %s; want %d", method, path, user, code, resp, want)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(resp), out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, resp)
		}
	}
}

// errorOf is the sentence of a {"error": ...} body, or the body itself.
func errorOf(body string) string {
	var e struct{ Error *string }
	if json.Unmarshal([]byte(body), &e) != nil || e.Error == nil {
		return "not an error body: " + body
	}
	return *e.Error
}

// wantError checks a refusal's status code and its exact sentence.
func wantError(t *testing.T, what string, code int, body string, wantCode int, wantMsg string) {
	t.Helper()
	if code != wantCode || errorOf(body) != wantMsg {
		t.Errorf("%s = %d %s\nwant %d {\"error\": %q}", what, code, body, wantCode, wantMsg)
	}
}
