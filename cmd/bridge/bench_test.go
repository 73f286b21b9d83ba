package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"qianliyan/internal/camsimproc"
)

// BenchmarkRelay measures the bridge relaying one 1920x1080 ~4 Mbit/s
// camera (2 s GOP, no B-frames) to N WHEP viewers: pion clients in a
// separate process (whepload), pinned to the other core when taskset is
// there. Figures are over a 10 s window once every viewer has started.
func BenchmarkRelay(b *testing.B) {
	cam := camsimproc.Start(b, "-cameras", "1", "-size", "1920x1080", "-bitrate", "4000000", "-gop", "2s", "-variants", "1")
	pin, loadPin := "", ""
	if _, err := exec.LookPath("taskset"); err == nil {
		pin, loadPin = "0", "1"
	}
	br := startBridge(b, []cameraSpec{{id: "cam1", url: cam.URL(1), public: true}}, pin)
	load := camsimproc.Build(b, "./internal/whepload")
	for _, n := range []int{1, 25, 100, 200} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			for b.Loop() {
				args := []string{"-url", br.URL + "/whep/cam1", "-n", strconv.Itoa(n), "-hold", "10s"}
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
				sc := bufio.NewScanner(out)
				if !sc.Scan() || sc.Text() != "steady" {
					_ = cmd.Wait()
					b.Fatalf("whepload did not reach a steady state: %q", sc.Text())
				}
				cpu0, t0 := procCPU(br.PID()), time.Now()
				var res struct {
					Failed         int     `json:"failed"`
					Packets        int64   `json:"packets"`
					Lost           int64   `json:"lost"`
					FirstPacketP50 float64 `json:"first_packet_ms_p50"`
					FirstPacketP95 float64 `json:"first_packet_ms_p95"`
					FirstKeyP50    float64 `json:"first_key_ms_p50"`
					FirstKeyP95    float64 `json:"first_key_ms_p95"`
					NoKey          int     `json:"no_key_frame"`
					Error          string  `json:"error"`
				}
				rss := procRSS(br.PID())
				if !sc.Scan() {
					b.Fatal("whepload printed no result")
				}
				cpu1, t1 := procCPU(br.PID()), time.Now()
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
				b.ReportMetric(100*float64(res.Lost)/float64(res.Packets+res.Lost), "loss-%")
				b.ReportMetric(float64(res.Packets)/secs/float64(n), "pkt/s/viewer")
				b.ReportMetric(res.FirstPacketP50, "first-pkt-p50-ms")
				b.ReportMetric(res.FirstPacketP95, "first-pkt-p95-ms")
				b.ReportMetric(res.FirstKeyP50, "first-key-p50-ms")
				b.ReportMetric(res.FirstKeyP95, "first-key-p95-ms")
				// let the sessions of this round end before the next
				time.Sleep(2 * time.Second)
			}
		})
	}
}
