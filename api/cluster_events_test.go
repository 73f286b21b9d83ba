package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"qianliyan/detect"
	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
)

// sseStream reads the `event: task` and `event: incident` messages of a
// staff stream at url, each as "<name> <id>" (the task's or incident's).
func sseStream(t *testing.T, url string) <-chan string {
	t.Helper()
	in := testenv.SSE(t, url+"/api/events?token="+staffToken)
	out := make(chan string, 100)
	go func() {
		defer close(out)
		for m := range in {
			var v struct {
				ID   string `json:"id"`
				Task struct {
					ID string `json:"id"`
				} `json:"task"`
			}
			if json.Unmarshal([]byte(m.Data), &v) != nil {
				continue
			}
			switch m.Name {
			case "task":
				out <- "task " + v.Task.ID
			case "incident":
				out <- "incident " + v.ID
			}
		}
	}()
	return out
}

// collect returns what came on ch within d.
func collect(ch <-chan string, d time.Duration) []string {
	var got []string
	timeout := time.After(d)
	for {
		select {
		case s := <-ch:
			got = append(got, s)
		case <-timeout:
			return got
		}
	}
}

func times(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestEventsOfOneMemberReachTheClientsOfEveryMember(t *testing.T) {
	cfg := liveConfig(t)
	a, b := startPair(t, cfg, false) // a owns cam2, b cam1
	rdb := redistest.Connect(t)
	testenv.WaitFor(t, "both members on the event channel", 3*time.Second, func() bool {
		n, err := rdb.PubSubNumSub(context.Background(), cfg.Redis.Prefix+"events").Result()
		return err == nil && n[cfg.Redis.Prefix+"events"] == 2
	})
	onA, onB := sseStream(t, a.url), sseStream(t, b.url)
	time.Sleep(100 * time.Millisecond) // subscribed once the headers came; margin

	// a task created through a's API
	code, body := call(t, "POST", a.url+"/api/tasks", staffToken, `{"title":"井盖松动","camera":"cam1"}`)
	var created struct {
		Task struct {
			ID string `json:"id"`
		} `json:"task"`
	}
	tk := &created.Task
	if code != 201 || json.Unmarshal([]byte(body), &created) != nil || tk.ID == "" {
		t.Fatalf("POST /api/tasks on a = %d %s", code, body)
	}
	// an incident of cam2, which a owns and b does not, raised by a's detection
	in, err := a.incidents.Raise(context.Background(), detect.Incident{Camera: "cam2", Kind: detect.CameraTampered, Confidence: 1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	gotA, gotB := collect(onA, 2*time.Second), collect(onB, 10*time.Millisecond)
	for name, got := range map[string][]string{"a": gotA, "b": gotB} {
		if n := times(got, "task "+tk.ID); n != 1 {
			t.Errorf("%s's client got the task created on a %d times, want once: %v", name, n, got)
		}
		if n := times(got, "incident "+in.ID); n != 1 {
			t.Errorf("%s's client got a's incident of cam2 %d times, want once: %v", name, n, got)
		}
	}
	// and the other way: b's change reaches a's client once
	code, body = call(t, "POST", b.url+"/api/tasks/"+tk.ID+"/accept", staffToken, `{}`)
	if code != 200 {
		t.Fatalf("accept on b = %d %s", code, body)
	}
	gotA, gotB = collect(onA, 2*time.Second), collect(onB, 10*time.Millisecond)
	if times(gotA, "task "+tk.ID) != 1 || times(gotB, "task "+tk.ID) != 1 {
		t.Errorf("the acceptance on b: a's client got %v, b's %v; want the task's event once each", gotA, gotB)
	}
}
