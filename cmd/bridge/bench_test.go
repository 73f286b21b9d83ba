package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"qianliyan/internal/camsimproc"
	"qianliyan/internal/schedlat"
	"qianliyan/internal/testenv"
	"qianliyan/internal/whepclient"
)

// BenchmarkRelay measures the bridge relaying one 1920x1080 ~4 Mbit/s
// camera (2 s GOP, no B-frames) to N WHEP viewers: pion clients in a
// separate process (whepload), pinned to the other core when taskset is
// there, each with a 4 MiB UDP receive buffer: one process on one core
// stands in for N phones, and with the kernel's default buffers it drops
// what it is late to read (200 viewers: 18% of the packets) whatever the
// bridge sends. The row rcvbuf=kernel gives 100 viewers the default
// buffer, as a plain client has. Figures are over a 10 s window once
// every viewer has started; join-* figures are over the joins. Viewers join 8 at a time
// (each from its offer to its first key frame: a wall of tiles opening,
// phones reconnecting after a restart, each join waiting on the others'
// handshakes and GOP bursts); at 100 also one at a time (a viewer joining
// a camera that 99 others watch) and all at once (a crowd: the viewers'
// one core then receives 100 GOP bursts at once, and its
// join-viewers-cores shows when it, not the bridge, is what the joins
// wait for).
func BenchmarkRelay(b *testing.B) {
	cam := camsimproc.Start(b, "-cameras", "1", "-size", "1920x1080", "-bitrate", "4000000", "-gop", "2s", "-variants", "1")
	pin, loadPin := pins()
	br := startBridge(b, []cameraSpec{{id: "cam1", url: cam.URL(1), public: true}}, pin)
	load := testenv.Build(b, "./internal/whepload")
	for _, run := range []struct {
		n, parallel   int
		kernelBuffers bool
	}{{1, 8, false}, {25, 8, false}, {100, 8, false}, {100, 8, true}, {100, 1, false}, {100, 100, false}, {200, 8, false}} {
		name, rcvbuf := fmt.Sprintf("viewers=%d/joining=%d", run.n, run.parallel), whepclient.ReadBuffer
		if run.kernelBuffers {
			name, rcvbuf = name+"/rcvbuf=kernel", 0
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				relayRound(b, br, load, loadPin, run.n, rcvbuf, "-url", br.URL+"/whep/cam1", "-parallel", strconv.Itoa(run.parallel))
			}
		})
	}
}

// BenchmarkRelaySpread measures the bridge relaying 32 cameras (1280x720,
// ~1 Mbit/s, 2 s GOP) to 500 viewers spread over them in turn (16 each,
// a few with 15), joining 8 at a time: a district's public cameras on
// residents' phones.
func BenchmarkRelaySpread(b *testing.B) {
	const cameras, viewers = 32, 500
	cam := camsimproc.Start(b, "-cameras", strconv.Itoa(cameras), "-bitrate", "1000000", "-gop", "2s")
	pin, loadPin := pins()
	specs := make([]cameraSpec, cameras)
	for i := range specs {
		specs[i] = cameraSpec{id: fmt.Sprintf("cam%d", i+1), url: cam.URL(i + 1), public: true}
	}
	br := startBridge(b, specs, pin)
	load := testenv.Build(b, "./internal/whepload")
	b.Run(fmt.Sprintf("viewers=%d/cameras=%d", viewers, cameras), func(b *testing.B) {
		for b.Loop() {
			relayRound(b, br, load, loadPin, viewers, whepclient.ReadBuffer, "-url", br.URL+"/whep/cam%d", "-cameras", strconv.Itoa(cameras))
		}
	})
}

// pins returns the cores for the bridge and the load generator, when
// taskset is there to pin them.
func pins() (bridge, load string) {
	if _, err := exec.LookPath("taskset"); err == nil {
		return "0", "1"
	}
	return "", ""
}

// relayRound runs whepload once with n viewers, receive buffers of rcvbuf
// bytes (0: the kernel's default) and args against br, and reports its
// figures.
func relayRound(b *testing.B, br *bridgeProc, load, loadPin string, n, rcvbuf int, args ...string) {
	args = append([]string{"-n", strconv.Itoa(n), "-hold", "10s", "-rcvbuf", strconv.Itoa(rcvbuf)}, args...)
	name := load
	if loadPin != "" {
		args = append([]string{"-c", loadPin, load}, args...)
		name = "taskset"
	}
	cmd := exec.Command(name, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	joinCPU0, joinLoad0, joinT0 := camsimproc.ProcCPU(br.PID()), camsimproc.ProcCPU(cmd.Process.Pid), time.Now()
	joinSteal0, joinWaits0 := stolenSeconds(), schedWaits(b, br.MetricsURL)
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "joined" {
		_ = cmd.Wait()
		b.Fatalf("whepload did not join: %q", sc.Text())
	}
	joinSecs := time.Since(joinT0).Seconds()
	joinCPU := (camsimproc.ProcCPU(br.PID()) - joinCPU0) / joinSecs
	joinLoad := (camsimproc.ProcCPU(cmd.Process.Pid) - joinLoad0) / joinSecs
	joinSteal := stolenSeconds() - joinSteal0
	joinWaits := schedWaits(b, br.MetricsURL).Since(joinWaits0)
	if !sc.Scan() || sc.Text() != "steady" {
		_ = cmd.Wait()
		b.Fatalf("whepload did not reach a steady state: %q", sc.Text())
	}
	cpu0, t0 := camsimproc.ProcCPU(br.PID()), time.Now()
	loadCPU0 := camsimproc.ProcCPU(cmd.Process.Pid)
	rcv0, snd0 := udpErrors()
	var res struct {
		Failed         int     `json:"failed"`
		Packets        int64   `json:"packets"`
		Lost           int64   `json:"lost"`
		Recovered      int64   `json:"recovered"`
		FirstPacketP50 float64 `json:"first_packet_ms_p50"`
		FirstPacketP95 float64 `json:"first_packet_ms_p95"`
		FirstKeyP50    float64 `json:"first_key_ms_p50"`
		FirstKeyP95    float64 `json:"first_key_ms_p95"`
		KeyAfterConn50 float64 `json:"key_after_connect_ms_p50"`
		KeyAfterConn95 float64 `json:"key_after_connect_ms_p95"`
		ConnectedP50   float64 `json:"connected_ms_p50"`
		JoinSchedP99   float64 `json:"join_sched_ms_p99"`
		NoKey          int     `json:"no_key_frame"`
		Error          string  `json:"error"`
	}
	rss := camsimproc.ProcRSS(br.PID())
	if !sc.Scan() {
		b.Fatal("whepload printed no result")
	}
	cpu1, t1 := camsimproc.ProcCPU(br.PID()), time.Now()
	loadCPU1 := camsimproc.ProcCPU(cmd.Process.Pid)
	rcv1, snd1 := udpErrors()
	if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
		b.Fatalf("whepload result %q: %v", sc.Text(), err)
	}
	_ = cmd.Wait()
	if res.Failed > 0 || res.NoKey > 0 {
		b.Fatalf("%d viewers failed, %d got no key frame: %s", res.Failed, res.NoKey, res.Error)
	}
	secs := t1.Sub(t0).Seconds()
	b.ReportMetric((cpu1-cpu0)/secs, "bridge-cores")
	b.ReportMetric(rss/(1<<20), "bridge-RSS-MB")
	// loss: gaps in the sequence numbers; never-arrived: of those, the
	// packets a NACK did not bring back
	b.ReportMetric(100*float64(res.Lost)/float64(res.Packets+res.Lost-res.Recovered), "loss-%")
	b.ReportMetric(100*float64(res.Lost-res.Recovered)/float64(res.Packets+res.Lost-res.Recovered), "never-arrived-%")
	b.ReportMetric(float64(res.Packets)/secs/float64(n), "pkt/s/viewer")
	// where loss happens: the kernel's UDP buffers on either side
	b.ReportMetric(float64(rcv1-rcv0), "udp-rcvbuf-drops")
	b.ReportMetric(float64(snd1-snd0), "udp-sndbuf-drops")
	b.ReportMetric((loadCPU1-loadCPU0)/secs, "viewers-cores")
	b.ReportMetric(res.FirstPacketP50, "first-pkt-p50-ms")
	b.ReportMetric(res.FirstPacketP95, "first-pkt-p95-ms")
	b.ReportMetric(res.FirstKeyP50, "first-key-p50-ms")
	b.ReportMetric(res.FirstKeyP95, "first-key-p95-ms")
	b.ReportMetric(res.ConnectedP50, "connected-p50-ms")
	b.ReportMetric(res.KeyAfterConn50, "key-after-connect-p50-ms")
	b.ReportMetric(res.KeyAfterConn95, "key-after-connect-p95-ms")
	b.ReportMetric(joinSecs, "join-s")
	b.ReportMetric(joinCPU, "join-bridge-cores")
	b.ReportMetric(joinLoad, "join-viewers-cores")
	// a virtual machine's host may run others on our cores: joins then
	// wait for CPU that neither side could use
	b.ReportMetric(1000*joinSteal, "join-steal-ms")
	// how long goroutines waited to run while joining (p99, the bucket's
	// upper bound): which side the joins waited on
	b.ReportMetric(1000*joinWaits.Quantile(0.99), "join-bridge-sched-p99-ms")
	b.ReportMetric(res.JoinSchedP99, "join-viewers-sched-p99-ms")
	// let the sessions of this round end before the next
	time.Sleep(2 * time.Second)
}

// schedWaits reads the bridge's scheduling waits from its /metrics.
func schedWaits(b *testing.B, url string) schedlat.Histogram {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	h, err := schedlat.ParseProm(resp.Body, "go_sched_latencies_seconds")
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// stolenSeconds reads the CPU time the hypervisor gave to others while
// this machine's CPUs wanted it (steal, all CPUs), in seconds.
func stolenSeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	ticks, _ := strconv.ParseFloat(f[8], 64)
	return ticks / 100 // USER_HZ
}

// udpErrors reads the kernel's counts of UDP datagrams dropped for a full
// receive or send buffer (all sockets of the machine).
func udpErrors() (rcvbuf, sndbuf int64) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, 0
	}
	var names, values []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "Udp:" {
			if names == nil {
				names = f
			} else {
				values = f
			}
		}
	}
	for i := range names {
		if i >= len(values) {
			break
		}
		v, _ := strconv.ParseInt(values[i], 10, 64)
		switch names[i] {
		case "RcvbufErrors":
			rcvbuf = v
		case "SndbufErrors":
			sndbuf = v
		}
	}
	return rcvbuf, sndbuf
}

// BenchmarkChromiumFirstFrame measures, in Debian's Chromium, the time from
// the WHEP POST to the first decoded frame (requestVideoFrameCallback), for
// a 720p camera with a 2 s GOP and one with a 4 s GOP, 10 fresh pages each.
func BenchmarkChromiumFirstFrame(b *testing.B) {
	gop2 := camsimproc.Start(b, "-cameras", "1", "-gop", "2s", "-loop", "4s")
	gop4 := camsimproc.Start(b, "-cameras", "1", "-gop", "4s", "-loop", "4s")
	br := startBridge(b, []cameraSpec{{id: "gop2", url: gop2.URL(1), public: true}, {id: "gop4", url: gop4.URL(1), public: true}}, "")
	for _, cam := range []string{"gop2", "gop4"} {
		b.Run("camera="+cam, func(b *testing.B) {
			for b.Loop() {
				cmd := node(b, context.Background(), "ttff", br.URL, cam, "-", "10")
				out, err := cmd.Output()
				if err != nil {
					b.Fatalf("check.mjs ttff: %v", err)
				}
				var res struct {
					RunsMS []float64 `json:"runs_ms"`
					Failed int       `json:"failed"`
					Errors []string  `json:"errors"`
				}
				if err := json.Unmarshal(out, &res); err != nil {
					b.Fatalf("ttff printed %q: %v", out, err)
				}
				if res.Failed > 0 || len(res.RunsMS) == 0 {
					b.Fatalf("%d runs failed: %v", res.Failed, res.Errors)
				}
				slices.Sort(res.RunsMS)
				b.ReportMetric(res.RunsMS[len(res.RunsMS)/2], "first-frame-p50-ms")
				b.ReportMetric(res.RunsMS[min(len(res.RunsMS)-1, len(res.RunsMS)*95/100)], "first-frame-p95-ms")
			}
		})
	}
}

// BenchmarkOverview128 opens the wall's overview of 128 cameras (camsim's
// 720p streets, detection idle: key frames only) in Chromium at 1920x1080:
// the time until every camera's picture has loaded, and how many were
// refreshed within 8 s.
func BenchmarkOverview128(b *testing.B) {
	const n = 128
	cam := camsimproc.Start(b, "-cameras", strconv.Itoa(n))
	var cams []cameraSpec
	for i := 1; i <= n; i++ {
		cams = append(cams, cameraSpec{id: fmt.Sprintf("cam%d", i), url: cam.URL(i), public: true})
	}
	br := startBridgeWith(b, cams, "", "detect: {mode: idle, calm_for: 1h}")
	waitThumbnails(b, br, n, 60*time.Second)
	var cellsMS, loadedMS []float64
	for b.Loop() {
		cmd := node(b, context.Background(), "overview", br.URL, b.TempDir(), staffToken, strconv.Itoa(n))
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("check.mjs overview: %v", err)
		}
		var res struct {
			Cells []struct {
				Loaded bool
			}
			CellsMS   int `json:"cells_ms"`
			LoadedMS  int `json:"loaded_ms"`
			Refreshed int
		}
		if err := json.Unmarshal(out, &res); err != nil {
			b.Fatalf("overview printed %q: %v", out, err)
		}
		cellsMS, loadedMS = append(cellsMS, float64(res.CellsMS)), append(loadedMS, float64(res.LoadedMS))
		b.Logf("load %d: every cell after %d ms, every picture after %d ms", len(loadedMS), res.CellsMS, res.LoadedMS)
		loaded := 0
		for _, c := range res.Cells {
			if c.Loaded {
				loaded++
			}
		}
		b.ReportMetric(float64(loaded), "pictures")
		b.ReportMetric(float64(res.Refreshed), "refreshed-in-8s")
	}
	if len(loadedMS) > 0 {
		b.ReportMetric(mean(cellsMS), "all-cells-mean-ms")
		b.ReportMetric(mean(loadedMS), "all-pictures-mean-ms")
		b.ReportMetric(slices.Max(loadedMS), "all-pictures-max-ms")
	}
}

func mean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// BenchmarkIncidentLatency measures, through the real bridge, the time from
// a scripted change in a camera's zone to the incident's event on
// /api/events: ffmpeg draws a white box in the bin zone from second 6 to
// 12 of every 12 of the wall clock (colour bars with sensor noise
// elsewhere), five times. The zone hold is set to 2 s for this (the
// default is 3 s): the figure is the hold plus what the pipeline adds.
func BenchmarkIncidentLatency(b *testing.B) {
	cam := camsimproc.Start(b, "-cameras", "1")
	url := cam.PushScene(b, "scene", camsimproc.BinBox(camsimproc.WallCycle(12, 6, 12)))
	br := startBridgeWith(b, []cameraSpec{{id: "scene", url: url, public: true,
		zones: "[{name: 垃圾桶, kind: bin, polygon: " + camsimproc.BinZone + "}]"}},
		"", "detect: {mode: active, calm_for: 1h, zone_hold: 2s, rate: 4}")
	// take the zone's reference while the box is away (second 2 of a cycle)
	time.Sleep(time.Until(camsimproc.NextPhase(time.Now(), 12, 2)))
	req, _ := http.NewRequest(http.MethodPost, br.URL+"/api/cameras/scene/zones/*/reference", nil)
	req.Header.Set("Authorization", "Bearer "+staffToken)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusAccepted {
		b.Fatalf("reference: %v %v", err, res)
	}
	refAt := time.Now()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, br.URL+"/api/events?token="+staffToken, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var lat []float64
		seen := map[string]bool{}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		incident := false
		for len(lat) < 5 && sc.Scan() {
			if sc.Text() == "event: incident" {
				incident = true
				continue
			}
			d, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || !incident {
				continue
			}
			incident = false
			var in struct {
				ID      string `json:"id"`
				EndedMS int64  `json:"ended_ms"`
			}
			if json.Unmarshal([]byte(d), &in) != nil || in.EndedMS != 0 || seen[in.ID] {
				continue
			}
			seen[in.ID] = true
			// the box appeared at the last second 6 of a 12 s cycle
			now := time.Now()
			appeared := camsimproc.NextPhase(now, 12, 6).Add(-12 * time.Second)
			if appeared.Before(refAt) {
				continue
			}
			lat = append(lat, float64(now.Sub(appeared).Microseconds())/1000)
		}
		res.Body.Close()
		cancel()
		if len(lat) < 5 {
			b.Fatalf("only %d incidents in 100 s", len(lat))
		}
		slices.Sort(lat)
		b.ReportMetric(lat[len(lat)/2], "latency-p50-ms")
		b.ReportMetric(lat[len(lat)-1], "latency-max-ms")
	}
}
