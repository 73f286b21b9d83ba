package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"qianliyan/configs"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/testenv"
)

func TestGatedHubReadsOnlyTheCamerasItOwns(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "2", "-size", "320x240", "-sub", "160x120", "-loop", "2s", "-gop", "1s")
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg, err := configs.Parse("test.yaml", []byte(fmt.Sprintf("cameras:\n"+
		"  - {id: cam1, name: 一, grid: g1, url: %q, transport: tcp}\n"+
		"  - {id: cam2, name: 二, grid: g1, url: %q, sub_url: %q, transport: tcp}\n", cam.URL(1), cam.URL(2), cam.URL(2)+"/sub")))
	if err != nil {
		t.Fatal(err)
	}
	hub := ingest.NewHub(cfg, slog.New(slog.DiscardHandler))
	hub.Gated = true
	hub.Own([]string{"cam1"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = hub.Run(ctx) }()
	defer func() { cancel(); <-done }()

	online := func(id string) func() bool { return func() bool { h, _ := hub.Health(id); return h.Online } }
	testenv.WaitFor(t, "cam1 online", 10*time.Second, online("cam1"))
	// cam2 is another member's: neither its main stream nor its sub-stream
	// is read, whoever asks for the sub-stream
	if h, ok := hub.WantSub(ctx, "cam2", 500*time.Millisecond); !ok || h.Online || h.Frames != 0 {
		t.Errorf("cam2's sub-stream wanted on a member that does not own cam2: %+v, want not read", h)
	}
	h, _ := hub.Health("cam2")
	if h.Online || !h.Idle || h.Frames != 0 || !strings.Contains(h.LastError, "not read by this bridge") || hub.Reads("cam2") {
		t.Errorf("cam2, not owned: %+v, want idle, never read, saying another member reads it", h)
	}
	if hs := hub.ReadHealths(); len(hs) != 1 || hs[0].Camera != "cam1" {
		t.Errorf("ReadHealths = %+v, want cam1's alone", hs)
	}

	// a viewer of cam1 stays subscribed while cam1 goes to another member
	// and comes back
	sub := hub.Stream("cam1").Subscribe("viewer", 256, false)
	defer sub.Close()
	hub.Own([]string{"cam2"})
	testenv.WaitFor(t, "cam2 online", 10*time.Second, online("cam2"))
	if h, _ := hub.Health("cam1"); h.Online || !h.Idle || hub.Reads("cam1") {
		t.Errorf("cam1 given away: %+v, want idle", h)
	}
	// what came before cam1 was given away does not count
	for drained := false; !drained; {
		select {
		case u := <-sub.C:
			if u == nil {
				t.Fatal("the viewer's subscription was closed when cam1 was given away")
			}
		default:
			drained = true
		}
	}
	hub.Own([]string{"cam1", "cam2"})
	testenv.WaitFor(t, "cam1 online again", 10*time.Second, online("cam1"))
	frames := hub.Stream("cam1").Stats()
	deadline := time.After(5 * time.Second)
	for got := 0; got < 10; {
		select {
		case u := <-sub.C:
			if u == nil {
				t.Fatal("the viewer's subscription was closed when cam1 changed hands")
			}
			got++
		case <-deadline:
			t.Fatalf("the viewer of cam1 got no video after cam1 came back (stream %+v)", frames)
		}
	}
}
