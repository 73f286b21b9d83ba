package api_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// What the hardening tests share: a client that speaks from another
// loopback address (per-address limits), and a private redis-server that
// a test may stop and start again.

// reply is a response read whole.
type reply struct {
	code   int
	body   string
	header http.Header
}

// clientFrom is an HTTP client whose connections come from ip (any of
// 127.0.0.0/8 works on Linux loopback), so a test can be two clients.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 20 * time.Second}
}

// sendFrom is call with a client of one's choice, giving the headers too.
func sendFrom(t testing.TB, hc *http.Client, method, url, token, body string) reply {
	t.Helper()
	res, err := hc.Do(newRequest(method, url, token, body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{code: res.StatusCode, body: string(b), header: res.Header}
}

// privateRedis is a redis-server of the test's own (AOF on, no RDB
// snapshots) on a free port, in a temporary folder. It syncs its log before
// every answer (appendfsync always): with everysec, the Makefile's choice,
// Redis itself may answer writes it has not yet written while a slow disk
// holds a sync back, and a kill loses them; these tests are about what the
// bridge acknowledges, given a Redis that keeps what it acknowledged.
type privateRedis struct {
	t    testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
}

func startPrivateRedis(t testing.TB) *privateRedis {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &privateRedis{t: t, dir: t.TempDir(), port: port}
	r.start()
	t.Cleanup(r.kill)
	return r
}

// URL is the server's redis:// address.
func (r *privateRedis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// start runs the server on its port and folder and waits until it answers.
func (r *privateRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", filepath.Join(r.dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), MaxRetries: -1})
	defer rdb.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if rdb.Ping(context.Background()).Err() == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			r.t.Fatalf("private redis-server on port %d did not answer within 5 s:\n%s", r.port, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the server at once (SIGKILL), as a crash would.
func (r *privateRedis) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}
