// Package camsimproc runs cmd/camsim as a child process for tests and benchmarks.
package camsimproc

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"

	"qianliyan/internal/testenv"
)

// readyTimeout bounds the wait for camsim's ready line: encoding the scenes
// takes a few seconds on an idle machine, much longer on a loaded one.
const readyTimeout = 60 * time.Second

// Binary builds cmd/camsim once per test process and returns its path.
func Binary(tb testing.TB) string {
	tb.Helper()
	return testenv.Build(tb, "./cmd/camsim")
}

// Proc is a running camsim.
type Proc struct {
	bin   string
	args  []string      // the whole command line after the binary
	addr  string        // 127.0.0.1:PORT of RTSP
	ready time.Duration // how long to wait for the ready line

	mu      sync.Mutex
	cmd     *exec.Cmd
	stderr  *testenv.Buffer
	done    chan struct{} // closed when cmd has been waited for
	exitErr error         // what Wait said about the last process that ended
	readyAt time.Time     // when the last start printed its ready line
}

// Start picks free loopback ports (RTSP, and an even/odd UDP pair for RTP and
// RTCP), starts camsim with them and args (e.g. "-cameras", "4"), waits for its
// ready line, and registers a cleanup that stops it. Flags in args come after
// the port flags, so they win; overriding -addr makes URL and Addr wrong.
func Start(tb testing.TB, args ...string) *Proc {
	tb.Helper()
	return StartWithin(tb, readyTimeout, args...)
}

// StartWithin is Start waiting up to within for the ready line, for scenes
// whose encoding takes longer than usual (minutes of scripted scenes).
func StartWithin(tb testing.TB, within time.Duration, args ...string) *Proc {
	tb.Helper()
	bin := Binary(tb)
	// Another process may take a port between our check and camsim's listen;
	// camsim listens before it encodes, so that shows at once: try new ports.
	var err error
	for range 3 {
		var p *Proc
		p, err = newProc(bin, args, within)
		if err != nil {
			tb.Fatalf("camsimproc: %v", err)
		}
		tb.Cleanup(p.Stop)
		if err = p.start(); err == nil {
			return p
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	tb.Fatalf("camsimproc: %v", err)
	return nil
}

func newProc(bin string, args []string, ready time.Duration) (*Proc, error) {
	rtspPort, err := freeTCPPort()
	if err != nil {
		return nil, fmt.Errorf("pick RTSP port: %w", err)
	}
	rtpPort, err := freeUDPPair()
	if err != nil {
		return nil, fmt.Errorf("pick UDP ports: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(rtspPort))
	full := append([]string{
		"-addr", addr,
		"-udp-rtp", net.JoinHostPort("127.0.0.1", strconv.Itoa(rtpPort)),
		"-udp-rtcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(rtpPort+1)),
	}, args...)
	return &Proc{bin: bin, args: full, addr: addr, ready: ready}, nil
}

// SceneURL is the RTSP address of the scripted scene name (-scene).
func (p *Proc) SceneURL(name string) string {
	return fmt.Sprintf("rtsp://%s/scene/%s", p.addr, name)
}

// SceneTime is where the scripted scenes are in their loop of length at
// wall time at: they start at 0 when camsim prints its ready line (within a
// few milliseconds).
func (p *Proc) SceneTime(at time.Time, length time.Duration) time.Duration {
	p.mu.Lock()
	t0 := p.readyAt
	p.mu.Unlock()
	return at.Sub(t0) % length
}

// SceneWall is the wall time at which the scripted scenes reach scene time t
// in the loop that is playing at now (or the next one if t is past).
func (p *Proc) SceneWall(t, length time.Duration) time.Time {
	p.mu.Lock()
	t0 := p.readyAt
	p.mu.Unlock()
	loops := time.Since(t0) / length
	at := t0.Add(loops*length + t)
	if time.Until(at) < -length/2 {
		at = at.Add(length)
	}
	return at
}

// URL is the RTSP address of camera n (1-based).
func (p *Proc) URL(n int) string {
	return fmt.Sprintf("rtsp://%s/cam/%d", p.addr, n)
}

// Addr is the RTSP host:port.
func (p *Proc) Addr() string {
	return p.addr
}

// PID is the process ID of the running camsim, or 0 when it is stopped.
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Stop sends SIGTERM and waits for camsim to exit (killing it after 10 s).
// Stopping a stopped Proc does nothing.
func (p *Proc) Stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops camsim if it runs and starts it again with the same ports and
// arguments, waiting for it to be ready.
func (p *Proc) Restart(tb testing.TB) {
	tb.Helper()
	p.Stop()
	if err := p.start(); err != nil {
		tb.Fatalf("camsimproc: restart: %v", err)
	}
}

// start runs the binary and waits for the ready line.
func (p *Proc) start() error {
	cmd := exec.Command(p.bin, p.args...)
	stderr := &testenv.Buffer{}
	cmd.Stderr = stderr
	ready := make(chan struct{})
	cmd.Stdout = &readyWatcher{ready: ready}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.bin, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}()

	p.mu.Lock()
	p.cmd, p.stderr, p.done = cmd, stderr, done
	p.mu.Unlock()

	select {
	case <-ready:
		p.mu.Lock()
		p.readyAt = time.Now()
		p.mu.Unlock()
		return nil
	case <-done:
		p.mu.Lock()
		p.cmd = nil
		exitErr := p.exitErr
		p.mu.Unlock()
		return fmt.Errorf("camsim %s exited before it was ready (%v); its stderr:\n%s",
			strings.Join(p.args, " "), exitErr, stderr.String())
	case <-time.After(p.ready):
		p.Stop()
		return fmt.Errorf("camsim %s not ready after %v; its stderr:\n%s",
			strings.Join(p.args, " "), p.ready, stderr.String())
	}
}

// readyWatcher is camsim's stdout: it closes ready when the ready line has
// come, and drops everything else.
type readyWatcher struct {
	ready chan struct{}
	line  []byte
	seen  bool
}

func (w *readyWatcher) Write(p []byte) (int, error) {
	if w.seen {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			return len(p), nil
		}
		if bytes.HasPrefix(w.line[:i], []byte("camsim ready:")) {
			w.seen = true
			w.line = nil
			close(w.ready)
			return len(p), nil
		}
		w.line = w.line[i+1:]
	}
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeUDPPair finds an even port p such that p and p+1 are both free for UDP
// (RTP and RTCP must be neighbours).
func freeUDPPair() (int, error) {
	for range 100 {
		a, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		if port%2 != 0 || port >= 65535 {
			a.Close()
			continue
		}
		b, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return port, nil
	}
	return 0, errors.New("no free pair of UDP ports after 100 tries")
}

// Push runs ffmpeg publishing a 1280x720 test picture, encoded with the
// given ffmpeg output options, to camsim's push path until the test ends,
// and returns the RTSP URL to play it. ffmpeg cannot answer PLAY itself
// (its -rtsp_flags listen is for its demuxer), so camsim relays ffmpeg's
// SDP and RTP unchanged: what a reader gets was encoded and packetized by
// ffmpeg, not by us.
func (p *Proc) Push(tb testing.TB, path string, encoder ...string) string {
	tb.Helper()
	return p.PushSource(tb, path, "testsrc2=size=1280x720:rate=25", encoder...)
}

// PushSource is Push with another lavfi source (e.g. "smptebars=size=1280x720:rate=25"),
// for scenes scripted with ffmpeg's filters.
func (p *Proc) PushSource(tb testing.TB, path, source string, encoder ...string) string {
	tb.Helper()
	url := "rtsp://" + p.Addr() + "/push/" + path
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", source}
	args = append(args, encoder...)
	// camsim relays packets of at most 1200 bytes, as WebRTC wants them
	args = append(args, "-f", "rtsp", "-rtsp_transport", "tcp", "-pkt_size", "1200", url)
	cmd := exec.Command("ffmpeg", args...)
	var stderr testenv.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start ffmpeg: %v", err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if tb.Failed() {
			tb.Logf("ffmpeg said: %s", stderr.String())
		}
	})
	// ffmpeg takes a second or more to start encoding on a loaded
	// machine; a reader that came earlier would find no stream there
	// (404) and a test would see a camera offline that is only late.
	if err := waitPublished(url, readyTimeout); err != nil {
		tb.Fatalf("ffmpeg's push to %s: %v; ffmpeg said: %s", url, err, stderr.String())
	}
	return url
}

// waitPublished asks for url's description until camsim has one, that is
// until a publisher is pushing there.
func waitPublished(url string, within time.Duration) error {
	u, err := base.ParseURL(url)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(within)
	for {
		c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
		err = c.Start2()
		if err == nil {
			_, _, err = c.Describe(u)
			c.Close()
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not published within %v: %w", within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// H264 and H265 are ffmpeg output options for Push: low-latency encodes
// with a 2 s GOP and no B-frames.
var (
	H264 = []string{"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "50", "-bf", "0", "-pix_fmt", "yuv420p"}
	H265 = []string{"-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "50", "-bf", "0", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"}
)

// PushScene publishes a scene scripted with ffmpeg filters over still
// colour bars with sensor noise (e.g. a drawbox enabled between two
// seconds), encoded like a street camera: H.264 at about 0.8 Mbit/s, 1 s
// GOP, no B-frames. The encode takes about a quarter of a core here, so
// ffmpeg keeps pace while Chromium and the bridge share the two cores; the
// old 8.7 Mbit/s one fell to a quarter of real time in CI. Script changes
// on the wall clock (WallCycle, WallSpan), not on ffmpeg's own t, which
// falls behind when ffmpeg does.
func (p *Proc) PushScene(tb testing.TB, path, filters string) string {
	tb.Helper()
	vf := "noise=alls=4:allf=t"
	if filters != "" {
		vf += "," + filters
	}
	return p.PushSource(tb, path, "smptebars=size=1280x720:rate=25", "-vf", vf,
		"-c:v", "libx264", "-preset", "superfast", "-crf", "28", "-tune", "zerolatency", "-g", "25", "-bf", "0", "-pix_fmt", "yuv420p")
}

// BinBox is the PushScene filter of a white box in the bin zone of
// BinZone while enable (an ffmpeg expression, e.g. WallCycle's) holds.
func BinBox(enable string) string {
	return "drawbox=x=200:y=400:w=300:h=250:color=white:t=fill:enable='" + enable + "'"
}

// WallCycle is an ffmpeg expression that holds from second on to second
// off of every period seconds of Unix time, whatever pace ffmpeg keeps.
func WallCycle(period, on, off int) string {
	return fmt.Sprintf("between(mod(time(0),%d),%d,%d)", period, on, off)
}

// CyclePhase is where t falls in WallCycle's period, in seconds.
func CyclePhase(t time.Time, period int) float64 {
	return float64(t.UnixMilli()%int64(period*1000)) / 1000
}

// NextPhase is the first time from t on at phase seconds of the period.
func NextPhase(t time.Time, period int, phase float64) time.Time {
	wait := phase - CyclePhase(t, period)
	if wait < 0 {
		wait += float64(period)
	}
	return t.Add(time.Duration(wait * float64(time.Second)))
}

// WallSpan is an ffmpeg expression that holds from from to to on the wall
// clock.
func WallSpan(from, to time.Time) string {
	return fmt.Sprintf("between(time(0),%.3f,%.3f)", float64(from.UnixMilli())/1000, float64(to.UnixMilli())/1000)
}

// BinZone is the YAML polygon of the zone BinBox draws into.
const BinZone = "[[0.14, 0.53], [0.41, 0.53], [0.41, 0.92], [0.14, 0.92]]"

// ProcCPU returns a process's user+system CPU seconds from /proc (0 when
// it cannot be read); os.Getpid() gives this process's own.
func ProcCPU(pid int) float64 {
	f := procStat(pid)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// ProcRSS returns a process's resident memory in bytes from /proc.
func ProcRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize())
}

// procStat returns the fields of /proc/PID/stat after the command name.
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return nil
	}
	return strings.Fields(s[i+2:])
}
