package notify_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
	"qianliyan/notify"
	"qianliyan/task"
)

const secret = "0123456789abcdef-receiver-key"

// hit is one request the receiver got.
type hit struct {
	at       time.Time
	delivery string
	event    string
	stamp    string
	body     []byte
	sigOK    bool
}

// receiver is a real HTTP webhook receiver on loopback: it checks the
// signature of every request as a center's gateway would and answers with
// the status answer gives for the n-th request (from 1).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []hit
	answer func(n int) int
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		want := notify.Sign(secret, body)
		h := hit{at: time.Now(), delivery: req.Header.Get("X-Qly-Delivery"), event: req.Header.Get("X-Qly-Event"),
			stamp: req.Header.Get("X-Qly-Timestamp"), body: body,
			sigOK: hmac.Equal([]byte(req.Header.Get("X-Qly-Signature")), []byte(want))}
		r.mu.Lock()
		r.hits = append(r.hits, h)
		n := len(r.hits)
		r.mu.Unlock()
		w.WriteHeader(r.answer(n))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hits)
}

// env is a task store and webhooks on a private prefix of the test Redis.
type env struct {
	cfg    *configs.Config
	rdb    redis.UniversalClient
	prefix string
	tasks  *task.Store
}

// onCluster, while set, is the Redis of every newEnv instead of the test
// Redis (TestWebhooksOnRedisCluster).
var onCluster redis.UniversalClient

func newEnv(t *testing.T, hooks ...configs.Webhook) *env {
	var rdb redis.UniversalClient
	rdb, prefix := redistest.Client(t, "notify")
	if onCluster != nil {
		rdb = onCluster
	}
	cfg := &configs.Config{Redis: configs.Redis{Prefix: prefix}, Webhooks: hooks,
		Cameras: []configs.Camera{{ID: "cam1", Name: "花巷口", Grid: "hexia-01"}},
		Users:   []configs.User{{Name: "worker1", DisplayName: "王五", Role: configs.RoleWorker, Grids: []string{"hexia-01"}}}}
	return &env{cfg: cfg, rdb: rdb, prefix: prefix, tasks: task.NewStore(rdb, prefix, configs.Tasks{}, nil)}
}

// start runs webhooks subscribed to the store until the test ends or stop
// is called; stop returns when Run has.
func (e *env) start(t *testing.T) (w *notify.Webhooks, stop func()) {
	w = notify.New(e.cfg, e.rdb, notify.Options{Poll: 20 * time.Millisecond})
	e.tasks.OnChange(w.OnEvent)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return w, stop
}

var staff = task.Actor{ID: "staff1", Role: task.Staff}

func hook(url string, attempts int, backoff time.Duration, events ...string) configs.Webhook {
	return configs.Webhook{URL: url, Secret: secret, Events: events, Attempts: attempts,
		Backoff: configs.Duration(backoff), Timeout: configs.Duration(5 * time.Second)}
}

func (e *env) create(t *testing.T) *task.Task {
	t.Helper()
	tk, err := e.tasks.Create(context.Background(), staff, task.NewTask{Title: "垃圾桶倒了", Camera: "cam1", Grid: "hexia-01"})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func (e *env) count(t *testing.T, key string) int64 {
	t.Helper()
	ctx := context.Background()
	var n int64
	var err error
	switch key {
	case "queue":
		n, err = e.rdb.ZCard(ctx, e.prefix+"{w}:webhooks:queue").Result()
	case "delivery":
		n, err = e.rdb.HLen(ctx, e.prefix+"{w}:webhooks:delivery").Result()
	case "dead":
		n, err = e.rdb.LLen(ctx, e.prefix+"{w}:webhooks:dead").Result()
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhookFailingTwiceIsDeliveredOnTheThirdTry(t *testing.T) {
	rcv := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	const backoff = 200 * time.Millisecond
	e := newEnv(t, hook(rcv.URL+"/sms", 5, backoff, "created", "dispatched"))
	e.start(t)
	tk := e.create(t)
	// accepted is not asked for: no delivery
	if _, _, err := e.tasks.Transition(context.Background(), tk.ID, staff, task.Accept, task.Request{}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "three tries", 5*time.Second, func() bool { return len(rcv.got()) >= 3 })
	testenv.WaitFor(t, "the delivery to leave the queue", 2*time.Second, func() bool {
		return e.count(t, "queue") == 0 && e.count(t, "delivery") == 0
	})
	time.Sleep(3 * backoff) // nothing more comes
	hits := rcv.got()
	if len(hits) != 3 {
		t.Fatalf("the receiver got %d requests, want 3 (two 500s, then 204)", len(hits))
	}
	for i, h := range hits {
		if !h.sigOK {
			t.Errorf("try %d: X-Qly-Signature does not match the HMAC-SHA256 of the body", i+1)
		}
		if h.delivery != hits[0].delivery || string(h.body) != string(hits[0].body) {
			t.Errorf("try %d: delivery %s body %s, want the first try's %s %s", i+1, h.delivery, h.body, hits[0].delivery, hits[0].body)
		}
		if h.event != "created" || h.stamp == "" {
			t.Errorf("try %d: X-Qly-Event %q, X-Qly-Timestamp %q; want created and a time", i+1, h.event, h.stamp)
		}
	}
	// 1 s, 2 s, 4 s... scaled: the second wait is twice the first
	for i, want := range []time.Duration{backoff, 2 * backoff} {
		if gap := hits[i+1].at.Sub(hits[i].at); gap < want {
			t.Errorf("wait before try %d was %v, want at least %v", i+2, gap, want)
		}
	}
	var p notify.Payload
	if err := json.Unmarshal(hits[0].body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Delivery != hits[0].delivery || p.Event != "created" || p.Task != tk.ID || p.State != task.Reported ||
		p.Camera != "cam1" || p.Grid != "hexia-01" || p.AtMS != tk.CreatedMS {
		t.Errorf("payload %+v, want delivery %s, created, task %s reported on cam1 in hexia-01 at %d", p, hits[0].delivery, tk.ID, tk.CreatedMS)
	}
	if !strings.Contains(p.Text, "垃圾桶倒了") || !strings.Contains(p.Text, "花巷口") || !strings.Contains(p.Text, tk.ID) {
		t.Errorf("text %q, want the title, the camera's name and the task id", p.Text)
	}
	if n := e.count(t, "dead"); n != 0 {
		t.Errorf("%d dead deliveries, want none", n)
	}
}

func TestWebhookThatAlwaysFailsIsDeadThenRetried(t *testing.T) {
	var (
		mu   sync.Mutex
		fail = true
	)
	rcv := newReceiver(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	e := newEnv(t, hook(rcv.URL+"/12345?key=receiver-key", 3, 20*time.Millisecond, "dispatched"))
	w, _ := e.start(t)
	ctx := context.Background()
	tk := e.create(t)
	for _, step := range []struct {
		act task.Action
		req task.Request
	}{{task.Accept, task.Request{}}, {task.Dispatch, task.Request{Worker: "worker1", Grid: "hexia-01"}}} {
		if _, _, err := e.tasks.Transition(ctx, tk.ID, staff, step.act, step.req); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, "the delivery on the dead-letter list", 5*time.Second, func() bool { return e.count(t, "dead") == 1 })
	if n := len(rcv.got()); n != 3 {
		t.Errorf("%d tries, want 3 (attempts: 3)", n)
	}
	dead, err := w.Dead(ctx)
	if err != nil || len(dead) != 1 {
		t.Fatalf("Dead: %d, %v; want 1", len(dead), err)
	}
	var d notify.Delivery
	if err := json.Unmarshal(dead[0], &d); err != nil {
		t.Fatal(err)
	}
	if d.Attempts != 3 || d.LastStatus != 503 || d.Event != "dispatched" || d.Task != tk.ID || d.DeadMS == 0 || !strings.Contains(d.LastError, "503") {
		t.Errorf("dead delivery %+v, want 3 tries of dispatched on %s, last 503", d, tk.ID)
	}
	if strings.Contains(string(dead[0]), "receiver-key") || d.URL != rcv.URL+"/12345" {
		t.Errorf("dead delivery shows url %q, want %s/12345 without its key", d.URL, rcv.URL)
	}
	var p notify.Payload
	if err := json.Unmarshal(rcv.got()[0].body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Worker != "worker1" || p.State != task.Dispatched || !strings.Contains(p.Text, "王五") {
		t.Errorf("payload %+v, want dispatched to worker1, the text naming 王五", p)
	}

	var te *task.Error
	if err := w.Retry(ctx, "Wnope"); !errors.Is(err, task.ErrNotFound) || !errors.As(err, &te) {
		t.Errorf("Retry of an unknown id: %v, want a task.Error of ErrNotFound", err)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if err := w.Retry(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the retried delivery", 5*time.Second, func() bool { return len(rcv.got()) == 4 })
	last := rcv.got()[3]
	if last.delivery != d.ID || !last.sigOK || string(last.body) != string(rcv.got()[0].body) {
		t.Errorf("retry sent delivery %s (signature ok %v), want %s with the same body, signed", last.delivery, last.sigOK, d.ID)
	}
	testenv.WaitFor(t, "the queue and the list to empty", 2*time.Second, func() bool {
		return e.count(t, "dead") == 0 && e.count(t, "queue") == 0 && e.count(t, "delivery") == 0
	})
	if err := w.Retry(ctx, d.ID); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("a second retry of a delivered id: %v, want ErrNotFound", err)
	}
}

func TestWebhookRefusalIsNotRetried(t *testing.T) {
	rcv := newReceiver(t, func(int) int { return http.StatusForbidden })
	e := newEnv(t, hook(rcv.URL, 5, 20*time.Millisecond, "created"))
	e.start(t)
	e.create(t)
	testenv.WaitFor(t, "the refused delivery on the dead-letter list", 5*time.Second, func() bool { return e.count(t, "dead") == 1 })
	time.Sleep(100 * time.Millisecond)
	if n := len(rcv.got()); n != 1 {
		t.Errorf("%d tries of a delivery refused with 403, want 1", n)
	}
}

func TestWebhookDeliverySurvivesARestart(t *testing.T) {
	rcv := newReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	e := newEnv(t, hook(rcv.URL, 5, 400*time.Millisecond, "created"))
	_, stop := e.start(t)
	tk := e.create(t)
	testenv.WaitFor(t, "the first try, recorded", 5*time.Second, func() bool {
		raws, _ := e.rdb.HVals(context.Background(), e.prefix+"{w}:webhooks:delivery").Result()
		return len(raws) == 1 && strings.Contains(raws[0], `"attempts":1`)
	})
	stop() // the bridge stops while the delivery waits for its second try
	if q := e.count(t, "queue"); q != 1 {
		t.Fatalf("%d deliveries queued after the stop, want 1", q)
	}
	other := notify.New(e.cfg, e.rdb, notify.Options{Poll: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = other.Run(ctx) }()
	testenv.WaitFor(t, "the second try, by the restarted bridge", 5*time.Second, func() bool { return len(rcv.got()) == 2 })
	hits := rcv.got()
	var p notify.Payload
	if err := json.Unmarshal(hits[1].body, &p); err != nil {
		t.Fatal(err)
	}
	if hits[1].delivery != hits[0].delivery || p.Task != tk.ID || !hits[1].sigOK {
		t.Errorf("after the restart: delivery %s of task %s, want %s of %s, signed", hits[1].delivery, p.Task, hits[0].delivery, tk.ID)
	}
	testenv.WaitFor(t, "the queue to empty", 2*time.Second, func() bool { return e.count(t, "queue") == 0 })
}
