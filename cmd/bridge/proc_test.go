package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
)

const staffToken = "e2e-staff-token"

// bridgeProc is the real bridge binary running on loopback.
type bridgeProc struct {
	URL string
	// MetricsURL serves GET /metrics (server.metrics_addr).
	MetricsURL string
	// Prefix is its Redis key prefix.
	Prefix string
	cmd    *exec.Cmd
}

// cameraSpec is one camera of the bridge's config.
type cameraSpec struct {
	id, url string
	public  bool
	zones   string // YAML flow list, optional
	offline bool   // not expected to come online: startBridge does not wait for it
	subURL  string // optional sub_url
	record  string // optional record: main, sub or off (startBridge: off)
	loc     string // optional location, YAML flow: {lat: 33.5, lng: 119.14}
}

// startBridge writes a config for cams and runs bin/bridge with it until
// the test ends; it returns once every camera is online. These tests and
// benchmarks are about video: detection and recording would take their
// share of the two cores (BenchmarkRecord measures recording), so they are
// off unless a camera says otherwise.
func startBridge(tb testing.TB, cams []cameraSpec, pin string) *bridgeProc {
	tb.Helper()
	cams = slices.Clone(cams)
	for i := range cams {
		if cams[i].record == "" {
			cams[i].record = "off"
		}
	}
	return startBridgeWith(tb, cams, pin, "detect: {mode: off}")
}

// startBridgeWith is startBridge with the config's detect section.
func startBridgeWith(tb testing.TB, cams []cameraSpec, pin, detectYAML string) *bridgeProc {
	tb.Helper()
	bin := testenv.Build(tb, "./cmd/bridge")
	dir := tb.TempDir()
	httpPort, udpPort, metricsPort := testenv.FreePort(tb, "tcp"), testenv.FreePort(tb, "udp"), testenv.FreePort(tb, "tcp")
	var y strings.Builder
	fmt.Fprintf(&y, "server: {addr: \"127.0.0.1:%d\", metrics_addr: \"127.0.0.1:%d\", staff_token: %q}\n", httpPort, metricsPort, staffToken)
	prefix := fmt.Sprintf("qly:e2e%d:", time.Now().UnixNano())
	fmt.Fprintf(&y, "redis: {url: %q, prefix: %q}\n", redistest.URL(), prefix)
	// every viewer of these tests comes from 127.0.0.1: the per-client
	// cap would stop the benchmark's hundreds
	fmt.Fprintf(&y, "webrtc: {udp_port: %d, tcp_port: 0, max_sessions_per_client: 1000}\n", udpPort)
	y.WriteString(detectYAML + "\n")
	fmt.Fprintf(&y, "data_dir: %q\ncameras:\n", filepath.Join(dir, "data"))
	for i, c := range cams {
		zones := c.zones
		if zones == "" {
			zones = "[]"
		}
		sub := ""
		if c.subURL != "" {
			sub = fmt.Sprintf(", sub_url: %q", c.subURL)
		}
		if c.record != "" {
			sub += ", record: " + c.record
		}
		if c.loc != "" {
			sub += ", location: " + c.loc
		}
		fmt.Fprintf(&y, "  - {id: %s, name: \"测试街巷%d号\", grid: hexia-01, url: %q%s, public: %v, transport: tcp, zones: %s}\n", c.id, i+1, c.url, sub, c.public, zones)
	}
	cfg := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(cfg, []byte(y.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	args := []string{"-config", cfg}
	name := bin
	if pin != "" {
		args = append([]string{"-c", pin, bin}, args...)
		name = "taskset"
	}
	cmd := exec.Command(name, args...)
	testenv.Run(tb, cmd, filepath.Join(dir, "bridge.log"))
	b := &bridgeProc{URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), MetricsURL: fmt.Sprintf("http://127.0.0.1:%d", metricsPort),
		Prefix: prefix, cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(b.MetricsURL + "/metrics")
		if err == nil {
			sc := bufio.NewScanner(res.Body)
			online := 0
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "qly_camera_online{") && strings.HasSuffix(sc.Text(), " 1") {
					online++
				}
			}
			res.Body.Close()
			want := 0
			for _, c := range cams {
				if !c.offline {
					want++
				}
			}
			if online == want {
				return b
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("bridge: not all %d cameras online within 30 s (last error %v)", len(cams), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// PID returns the bridge's process id (taskset execs it, so it is the same).
func (b *bridgeProc) PID() int { return b.cmd.Process.Pid }

// staffGet returns what GET path answers the center, or the error, as
// text for a failing test's message.
func (b *bridgeProc) staffGet(path string) string {
	req, _ := http.NewRequest(http.MethodGet, b.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+staffToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	return res.Status + " " + string(body)
}

// node runs a browser scenario of tests/browser/check.mjs and returns its
// stdout lines.
func node(tb testing.TB, ctx context.Context, args ...string) *exec.Cmd {
	tb.Helper()
	root := testenv.RepoRoot(tb)
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(root, "tests/browser/check.mjs")}, args...)...)
	cmd.Dir = filepath.Join(root, "tests/browser")
	return cmd
}
