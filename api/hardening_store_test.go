package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"qianliyan/api"
	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/internal/redistest"
	"qianliyan/task"
)

// storeDown is the sentence of every store-backed route while Redis is down.
const storeDown = "the task store (Redis) is not reachable; try again in a few seconds"

// Finding 7: with Redis down the task, report, stats and incident routes
// answered 500 "internal error".
func TestStoreRoutesSay503WhileRedisIsDownAndRecover(t *testing.T) {
	rs := startPrivateRedis(t)
	t.Setenv("QLY_REDIS_URL", rs.URL())
	cfg := taskConfig(t)
	b := serve(t, cfg, withTasks(), withLogins(), withEvents())
	// the incident routes, over the same store
	rdb := redistest.Connect(t)
	hub := ingest.NewHub(cfg, slog.New(slog.DiscardHandler))
	incidents := detect.NewStore(rdb, cfg.Redis.Prefix)
	inc := httptest.NewServer(api.New(api.Deps{Config: cfg, Cameras: hub, Redis: rdb, Log: slog.New(slog.DiscardHandler),
		Detection: detect.NewDetector(cfg, hub, incidents, detect.Options{}, time.Hour), Incidents: incidents}).Handler())
	t.Cleanup(inc.Close)

	tk := b.create(t, "staff", map[string]any{"title": "垃圾桶倒了", "camera": "cam1"})
	routes := []struct{ method, url, user, body string }{
		{"GET", b.url + "/api/tasks", "staff", ""},
		{"GET", b.url + "/api/tasks/" + tk.ID, "staff", ""},
		{"POST", b.url + "/api/tasks", "staff", `{"title": "路灯不亮", "camera": "cam1"}`},
		{"POST", b.url + "/api/tasks/" + tk.ID + "/accept", "staff", ""},
		{"POST", b.url + "/api/reports", "resident", `{"title": "路灯不亮", "camera": "cam1"}`},
		{"GET", b.url + "/api/stats", "staff", ""},
		{"GET", b.url + "/api/stats/export?format=xlsx&range=7d", "staff", ""},
		{"GET", b.url + "/api/workers", "staff", ""},
		{"GET", inc.URL + "/api/incidents", "@staff_token", ""},
	}
	rs.kill()
	for _, r := range routes {
		got := sendFrom(t, http.DefaultClient, r.method, r.url, b.tokens[r.user], r.body)
		if got.code != 503 || errorOf(got.body) != storeDown || got.header.Get("Retry-After") == "" {
			t.Errorf("%s %s with Redis down = %d Retry-After %q %s\nwant 503 {\"error\": %q} and a Retry-After", r.method, r.url, got.code, got.header.Get("Retry-After"), got.body, storeDown)
		}
	}
	// tokens still check out (no denylist to ask), so video goes on
	if got := sendFrom(t, http.DefaultClient, "GET", b.url+"/api/cameras", b.tokens["worker1"], ""); got.code != 200 {
		t.Errorf("GET /api/cameras with Redis down = %d %s; want 200", got.code, got.body)
	}
	rs.start()
	deadline := time.Now().Add(10 * time.Second)
	for sendFrom(t, http.DefaultClient, "GET", b.url+"/api/tasks", b.tokens["staff"], "").code != 200 {
		if time.Now().After(deadline) {
			t.Fatal("GET /api/tasks not 200 within 10 s of Redis coming back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, r := range routes {
		if got := sendFrom(t, http.DefaultClient, r.method, r.url, b.tokens[r.user], r.body); got.code >= 300 {
			t.Errorf("%s %s after Redis came back = %d %s; want a success", r.method, r.url, got.code, got.body)
		}
	}
}

// The fault test of issue 14: Redis is killed and started again while 20
// clients create and move tasks at 50 requests/s. Every acknowledged write
// is there afterwards; every refused request got a 503 with the sentence.
func TestRedisRestartUnderLoadKeepsEveryAcknowledgedWrite(t *testing.T) {
	rs := startPrivateRedis(t)
	t.Setenv("QLY_REDIS_URL", rs.URL())
	cfg := taskConfig(t)
	b := serve(t, cfg, withTasks(), withLogins(), withEvents())

	type ack struct {
		id     string
		seq    int
		action task.Action
		at     time.Time
	}
	var (
		mu       sync.Mutex
		acks     []ack
		refused  int
		problems []string
	)
	hc := &http.Client{Timeout: 10 * time.Second}
	try := func(method, path, user, body string) (int, string) {
		req, _ := http.NewRequest(method, b.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+b.tokens[user])
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(data)
	}
	// answer sorts a reply: true when acknowledged.
	answer := func(what string, code, want int, body string) bool {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case code == want:
			return true
		case code == 503 && errorOf(body) == storeDown:
			refused++
		default:
			problems = append(problems, fmt.Sprintf("%s = %d %s", what, code, body))
		}
		return false
	}
	steps := []struct{ user, action, body string }{
		{"staff", "accept", ""},
		{"staff", "dispatch", `"worker": "worker1", `},
		{"worker1", "claim", ""},
	}
	ctx, stop := context.WithTimeout(context.Background(), 9*time.Second)
	defer stop()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 20 * time.Millisecond) // spread the clients over the period
			tick := time.NewTicker(400 * time.Millisecond)       // 2.5 requests/s each, 50 in all
			defer tick.Stop()
			id, step, n := "", 0, 0
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if id == "" {
					code, body := try("POST", "/api/tasks", "staff", fmt.Sprintf(`{"title": "client %d", "camera": "cam1"}`, i))
					var env api.TaskEnvelope
					if answer("create", code, 201, body) && json.Unmarshal([]byte(body), &env) == nil {
						id = env.Task.ID
						mu.Lock()
						acks = append(acks, ack{id: id, seq: 1, action: task.Create, at: time.Now()})
						mu.Unlock()
					}
					continue
				}
				// a refused move is retried with its request id, which makes it safe
				s := steps[step]
				code, body := try("POST", "/api/tasks/"+id+"/"+s.action, s.user, fmt.Sprintf(`{%s"request_id": "c%d-%d"}`, s.body, i, n))
				var ch api.TaskChange
				if answer(s.action+" "+id, code, 200, body) && json.Unmarshal([]byte(body), &ch) == nil {
					mu.Lock()
					acks = append(acks, ack{id: id, seq: ch.Entry.Seq, action: ch.Entry.Action, at: time.Now()})
					mu.Unlock()
					step, n = step+1, n+1
					if step == len(steps) {
						id, step = "", 0
					}
				}
			}
		})
	}
	time.Sleep(3 * time.Second)
	rs.kill()
	time.Sleep(2 * time.Second) // longer than go-redis's own retries hide
	rs.start()
	back := time.Now()
	wg.Wait()

	after := 0
	for _, a := range acks {
		if a.at.After(back) {
			after++
		}
	}
	t.Logf("%d acknowledged writes (%d after Redis came back), %d refused with 503", len(acks), after, refused)
	for _, p := range problems {
		t.Errorf("neither acknowledged nor a 503 with the sentence: %s", p)
	}
	if refused == 0 || after == 0 || len(acks) < 100 {
		t.Errorf("the run did not cross the restart: %d acknowledged (%d after), %d refused", len(acks), after, refused)
	}
	// every acknowledged write is stored
	timelines := map[string][]task.Entry{}
	for _, a := range acks {
		tl, ok := timelines[a.id]
		if !ok {
			var d api.TaskDetail
			b.must(t, 200, "GET", "/api/tasks/"+a.id, "staff", nil, &d)
			tl = d.Timeline
			timelines[a.id] = tl
		}
		found := false
		for _, e := range tl {
			found = found || (e.Seq == a.seq && e.Action == a.action)
		}
		if !found {
			t.Errorf("acknowledged %s #%d of task %s is not in its timeline", a.action, a.seq, a.id)
		}
	}
}
