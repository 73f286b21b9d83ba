package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
	"go.uber.org/goleak"
)

// readyWriter hands the ready line to the test.
type readyWriter chan string

func (w readyWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

func TestRunServesAndStopsCleanly(t *testing.T) {
	defer goleak.VerifyNone(t)

	cfg, err := parseFlags([]string{"-addr", "127.0.0.1:0", "-udp-rtp", "", "-cameras", "3", "-size", "160x120", "-loop", "1s", "-gop", "1s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(readyWriter, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), ready) }()

	var line string
	select {
	case line = <-ready:
	case err := <-done:
		t.Fatalf("run ended before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready after 30 s")
	}
	prefix := "camsim ready: 3 cameras at rtsp://127.0.0.1:"
	if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, "/cam/1..3\n") {
		t.Fatalf("ready line is %q, want %q…/cam/1..3", line, prefix)
	}
	url := strings.TrimSuffix(strings.TrimPrefix(line, "camsim ready: 3 cameras at "), "1..3\n") + "3"

	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatalf("describe %s: %v", url, err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		t.Fatal(err)
	}
	var packets atomic.Int32
	c.OnPacketRTP(medi, forma, func(*rtp.Packet) { packets.Add(1) })
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	c.Close()
	if packets.Load() < 10 {
		t.Errorf("got %d packets in 0.5 s, want at least one per frame", packets.Load())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return 10 s after cancel")
	}
}

func TestParseFlagsRejectsBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-size", "1281x720"}, "-size"},
		{[]string{"-size", "big"}, "-size"},
		{[]string{"-cameras", "0"}, "-cameras"},
		{[]string{"-user", "a"}, "-user and -pass"},
		{[]string{"-fps", "0"}, "-fps"},
		{[]string{"-bframes", "-1"}, "-bframes"},
		{[]string{"-udp-rtcp", ""}, "-udp-rtcp"},
		{[]string{"-sub", "641x360"}, "-sub"},
		{[]string{"-sub", "640x360", "-sub-bitrate", "10"}, "-sub-bitrate"},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got error %v, want one about %s", tc.args, err, tc.want)
		}
	}
}

func TestParseFlagsRoundsLoopUpToWholeGOPs(t *testing.T) {
	cfg, err := parseFlags([]string{"-loop", "5s", "-gop", "2s", "-fps", "25", "-cameras", "20"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.gopFrames != 50 || cfg.loopN != 150 {
		t.Errorf("gop %d frames, loop %d frames; want 50 and 150", cfg.gopFrames, cfg.loopN)
	}
	if cfg.Variants != 16 {
		t.Errorf("default variants for 20 cameras is %d, want 16", cfg.Variants)
	}
}
