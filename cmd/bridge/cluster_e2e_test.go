package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"qianliyan/api"
	"qianliyan/cluster"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
	"qianliyan/internal/whepclient"
)

// clusterLease and clusterHold are the e2e cluster's lease and hold-down:
// short, so that a takeover and a return take seconds.
const (
	clusterLease = 2 * time.Second
	clusterHold  = 6 * time.Second
)

// member is one bridge process of the e2e cluster.
type member struct {
	node                      string
	httpPort, metrics, udpPrt int
	URL                       string
	cmd                       *exec.Cmd
}

// startMember runs bin with the shared config and the flags that make it
// member node (-addr, -udp-port, -metrics-addr, -node), and waits until
// it answers.
func startMember(t testing.TB, bin, cfg string, m *member) {
	t.Helper()
	m.cmd = exec.Command(bin, "-config", cfg, "-node", m.node, "-addr", fmt.Sprintf("127.0.0.1:%d", m.httpPort),
		"-udp-port", strconv.Itoa(m.udpPrt), "-metrics-addr", fmt.Sprintf("127.0.0.1:%d", m.metrics),
		"-data-dir", filepath.Join(filepath.Dir(cfg), "data-"+m.node))
	testenv.Run(t, m.cmd, filepath.Join(filepath.Dir(cfg), fmt.Sprintf("%s-%d.log", m.node, time.Now().UnixNano())))
	testenv.WaitFor(t, m.node+" answering", 20*time.Second, func() bool {
		res, err := http.Get(m.URL + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil
	})
}

// staffJSON decodes what GET path answers the center into out; out stays
// as it is when m does not answer.
func (m *member) staffJSON(path string, out any) {
	req, _ := http.NewRequest("GET", m.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+staffToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer res.Body.Close()
	_ = json.NewDecoder(res.Body).Decode(out)
}

// view is the cluster as m sees it, or an empty view when m does not
// answer.
func (m *member) view() api.ClusterView {
	var v api.ClusterView
	m.staffJSON("/api/cluster", &v)
	return v
}

// owners is camera → node in v.
func owners(v api.ClusterView) map[string]string {
	out := map[string]string{}
	for _, m := range v.Members {
		for _, c := range m.Cameras {
			out[c] = m.Node
		}
	}
	return out
}

// onlineHere are the cameras m reads itself and has online.
func (m *member) onlineHere(own map[string]string) map[string]bool {
	var list struct{ Cameras []api.Camera }
	m.staffJSON("/api/cameras", &list)
	out := map[string]bool{}
	for _, c := range list.Cameras {
		if own[c.ID] == m.node && c.Health.Online && c.Health.Frames > 0 {
			out[c.ID] = true
		}
	}
	return out
}

// settled reports whether every member of ms sees exactly ms, the same
// owner for each of n cameras, and each camera online on its owner; it
// returns the owners.
func settled(ms []*member, n int) (map[string]string, bool) {
	var first map[string]string
	for _, m := range ms {
		v := m.view()
		if len(v.Members) != len(ms) {
			return nil, false
		}
		o := owners(v)
		if first == nil {
			first = o
		} else if !maps.Equal(first, o) {
			return nil, false
		}
	}
	if len(first) != n {
		return nil, false
	}
	online := 0
	for _, m := range ms {
		online += len(m.onlineHere(first))
	}
	return first, online == n
}

func TestThreeBridgesOnRedisClusterShareAndTakeOverCameras(t *testing.T) {
	const n = 24
	addrs := redistest.StartCluster(t, 3)
	cam := camsimproc.Start(t, "-cameras", strconv.Itoa(n), "-size", "160x120", "-gop", "1s", "-loop", "2s", "-variants", "2")
	bin := testenv.Build(t, "./cmd/bridge")
	dir := t.TempDir()

	// one config for the three, as the README runs two: the flags give
	// each its addresses and name
	var y strings.Builder
	fmt.Fprintf(&y, "server: {public_url: \"http://127.0.0.1:8080\", staff_token: %q}\n", staffToken)
	fmt.Fprintf(&y, "redis: {url: \"redis://127.0.0.1/0\", addrs: [%s], prefix: \"qly:e2e:\"}\n", strings.Join(addrs, ", "))
	y.WriteString("webrtc: {tcp_port: 0, max_sessions_per_client: 1000}\ndetect: {mode: off}\n")
	fmt.Fprintf(&y, "cluster: {lease: %v, hold_down: %v}\n", clusterLease, clusterHold)
	y.WriteString("cameras:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&y, "  - {id: cam%d, name: \"测试街巷%d号\", grid: hexia-01, url: %q, public: true, transport: tcp}\n", i, i, cam.URL(i))
	}
	cfg := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(cfg, []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var ms []*member
	began := time.Now()
	for _, node := range []string{"b1", "b2", "b3"} {
		m := &member{node: node, httpPort: testenv.FreePort(t, "tcp"), metrics: testenv.FreePort(t, "tcp"), udpPrt: testenv.FreePort(t, "udp")}
		m.URL = fmt.Sprintf("http://127.0.0.1:%d", m.httpPort)
		startMember(t, bin, cfg, m)
		ms = append(ms, m)
	}

	// 1. the cameras split across the three, each read by its owner alone
	var first map[string]string
	testenv.WaitFor(t, "24 cameras split over 3 members, each online on its owner", 30*time.Second, func() bool {
		var ok bool
		first, ok = settled(ms, n)
		return ok
	})
	share := map[string]int{}
	for _, node := range first {
		share[node]++
	}
	t.Logf("cameras per member: %v", share)
	for _, m := range ms {
		if share[m.node] < 3 {
			t.Errorf("member %s owns %d of %d cameras, want its share (3 at least): %v", m.node, share[m.node], n, share)
		}
		v := m.view()
		i := slices.IndexFunc(v.Members, func(x cluster.Member) bool { return x.Node == m.node })
		if want := fmt.Sprintf("http://127.0.0.1:%d", m.httpPort); v.Node != m.node || i < 0 || v.Members[i].URL != want {
			t.Errorf("member %s: /api/cluster names it %q with members %+v, want its URL %s (-addr's port)", m.node, v.Node, v.Members, want)
		}
	}

	// 2. kill -9 one while staff create tasks through all three: its
	// cameras online on the others within 10 s, every task a member
	// acknowledged is there, once
	b3 := ms[2]
	traffic := startTaskTraffic(ms)
	time.Sleep(time.Second)
	if err := b3.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var after map[string]string
	testenv.WaitFor(t, "b3's cameras online on b1 and b2", 15*time.Second, func() bool {
		var ok bool
		after, ok = settled(ms[:2], n)
		return ok
	})
	took := time.Since(killed)
	traffic.checkAllThere(t, ms[0])
	t.Logf("b3 killed: its %d cameras online on the others after %v (lease %v)", share["b3"], took.Round(10*time.Millisecond), clusterLease)
	if took > 10*time.Second {
		t.Errorf("takeover took %v, want within 10 s", took)
	}
	var moved string
	for c, node := range first {
		if node != "b3" && after[c] != node {
			t.Errorf("%s moved from %s to %s, though only b3 left", c, node, after[c])
		}
		if node == "b3" && moved == "" {
			moved = c
		}
	}
	// a viewer of one of them, asking b1, plays (from b1, or sent to b2)
	v, err := whepclient.Play(whepclient.HTTP(ms[0].URL+"/whep/"+moved, ""), 0)
	if err != nil {
		t.Fatalf("a viewer of %s after the takeover: %v", moved, err)
	}
	if err := v.WaitPackets(20, 5*time.Second); err != nil {
		t.Errorf("viewer of %s after the takeover: %v", moved, err)
	}
	v.Close()

	// 3. b3 comes back: it takes its cameras back once, after the
	// hold-down. (Members that join within the hold-down of the first
	// share at once, as at the start: b3 comes back later than that.)
	time.Sleep(time.Until(began.Add(clusterHold + time.Second)))
	startMember(t, bin, cfg, b3)
	back := time.Now()
	changes := map[string][]string{} // camera → owners in the order b1 saw them
	for c, node := range after {
		changes[c] = []string{node}
	}
	for time.Since(back) < clusterHold+10*time.Second {
		o := owners(ms[0].view())
		for c, node := range o {
			if h := changes[c]; h[len(h)-1] != node {
				changes[c] = append(h, node)
				if node == "b3" && time.Since(back) < clusterHold {
					t.Errorf("%s back to b3 %v after it came back, before the hold-down of %v", c, time.Since(back), clusterHold)
				}
			}
		}
		if maps.Equal(o, first) && time.Since(back) > clusterHold {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for c, h := range changes {
		want := []string{after[c]}
		if first[c] == "b3" {
			want = append(want, "b3")
		}
		if !slices.Equal(h, want) {
			t.Errorf("%s's owners after b3 came back: %v, want %v (no flapping)", c, h, want)
		}
	}
	testenv.WaitFor(t, "the cameras settled back on the three", 15*time.Second, func() bool {
		o, ok := settled(ms, n)
		return ok && maps.Equal(o, first)
	})
	t.Logf("b3 back: its cameras settled %v after it came back (hold-down %v)", time.Since(back).Round(10*time.Millisecond), clusterHold)

	// 3b. the recording of a camera b3 took back lists, on b3, what the
	// member that read it meanwhile recorded, and b3 relays those segments
	var back3 api.Recording
	testenv.WaitFor(t, moved+"'s recording through b3 with "+after[moved]+"'s segments", 15*time.Second, func() bool {
		ms[2].staffJSON("/api/cameras/"+moved+"/recording", &back3)
		return slices.ContainsFunc(back3.Segments, func(s api.RecordingSegment) bool { return strings.HasSuffix(s.URL, "?node="+after[moved]) })
	})
	i := slices.IndexFunc(back3.Segments, func(s api.RecordingSegment) bool { return strings.HasSuffix(s.URL, "?node="+after[moved]) })
	if code, owner, size := ms[2].segment(t, back3.Segments[i].URL); code != 200 || owner != after[moved] || size != back3.Segments[i].Bytes {
		t.Errorf("%s's segment recorded by %s, through b3: %d from %q, %d bytes; want 200 from %s, %d bytes", moved, after[moved], code, owner, size, after[moved], back3.Segments[i].Bytes)
	}
	if !slices.IsSortedFunc(back3.Segments, func(a, b api.RecordingSegment) int { return cmp.Compare(a.StartMS, b.StartMS) }) {
		t.Errorf("%s's recording through b3 is not in time order: %+v", moved, back3.Segments)
	}

	// 4. the recording of a camera b2 has read all along, asked of b1: b1
	// relays it from b2, the list and a segment
	var kept string
	for c, node := range first {
		if node == "b2" && after[c] == "b2" {
			kept = c
			break
		}
	}
	// (the list may begin with a segment b1 itself recorded in the first
	// second, before b2 joined and took kept)
	var rec api.Recording
	fromB2 := func(s api.RecordingSegment) bool { return strings.HasSuffix(s.URL, "?node=b2") }
	testenv.WaitFor(t, "a closed segment of "+kept+" by b2 listed through b1", 15*time.Second, func() bool {
		ms[0].staffJSON("/api/cameras/"+kept+"/recording", &rec)
		return slices.ContainsFunc(rec.Segments, fromB2)
	})
	seg := rec.Segments[slices.IndexFunc(rec.Segments, fromB2)]
	if code, owner, size := ms[0].segment(t, seg.URL); code != 200 || owner != "b2" || size != seg.Bytes {
		t.Errorf("segment of %s through b1: %d, X-Owner %q, %d bytes; want 200 from b2, %d bytes", kept, code, owner, size, seg.Bytes)
	}

	// 5. the wall on b1 plays its first four cameras in Chromium, those
	// the others read too (the page's WHEP requests relayed to the owner)
	others := 0
	for i := 1; i <= 4; i++ {
		if first[fmt.Sprintf("cam%d", i)] != "b1" {
			others++
		}
	}
	var wall struct {
		Tiles []struct {
			Camera string
			Frames int
			Status string
		}
	}
	runScenario(t, &wall, "screen", ms[0].URL, artifacts(t), staffToken, "4")
	if len(wall.Tiles) != 4 {
		t.Fatalf("the wall on b1 shows %d tiles, want 4: %+v", len(wall.Tiles), wall)
	}
	for _, tile := range wall.Tiles {
		if tile.Frames <= 25 || tile.Status != "在线" {
			t.Errorf("tile %s on b1 (read by %s): %d frames decoded, status %q; want > 25, 在线", tile.Camera, first[tile.Camera], tile.Frames, tile.Status)
		}
	}
	if others == 0 {
		t.Errorf("b1 reads all of the wall's first four cameras (%v): the check played none through another member", first)
	}
}

// segment fetches a recording segment's URL from m as staff: the status,
// the member that served it (X-Owner) and its size.
func (m *member) segment(t *testing.T, url string) (int, string, int64) {
	t.Helper()
	code, h, body := testenv.Get(t, m.URL+url, staffToken)
	return code, h.Get("X-Owner"), int64(len(body))
}

// taskTraffic creates tasks through every member in turn until stopped,
// remembering those a member acknowledged.
type taskTraffic struct {
	stop  chan struct{}
	done  chan struct{}
	acked map[string]string // task id → its title
	tried int
}

func startTaskTraffic(ms []*member) *taskTraffic {
	tt := &taskTraffic{stop: make(chan struct{}), done: make(chan struct{}), acked: map[string]string{}}
	go func() {
		defer close(tt.done)
		client := &http.Client{Timeout: 3 * time.Second}
		for i := 0; ; i++ {
			select {
			case <-tt.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			title := fmt.Sprintf("e2e-%d", i)
			body := fmt.Sprintf(`{"title": %q, "description": "created while a member dies", "camera": "cam1"}`, title)
			req, _ := http.NewRequest("POST", ms[i%len(ms)].URL+"/api/tasks", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+staffToken)
			req.Header.Set("Content-Type", "application/json")
			tt.tried++
			res, err := client.Do(req)
			if err != nil {
				continue // not acknowledged: the member is gone
			}
			var out struct{ Task struct{ ID string } }
			if res.StatusCode/100 == 2 && json.NewDecoder(res.Body).Decode(&out) == nil && out.Task.ID != "" {
				tt.acked[out.Task.ID] = title
			}
			res.Body.Close()
		}
	}()
	return tt
}

// checkAllThere stops the traffic and checks, through m, that every
// acknowledged task is stored, and no title twice.
func (tt *taskTraffic) checkAllThere(t *testing.T, m *member) {
	t.Helper()
	close(tt.stop)
	<-tt.done
	var list struct {
		Tasks []struct{ ID, Title string }
	}
	m.staffJSON("/api/tasks?camera=cam1&limit=500", &list)
	seen := map[string]string{}
	titles := map[string]int{}
	for _, x := range list.Tasks {
		seen[x.ID] = x.Title
		titles[x.Title]++
	}
	for id, title := range tt.acked {
		if seen[id] != title {
			t.Errorf("task %s (%s) was acknowledged but is not there after the kill", id, title)
		}
	}
	for title, k := range titles {
		if k > 1 {
			t.Errorf("%d tasks titled %s: one request made two", k, title)
		}
	}
	t.Logf("tasks through the kill: %d tried, %d acknowledged, %d stored", tt.tried, len(tt.acked), len(list.Tasks))
	if len(tt.acked) < 10 {
		t.Errorf("only %d of %d tasks acknowledged while b3 died", len(tt.acked), tt.tried)
	}
}
