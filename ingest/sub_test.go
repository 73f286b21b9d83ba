package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"qianliyan/configs"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
)

func subHealth(t *testing.T, hub *ingest.Hub) ingest.Health {
	t.Helper()
	h, ok := hub.Health("cam1")
	if !ok || h.Sub == nil {
		t.Fatalf("camera cam1 with a sub_url: health %+v has no Sub", h)
	}
	return *h.Sub
}

func TestSubStreamIsReadOnlyWhileSomeoneNeedsIt(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1", "-size", "320x240", "-sub", "160x120", "-loop", "2s", "-gop", "1s")
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rdb, prefix := redistest.Client(t, "subtest")

	cfg, err := configs.Parse("test.yaml", []byte(fmt.Sprintf(
		"cameras:\n  - {id: cam1, name: 测试, grid: g1, url: %q, sub_url: %q, transport: tcp}\n", cam.URL(1), cam.URL(1)+"/sub")))
	if err != nil {
		t.Fatal(err)
	}
	hub := ingest.NewHub(cfg, slog.New(slog.DiscardHandler))
	const linger = 400 * time.Millisecond
	hub.SubLinger = linger
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = hub.Run(ctx) }()
	defer func() { cancel(); <-done }()

	testenv.WaitFor(t, "main stream online", 10*time.Second, func() bool { h, _ := hub.Health("cam1"); return h.Online })
	time.Sleep(500 * time.Millisecond)
	if s := subHealth(t, hub); s.Online || !s.Idle || s.Frames != 0 {
		t.Fatalf("sub-stream with nobody watching: online=%v idle=%v frames=%d, want not read at all", s.Online, s.Idle, s.Frames)
	}
	idleGoroutines := runtime.NumGoroutine()

	// A subscriber starts the sub-stream; its units are the sub-stream's size.
	stream := hub.Stream(ingest.SubID("cam1"))
	if stream == nil || hub.Stream(ingest.SubID("nope")) != nil {
		t.Fatalf("Stream(SubID(cam1)) = %v, Stream(SubID(nope)) = %v; want a stream and nil", stream, hub.Stream(ingest.SubID("nope")))
	}
	sub := stream.Subscribe("viewer", 64, true)
	select {
	case u := <-sub.C:
		if !u.Key {
			t.Errorf("first unit of the sub-stream is not a key frame")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no unit from the sub-stream within 10 s of subscribing")
	}
	s := subHealth(t, hub)
	if !s.Online || s.Idle || s.Width != 160 || s.Height != 120 {
		t.Fatalf("sub-stream while watched: online=%v idle=%v %dx%d, want online at 160x120", s.Online, s.Idle, s.Width, s.Height)
	}
	if m, _ := hub.Health("cam1"); m.Width != 320 {
		t.Errorf("main stream is %dx%d, want 320x240", m.Width, m.Height)
	}
	mirror := &ingest.HealthMirror{RDB: rdb, Prefix: prefix, Every: time.Second, Source: hub.Healths}
	if err := mirror.WriteOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _, err := ingest.ReadHealth(ctx, rdb, prefix, "cam1"); err != nil || h.Sub == nil || !h.Sub.Online || h.Sub.Width != 160 || h.Width != 320 {
		t.Errorf("health read back from redis: %+v (sub %+v), err %v; want main 320 wide and sub online 160 wide", h, h.Sub, err)
	}

	// Leaving and coming back within the linger keeps the same session.
	since := s.Since
	sub.Close()
	time.Sleep(linger / 4)
	sub = stream.Subscribe("viewer again", 64, true)
	time.Sleep(linger * 3 / 2)
	if s := subHealth(t, hub); !s.Online || !s.Since.Equal(since) {
		t.Errorf("sub-stream after a viewer came back within the linger: online=%v since %v (was %v), want the same session", s.Online, s.Since, since)
	}

	// The last subscriber gone, the reader stops after the linger, and
	// with it every goroutine it had.
	sub.Close()
	left := time.Now()
	testenv.WaitFor(t, "sub-stream idle after its last reader left", 5*time.Second, func() bool { return subHealth(t, hub).Idle })
	if took := time.Since(left); took < linger*3/4 {
		t.Errorf("sub-stream stopped %v after its last reader left, before the %v linger", took, linger)
	}
	testenv.WaitFor(t, fmt.Sprintf("back to %d goroutines (now %d)", idleGoroutines, runtime.NumGoroutine()), 5*time.Second,
		func() bool { return runtime.NumGoroutine() <= idleGoroutines })

	// WantSub (a viewer about to subscribe) starts it and waits until it is online.
	h, ok := hub.WantSub(ctx, "cam1", 10*time.Second)
	if !ok || !h.Online || h.Width != 160 {
		t.Fatalf("WantSub: ok=%v online=%v width=%d, want online at 160 wide", ok, h.Online, h.Width)
	}
	if _, ok := hub.WantSub(ctx, "nope", time.Second); ok {
		t.Errorf("WantSub of an unknown camera says ok")
	}
	testenv.WaitFor(t, "sub-stream idle after a WantSub nobody followed", 5*time.Second, func() bool { return subHealth(t, hub).Idle })
}

// TestDetectionReadsTheSmallestStreamItIsGiven: detection reads detect_url's
// stream when there is one, else the sub-stream, else the main stream.
func TestDetectionReadsTheSmallestStreamItIsGiven(t *testing.T) {
	cfg, err := configs.Parse("test.yaml", []byte(`cameras:
  - {id: both, name: a, grid: g1, url: "rtsp://127.0.0.1:1/a", sub_url: "rtsp://127.0.0.1:1/a/sub", detect_url: "rtsp://127.0.0.1:1/a/d"}
  - {id: sub, name: b, grid: g1, url: "rtsp://127.0.0.1:1/b", sub_url: "rtsp://127.0.0.1:1/b/sub"}
  - {id: main, name: c, grid: g1, url: "rtsp://127.0.0.1:1/c"}
`))
	if err != nil {
		t.Fatal(err)
	}
	hub := ingest.NewHub(cfg, slog.New(slog.DiscardHandler))
	for _, c := range []struct {
		camera string
		want   *ingest.Stream
	}{
		{"sub", hub.Stream(ingest.SubID("sub"))},
		{"main", hub.Stream("main")},
	} {
		if got := hub.DetectStream(c.camera); got == nil || got != c.want {
			t.Errorf("DetectStream(%s) = %v, want %v", c.camera, got, c.want)
		}
	}
	if got := hub.DetectStream("both"); got == nil || got == hub.Stream("both") || got == hub.Stream(ingest.SubID("both")) {
		t.Errorf("DetectStream(both) = %v, want detect_url's own stream", got)
	}
	if hub.DetectStream("nope") != nil {
		t.Error("DetectStream(nope) is not nil")
	}
}
