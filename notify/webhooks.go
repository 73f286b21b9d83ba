// Package notify tells the world outside the center about its tasks: it
// calls the configured webhooks (configs.Webhook) on task events, so a
// center can connect its SMS gateway or the 12345 platform. It imports
// task and configs only; cmd/bridge subscribes it to task.Store.OnChange
// and hands it to the API for the dead-letter routes.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
	"qianliyan/internal/rekey"
	"qianliyan/task"
)

// Webhooks delivers task events to the configured webhooks, at least once:
// a delivery is stored in Redis before it is tried and removed only after
// the receiver answered 2xx, so a bridge that stops mid-try tries again
// after a restart. Each delivery keeps its id (X-Qly-Delivery, and
// "delivery" in the signed body) over every try, so a receiver drops a
// repeat by it. Under the prefix (e.g. "qly:") and the hash tag {w}, so
// "qly:{w}:webhooks:queue":
//
//	webhooks:queue     sorted set of delivery ids, scored by when to try next (Unix ms);
//	                   a try in progress pushes its score a lease ahead
//	webhooks:delivery  hash, delivery id → the Delivery (JSON)
//	webhooks:dead      list of the Deliveries that failed every try (JSON), newest
//	                   first, capped at Options.DeadMax
//
// Every bridge sharing the store takes due deliveries from the same queue;
// a Lua script claims each for one of them. A delivery moves between the
// three keys in one MULTI/EXEC, which Redis Cluster allows only within one
// slot: the {w} tag puts them in one.
type Webhooks struct {
	cfg    *configs.Config
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	client *http.Client
	hooks  map[string]configs.Webhook // by URL
	opts   Options
	lease  time.Duration // how long a claimed delivery is left to its try

	in      chan Delivery // from OnEvent to Run, which stores them
	wake    chan struct{}
	dropped atomic.Int64
}

// Options tune the delivery; zero fields take their defaults.
type Options struct {
	Log *slog.Logger
	// Client sends the requests; default: one that follows no redirect (a
	// redirect is a refusal, not a place to send the secret's signature).
	Client *http.Client
	// Poll is how often the queue is looked at for deliveries that are due;
	// default 250ms. A new event is tried at once.
	Poll time.Duration
	// DeadMax caps the dead-letter list, default 1000.
	DeadMax int
	// Parallel is how many deliveries are tried at once, default 8.
	Parallel int
	// Buffer is how many events may wait for Redis, default 4096; past it
	// an event is dropped, counted and logged rather than slow the task
	// that made it.
	Buffer int
	// Now is the clock of the schedule (nil: time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.DeadMax <= 0 {
		o.DeadMax = 1000
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// New returns the webhooks of cfg, queued in rdb under cfg.Redis.Prefix.
// Subscribe OnEvent to the task store and run Run.
func New(cfg *configs.Config, rdb redis.UniversalClient, o Options) *Webhooks {
	o = o.withDefaults()
	w := &Webhooks{cfg: cfg, rdb: rdb, prefix: cfg.Redis.Prefix, log: o.Log, client: o.Client, opts: o,
		hooks: map[string]configs.Webhook{}, in: make(chan Delivery, o.Buffer), wake: make(chan struct{}, 1)}
	var longest time.Duration
	for _, h := range cfg.Webhooks {
		w.hooks[h.URL] = h
		longest = max(longest, h.Timeout.D())
	}
	w.lease = longest + 10*time.Second
	return w
}

// slotTag follows the prefix of every webhook key (see Webhooks).
const slotTag = "{w}:"

func (w *Webhooks) queueKey() string    { return w.prefix + slotTag + "webhooks:queue" }
func (w *Webhooks) deliveryKey() string { return w.prefix + slotTag + "webhooks:delivery" }
func (w *Webhooks) deadKey() string     { return w.prefix + slotTag + "webhooks:dead" }

// Migrate moves the queue, the deliveries and the dead-letter list of the
// layout before the {w} hash tag (<prefix>webhooks:…) to their names of
// today, so deliveries queued before an upgrade in place are still made;
// it returns how many keys it moved. Redis Cluster is left alone. Run
// calls it first.
func (w *Webhooks) Migrate(ctx context.Context) (int, error) {
	n, err := rekey.Move(ctx, w.rdb, w.prefix, w.prefix+slotTag, w.prefix+"webhooks:")
	if err != nil {
		return n, fmt.Errorf("move the webhook queue under %s: %w", slotTag, err)
	}
	return n, nil
}

// Delivery is one event on its way to one webhook.
type Delivery struct {
	ID    string `json:"id"`
	URL   string `json:"url"` // the webhook's; shown to staff without its query (see Dead)
	Event string `json:"event"`
	Task  string `json:"task"`
	// Body is the JSON sent (a Payload), the same bytes on every try.
	Body       json.RawMessage `json:"body"`
	Attempts   int             `json:"attempts"` // tries made
	CreatedMS  int64           `json:"created_ms"`
	LastMS     int64           `json:"last_ms,omitempty"`     // when the last try ended
	LastStatus int             `json:"last_status,omitempty"` // its HTTP status; 0: no answer
	LastError  string          `json:"last_error,omitempty"`  // what went wrong, in words
	DeadMS     int64           `json:"dead_ms,omitempty"`     // when it went to the dead-letter list
}

// Dropped is how many events were lost because Redis did not keep up.
func (w *Webhooks) Dropped() int64 { return w.dropped.Load() }

// OnEvent is the task store's subscriber (task.Store.OnChange): it makes
// one delivery per webhook that asks for the event and hands them to Run.
// It never blocks.
func (w *Webhooks) OnEvent(ev task.Event) {
	if ev.Task == nil || ev.Entry == nil {
		return
	}
	event, ok := eventOf[ev.Entry.Action]
	if !ok {
		return
	}
	now := w.opts.Now().UnixMilli()
	for _, h := range w.cfg.Webhooks {
		if !wants(h, event) {
			continue
		}
		id := newID(now)
		body, err := json.Marshal(payload(w.cfg, event, id, ev))
		if err != nil {
			w.log.Error("webhook body", "task", ev.Task.ID, "err", err)
			continue
		}
		d := Delivery{ID: id, URL: h.URL, Event: event, Task: ev.Task.ID, Body: body, CreatedMS: now}
		select {
		case w.in <- d:
		default:
			w.dropped.Add(1)
			w.log.Warn("webhook event dropped: Redis does not keep up", "task", ev.Task.ID, "event", event, "dropped", w.dropped.Load())
		}
	}
}

func wants(h configs.Webhook, event string) bool {
	for _, e := range h.Events {
		if e == event {
			return true
		}
	}
	return false
}

// newID is a short id that sorts by time: "W", the milliseconds in hex,
// 6 random bytes.
func newID(ms int64) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "W" + strconv.FormatInt(ms, 16) + hex.EncodeToString(b)
}

// Run moves the keys of an older layout (Migrate), then stores the events OnEvent hands over and tries the deliveries that
// are due, until ctx ends.
func (w *Webhooks) Run(ctx context.Context) error {
	if n, err := w.Migrate(ctx); err != nil {
		w.log.Warn("webhook queue of the old layout not moved", "err", err)
	} else if n > 0 {
		w.log.Info("webhook queue moved under its hash tag", "keys", n)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { w.store(ctx) })
	sem := make(chan struct{}, w.opts.Parallel)
	tick := time.NewTicker(w.opts.Poll)
	defer tick.Stop()
	down := false // one line when the queue goes out of reach, one when it is back
	for {
		if free := cap(sem) - len(sem); free > 0 {
			ds, err := w.claim(ctx, free)
			switch {
			case err != nil && ctx.Err() == nil && !down:
				w.log.Warn("webhook queue unreachable; trying again", "err", err)
				down = true
			case err == nil && down:
				w.log.Info("webhook queue reachable again")
				down = false
			}
			for _, d := range ds {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					w.try(ctx, d)
				})
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-w.wake:
		}
	}
}

// store moves events from OnEvent into the queue.
func (w *Webhooks) store(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-w.in:
			if err := w.enqueue(ctx, d, d.CreatedMS); err != nil {
				w.dropped.Add(1)
				w.log.Error("webhook event lost: Redis refused it", "task", d.Task, "event", d.Event, "delivery", d.ID, "err", err)
				continue
			}
			w.poke()
		}
	}
}

func (w *Webhooks) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Webhooks) enqueue(ctx context.Context, d Delivery, atMS int64) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = w.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, w.deliveryKey(), d.ID, data)
		p.ZAdd(ctx, w.queueKey(), redis.Z{Score: float64(atMS), Member: d.ID})
		return nil
	})
	return err
}

// claimScript takes up to ARGV[3] ids due at ARGV[1] and pushes their score
// to ARGV[2], the end of the lease, so no other bridge takes them meanwhile.
var claimScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids`)

// claim takes up to n due deliveries.
func (w *Webhooks) claim(ctx context.Context, n int) ([]Delivery, error) {
	now := w.opts.Now()
	ids, err := claimScript.Run(ctx, w.rdb, []string{w.queueKey()}, now.UnixMilli(), now.Add(w.lease).UnixMilli(), n).StringSlice()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	vals, err := w.rdb.HMGet(ctx, w.deliveryKey(), ids...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(ids))
	for i, v := range vals {
		var d Delivery
		s, _ := v.(string)
		if s == "" || json.Unmarshal([]byte(s), &d) != nil {
			// Delivered meanwhile by another bridge, or damaged: nothing to try.
			w.rdb.ZRem(ctx, w.queueKey(), ids[i])
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// outcome is how one try went.
type outcome struct {
	status int
	err    error
	retry  bool // worth another try: no answer, 5xx, 408 or 429
}

// try sends d once and records what came of it: done, due again after the
// backoff, or dead.
func (w *Webhooks) try(ctx context.Context, d Delivery) {
	h, ok := w.hooks[d.URL]
	var out outcome
	if ok {
		out = w.send(ctx, h, d)
	} else {
		out = outcome{err: errors.New("the webhook is no longer in the config")}
	}
	if ctx.Err() != nil && out.err != nil {
		return // stopped mid-try: the lease runs out and a bridge tries again
	}
	now := w.opts.Now()
	d.Attempts++
	d.LastMS, d.LastStatus, d.LastError = now.UnixMilli(), out.status, ""
	var err error
	switch {
	case out.err == nil:
		_, err = w.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZRem(ctx, w.queueKey(), d.ID)
			p.HDel(ctx, w.deliveryKey(), d.ID)
			return nil
		})
		w.log.Debug("webhook delivered", "task", d.Task, "event", d.Event, "delivery", d.ID, "attempts", d.Attempts)
	case out.retry && d.Attempts < h.Attempts:
		d.LastError = out.err.Error()
		wait := Backoff(h.Backoff.D(), d.Attempts)
		err = w.enqueue(ctx, d, now.Add(wait).UnixMilli())
		w.log.Info("webhook failed; trying again", "task", d.Task, "event", d.Event, "delivery", d.ID,
			"attempts", d.Attempts, "wait", wait, "err", out.err)
	default:
		d.LastError = out.err.Error()
		d.DeadMS = now.UnixMilli()
		err = w.bury(ctx, d)
		w.log.Warn("webhook failed for good: on the dead-letter list", "task", d.Task, "event", d.Event, "delivery", d.ID,
			"attempts", d.Attempts, "err", out.err)
	}
	if err != nil {
		// The lease runs out and the delivery is tried again: at least once.
		w.log.Warn("webhook outcome not stored", "delivery", d.ID, "err", err)
	}
}

// Backoff is the wait after the n-th failed try (n from 1): first, doubled
// n-1 times, at most an hour.
func Backoff(first time.Duration, n int) time.Duration {
	d := first
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// send makes one try.
func (w *Webhooks) send(ctx context.Context, h configs.Webhook, d Delivery) outcome {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout.D())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(d.Body))
	if err != nil {
		return outcome{err: fmt.Errorf("cannot make the request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "qianliyan-webhook/1")
	req.Header.Set("X-Qly-Event", d.Event)
	req.Header.Set("X-Qly-Delivery", d.ID)
	req.Header.Set("X-Qly-Timestamp", strconv.FormatInt(w.opts.Now().UnixMilli(), 10))
	req.Header.Set("X-Qly-Signature", Sign(h.Secret, d.Body))
	resp, err := w.client.Do(req)
	if err != nil {
		// The URL may hold the receiver's key: the error names the host only.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return outcome{err: fmt.Errorf("no answer from %s: %w", req.URL.Host, err), retry: true}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return outcome{status: code}
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return outcome{status: code, err: fmt.Errorf("%s answered %d %s", req.URL.Host, code, http.StatusText(code)), retry: true}
	default:
		return outcome{status: code, err: fmt.Errorf("%s refused it with %d %s", req.URL.Host, code, http.StatusText(code))}
	}
}

// Sign is the X-Qly-Signature of body: "sha256=" and the hex HMAC-SHA256 of
// body with the webhook's secret. A receiver computes the same over the
// bytes it got and compares in constant time.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
