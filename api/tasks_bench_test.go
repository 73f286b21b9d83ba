package api_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The task API's benchmarks measure whole setups once each (make bench runs
// them with -benchtime 1x): a real HTTP listener on loopback, the real
// Redis, and the figures reported with b.ReportMetric.

// benchClient is an HTTP client that keeps enough connections open for an
// open-loop load.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 1000, MaxIdleConnsPerHost: 1000, IdleConnTimeout: time.Minute}}
}

// benchDo sends a JSON body (or none) and reads the answer; it gives the
// status and the body.
func benchDo(c *http.Client, method, url, token string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// percentile is the nearest-rank q-quantile of sorted durations, in ms.
func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := max(int(math.Ceil(q*float64(len(sorted))))-1, 0)
	return float64(sorted[i].Microseconds()) / 1000
}

// chain is one task going through the loop, one step at a time.
type chain struct {
	id     string
	step   int
	worker int // index in the benchmark's workers
}

// BenchmarkTaskAPITransitionsAndLists offers 500 requests a second for 5 s,
// open loop (each request starts on its schedule, whatever the others do;
// latency counts from the schedule), three in four moving tasks through the
// loop (create+accept, dispatch, claim, arrive, submit, verify, close, on
// many tasks at once) and one in four listing tasks as staff and workers
// do. It reports p50 and p99 of each kind in milliseconds.
func BenchmarkTaskAPITransitionsAndLists(b *testing.B) {
	const (
		rate     = 500
		duration = 5 * time.Second
	)
	tb := serve(b, taskConfig(b), withTasks(), withEvents(), withLogins())
	client := benchClient()
	defer client.CloseIdleConnections()
	// each worker's tasks are on a camera of the worker's grid; the GPS
	// check-in is a few metres from it; each submits a photo of their own
	// (a photo is attached only by who uploaded it)
	workers := []struct{ user, camera, gps, photo string }{
		{"worker1", "cam1", `{"lat": 33.52005, "lng": 119.14003, "accuracy_m": 5}`, tb.photo(b, "worker1")},
		{"worker2", "cam3", `{"lat": 33.53004, "lng": 119.14802, "accuracy_m": 5}`, tb.photo(b, "worker2")},
		{"worker3", "cam2", `{"lat": 33.52103, "lng": 119.14118, "accuracy_m": 5}`, tb.photo(b, "worker3")},
	}
	steps := []struct{ user, action, body string }{
		{"staff", "", `{"title": "垃圾桶倒了", "camera": %[3]q, "accept": true}`},
		{"staff", "dispatch", `{"worker": %q, "request_id": %q}`},
		{"", "claim", `{"request_id": %[2]q}`},
		{"", "arrive", `{"request_id": %[2]q, "evidence": {"gps": %[4]s}}`},
		{"", "submit", `{"request_id": %[2]q, "evidence": {"photo": %[5]q}}`},
		{"staff", "verify", `{"request_id": %[2]q}`},
		{"staff", "close", `{"request_id": %[2]q}`},
	}
	lists := []struct{ user, query string }{
		{"staff", "limit=20"},
		{"staff", "state=dispatched&limit=20"},
		{"worker3", "limit=20"},
		{"worker1", "mine=1&state=dispatched&limit=20"},
	}

	var (
		mu                  sync.Mutex
		transitions, listed []time.Duration
		failures            []string
		ready               = make(chan *chain, rate*10)
		wg                  sync.WaitGroup
		seq                 atomic.Int64
	)
	record := func(into *[]time.Duration, d time.Duration, code int, body []byte, what string) {
		mu.Lock()
		defer mu.Unlock()
		*into = append(*into, d)
		if code/100 != 2 && len(failures) < 10 {
			failures = append(failures, fmt.Sprintf("%s = %d %s", what, code, body))
		}
	}
	doStep := func(due time.Time, ch *chain) {
		st := steps[ch.step]
		w := workers[ch.worker]
		user := cmp.Or(st.user, w.user)
		var code int
		var body []byte
		var err error
		if ch.step == 0 {
			code, body, err = benchDo(client, "POST", tb.url+"/api/tasks", tb.tokens[user], fmt.Appendf(nil, st.body, w.user, "", w.camera))
			var env struct{ Task struct{ ID string } }
			if err == nil && json.Unmarshal(body, &env) == nil {
				ch.id = env.Task.ID
			}
		} else {
			rid := "b" + strconv.FormatInt(seq.Add(1), 10)
			code, body, err = benchDo(client, "POST", tb.url+"/api/tasks/"+ch.id+"/"+st.action, tb.tokens[user], fmt.Appendf(nil, st.body, w.user, rid, w.camera, w.gps, w.photo))
		}
		if err != nil {
			code, body = 0, []byte(err.Error())
		}
		record(&transitions, time.Since(due), code, body, st.action)
		if code/100 == 2 && ch.step+1 < len(steps) {
			ch.step++
			ready <- ch
		}
	}
	doList := func(due time.Time, i int) {
		l := lists[i%len(lists)]
		code, body, err := benchDo(client, "GET", tb.url+"/api/tasks?"+l.query, tb.tokens[l.user], nil)
		if err != nil {
			code, body = 0, []byte(err.Error())
		}
		record(&listed, time.Since(due), code, body, "list ?"+l.query)
	}

	start := time.Now().Add(50 * time.Millisecond)
	n := int(rate * duration.Seconds())
	for i := range n {
		due := start.Add(time.Duration(i) * time.Second / rate)
		time.Sleep(time.Until(due))
		wg.Add(1)
		if i%4 == 3 {
			go func() { defer wg.Done(); doList(due, i/4) }()
			continue
		}
		var ch *chain
		select {
		case ch = <-ready:
		default:
			ch = &chain{worker: i % len(workers)}
		}
		go func() { defer wg.Done(); doStep(due, ch) }()
	}
	offered := time.Since(start)
	wg.Wait()
	if len(failures) > 0 {
		b.Fatalf("%d requests failed, e.g.:\n%s", len(failures), strings.Join(failures, "\n"))
	}
	slices.Sort(transitions)
	slices.Sort(listed)
	b.ReportMetric(float64(n)/offered.Seconds(), "offered-req/s")
	b.ReportMetric(percentile(transitions, 0.5), "transition-p50-ms")
	b.ReportMetric(percentile(transitions, 0.99), "transition-p99-ms")
	b.ReportMetric(percentile(listed, 0.5), "list-p50-ms")
	b.ReportMetric(percentile(listed, 0.99), "list-p99-ms")
	b.ReportMetric(float64(len(transitions)), "transitions")
	b.ReportMetric(float64(len(listed)), "lists")
	reportLoad(b)
}

// reportLoad reports the machine's 1-minute load average: the benchmarks
// share two cores with whatever else runs, and their tails show it.
func reportLoad(b *testing.B) {
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				b.ReportMetric(v, "loadavg-1m")
			}
		}
	}
}

// BenchmarkTaskAPIEventsTo200Subscribers connects 200 server-sent-event
// clients (staff) to /api/events, then moves 20 tasks through the loop, one
// transition every 25 ms, and measures for each transition the time from
// sending it until the last of the 200 clients has its event. It reports
// p50, p99 and max in milliseconds, and the events some client missed.
func BenchmarkTaskAPIEventsTo200Subscribers(b *testing.B) {
	const (
		subscribers = 200
		tasks       = 20
		every       = 25 * time.Millisecond
	)
	tb := serve(b, taskConfig(b), withTasks(), withEvents(), withLogins())
	photo := tb.photo(b, "worker1")
	client := benchClient()
	defer client.CloseIdleConnections()

	ids := make([]string, tasks)
	for i := range ids {
		code, body, err := benchDo(client, "POST", tb.url+"/api/tasks", staffToken, []byte(`{"title": "垃圾桶倒了", "camera": "cam1", "accept": true}`))
		var env struct{ Task struct{ ID string } }
		if err != nil || code != 201 || json.Unmarshal(body, &env) != nil {
			b.Fatalf("create = %d %s %v", code, body, err)
		}
		ids[i] = env.Task.ID
	}
	steps := []struct{ user, action, body string }{
		{staffToken, "dispatch", `{"worker": "worker1", "request_id": %q}`},
		{tb.tokens["worker1"], "claim", `{"request_id": %q}`},
		{tb.tokens["worker1"], "arrive", `{"request_id": %q, "evidence": {"gps": {"lat": 33.52005, "lng": 119.14003}}}`},
		{tb.tokens["worker1"], "submit", `{"request_id": %q, "evidence": {"photo": "` + photo + `"}}`},
		{staffToken, "verify", `{"request_id": %q}`},
		{staffToken, "close", `{"request_id": %q}`},
	}
	n := tasks * len(steps)
	sent := make([]atomic.Int64, n) // unix ns the transition was sent
	got := make([]atomic.Int32, n)  // how many clients have its event
	all := make([]atomic.Int64, n)  // unix ns the last client got it

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var connected, done sync.WaitGroup
	connected.Add(subscribers)
	var connErr atomic.Value
	for range subscribers {
		done.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", tb.url+"/api/events?token="+staffToken, nil)
			res, err := client.Do(req)
			if err != nil || res.StatusCode != 200 {
				connErr.Store(fmt.Sprint("subscribe: ", err))
				connected.Done()
				return
			}
			defer res.Body.Close()
			connected.Done()
			r := bufio.NewReaderSize(res.Body, 64<<10)
			task := false
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return
				}
				switch {
				case bytes.HasPrefix(line, []byte("event: ")):
					task = bytes.Equal(line, []byte("event: task\n"))
				case task && bytes.HasPrefix(line, []byte("data: ")):
					var ev struct {
						Entry struct {
							RequestID string `json:"request_id"`
						} `json:"entry"`
					}
					if json.Unmarshal(line[6:], &ev) != nil {
						continue
					}
					i, err := strconv.Atoi(strings.TrimPrefix(ev.Entry.RequestID, "ev-"))
					if err != nil || i < 0 || i >= n {
						continue
					}
					if got[i].Add(1) == subscribers {
						all[i].Store(time.Now().UnixNano())
					}
				}
			}
		})
	}
	connected.Wait()
	if v := connErr.Load(); v != nil {
		b.Fatal(v)
	}

	next := time.Now()
	for s, st := range steps {
		for k, id := range ids {
			i := s*tasks + k
			time.Sleep(time.Until(next))
			next = next.Add(every)
			sent[i].Store(time.Now().UnixNano())
			code, body, err := benchDo(client, "POST", tb.url+"/api/tasks/"+id+"/"+st.action, st.user, fmt.Appendf(nil, st.body, "ev-"+strconv.Itoa(i)))
			if err != nil || code != 200 {
				b.Fatalf("%s %s = %d %s %v", st.action, id, code, body, err)
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		complete := true
		for i := range got {
			complete = complete && got[i].Load() == subscribers
		}
		if complete {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	done.Wait()

	var lat []time.Duration
	missed := 0
	for i := range n {
		if got[i].Load() < subscribers {
			missed += subscribers - int(got[i].Load())
			continue
		}
		lat = append(lat, time.Duration(all[i].Load()-sent[i].Load()))
	}
	slices.Sort(lat)
	b.ReportMetric(percentile(lat, 0.5), "to-all-200-p50-ms")
	b.ReportMetric(percentile(lat, 0.99), "to-all-200-p99-ms")
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "to-all-200-max-ms")
	}
	b.ReportMetric(float64(n), "events")
	b.ReportMetric(float64(missed), "missed-deliveries")
	reportLoad(b)
	if missed > 0 {
		b.Errorf("%d deliveries of %d events to %d clients missed", missed, n, subscribers)
	}
}
