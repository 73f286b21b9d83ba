package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
)

// BenchmarkClusterAPI measures several bridges as one against one bridge,
// on one Redis and on a 3-master Redis Cluster (four rows): the bridges are
// real processes from one config (as the README runs two), with 30
// cameras that never answer, so each member's detection raises
// camera_offline on the cameras it owns 8 s after it began reading them
// (the members start within that) and its confirmer turns each into a
// task.
//
//   - incident-to-task: from each camera_offline incident's start to its
//     task's event on one staff event stream of the first member,
//     whichever member raised it (other members' events come over the
//     event bus); p50 and max in ms over the 30.
//   - API: 200 requests a second for 5 s, open loop (latency counts from
//     each request's schedule), spread over the members in turn: three in
//     four GET /api/tasks?limit=20, one in four POST /api/tasks; p50 and
//     p99 of each in ms.
func BenchmarkClusterAPI(b *testing.B) {
	bin := testenv.Build(b, "./cmd/bridge")
	for _, store := range []string{"redis", "rediscluster"} {
		for _, members := range []int{1, 3} {
			b.Run(fmt.Sprintf("store=%s/members=%d", store, members), func(b *testing.B) {
				_, prefix := redistest.Client(b, "bench") // its keys go when the row ends
				redisYAML := fmt.Sprintf("redis: {url: %q, prefix: %q}", redistest.URL(), prefix)
				if store == "rediscluster" {
					addrs := redistest.StartCluster(b, 3)
					redisYAML = fmt.Sprintf("redis: {url: \"redis://127.0.0.1/0\", addrs: [%s], prefix: \"qly:bench:\"}", strings.Join(addrs, ", "))
				}
				for b.Loop() {
					benchCluster(b, bin, redisYAML, members)
				}
			})
		}
	}
}

// benchCameras is how many (silent) cameras the cluster benchmark has.
const benchCameras = 30

func benchCluster(b *testing.B, bin, redisYAML string, n int) {
	dir := b.TempDir()
	var y strings.Builder
	fmt.Fprintf(&y, "server: {public_url: \"http://127.0.0.1:8080\", staff_token: %q}\n%s\n", staffToken, redisYAML)
	y.WriteString("webrtc: {tcp_port: 0}\ndetect: {mode: idle, offline_after: 8s}\n")
	fmt.Fprintf(&y, "cluster: {lease: %v, hold_down: %v}\ncameras:\n", clusterLease, clusterHold)
	for i := 1; i <= benchCameras; i++ {
		fmt.Fprintf(&y, "  - {id: cam%d, name: \"测试街巷%d号\", grid: hexia-01, url: \"rtsp://127.0.0.1:1/silent%d\", transport: tcp}\n", i, i, i)
	}
	cfg := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(cfg, []byte(y.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	var ms []*member
	for i := range n {
		m := &member{node: fmt.Sprintf("b%d", i+1), httpPort: testenv.FreePort(b, "tcp"), metrics: testenv.FreePort(b, "tcp"), udpPrt: testenv.FreePort(b, "udp")}
		m.URL = fmt.Sprintf("http://127.0.0.1:%d", m.httpPort)
		ms = append(ms, m)
	}
	for _, m := range ms {
		startMember(b, bin, cfg, m)
	}
	events := benchEvents(b, ms[0].URL)

	// incident → task: from the incident's start (the owner's clock, the
	// same host's) to its task's event on the first member's stream; the
	// two events may come in either order over the bus
	started, taskAt := map[string]time.Time{}, map[string]time.Time{}
	var lat []float64
	timeout := time.After(40 * time.Second)
	for len(lat) < benchCameras {
		select {
		case ev := <-events:
			if ev.name == "incident" {
				started[ev.id] = ev.at
			} else {
				taskAt[ev.id] = ev.at
			}
			if s, ok := started[ev.id]; ok {
				if t, ok := taskAt[ev.id]; ok {
					lat = append(lat, float64(t.Sub(s).Microseconds())/1000)
					delete(started, ev.id)
					delete(taskAt, ev.id)
				}
			}
		case <-timeout:
			b.Fatalf("only %d of %d incidents became tasks within 40 s (%d incidents and %d tasks unmatched)",
				len(lat), benchCameras, len(started), len(taskAt))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "incident-task-p50-ms")
	b.ReportMetric(lat[len(lat)-1], "incident-task-max-ms")

	// the API, open loop over the members
	const (
		rate     = 200
		duration = 5 * time.Second
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1000, MaxIdleConnsPerHost: 1000}}
	defer client.CloseIdleConnections()
	var (
		mu            sync.Mutex
		lists, writes []time.Duration
		failed        []string
		wg            sync.WaitGroup
	)
	start := time.Now()
	for i := range int(rate * duration.Seconds()) {
		at := start.Add(time.Duration(i) * time.Second / rate)
		time.Sleep(time.Until(at))
		m := ms[i%len(ms)]
		wg.Go(func() {
			method, path, body := "GET", "/api/tasks?limit=20", []byte(nil)
			into := &lists
			if i%4 == 3 {
				method, path, into = "POST", "/api/tasks", &writes
				body = fmt.Appendf(nil, `{"title": "井盖松动 %d", "camera": "cam%d"}`, i, 1+i%benchCameras)
			}
			code, err := benchCall(client, method, m.URL+path, body)
			d := time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || code >= 300 {
				failed = append(failed, fmt.Sprintf("%s %s on %s: %d %v", method, path, m.node, code, err))
				return
			}
			*into = append(*into, d)
		})
	}
	wg.Wait()
	if len(failed) > 0 {
		b.Fatalf("%d requests failed, first: %s", len(failed), failed[0])
	}
	for _, r := range []struct {
		name string
		ds   []time.Duration
	}{{"list", lists}, {"create", writes}} {
		slices.Sort(r.ds)
		b.ReportMetric(quantileMS(r.ds, 0.5), r.name+"-p50-ms")
		b.ReportMetric(quantileMS(r.ds, 0.99), r.name+"-p99-ms")
	}
}

// benchEvent is an incident or task event of a stream.
type benchEvent struct {
	name, id string    // id: the incident's (of a task: its incident's)
	at       time.Time // an incident's start; when a task's event came
}

// benchEvents follows the staff event stream of url until the benchmark
// ends: new camera_offline incidents and the creations of their tasks.
func benchEvents(b *testing.B, url string) <-chan benchEvent {
	in := testenv.SSE(b, url+"/api/events?token="+staffToken)
	out := make(chan benchEvent, 1000)
	go func() {
		defer close(out)
		for m := range in {
			var v struct {
				ID        string `json:"id"`
				Kind      string `json:"kind"`
				StartedMS int64  `json:"started_ms"`
				UpdatedMS int64  `json:"updated_ms"`
				Task      struct {
					IncidentID string `json:"incident_id"`
				} `json:"task"`
				Entry struct {
					Action string `json:"action"`
				} `json:"entry"`
			}
			if json.Unmarshal([]byte(m.Data), &v) != nil {
				continue
			}
			switch {
			case m.Name == "incident" && v.Kind == "camera_offline" && v.StartedMS == v.UpdatedMS:
				out <- benchEvent{name: "incident", id: v.ID, at: time.UnixMilli(v.StartedMS)}
			case m.Name == "task" && v.Entry.Action == "create" && v.Task.IncidentID != "":
				out <- benchEvent{name: "task", id: v.Task.IncidentID, at: m.At}
			}
		}
	}()
	return out
}

// benchCall sends a request as staff and reads the answer.
func benchCall(c *http.Client, method, url string, body []byte) (int, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+staffToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}

// quantileMS is the nearest-rank q-quantile of sorted durations, in ms.
func quantileMS(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := max(int(math.Ceil(q*float64(len(sorted))))-1, 0)
	return float64(sorted[i].Microseconds()) / 1000
}
