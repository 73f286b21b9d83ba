package testenv

import (
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// FreePort returns a loopback port ("tcp" or "udp") that was free a moment
// ago, for a child process's config.
func FreePort(tb testing.TB, network string) int {
	tb.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Run starts cmd with its output in the file logPath and stops it when
// the test ends: an interrupt, then a kill if it is still there after
// 10 s. A failed test gets the log.
func Run(tb testing.TB, cmd *exec.Cmd, logPath string) {
	tb.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		tb.Fatalf("start %s: %v", cmd.Path, err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if tb.Failed() {
			out, _ := os.ReadFile(logPath)
			tb.Logf("%s log:\n%s", cmd.Path, out)
		}
		logf.Close()
	})
}
