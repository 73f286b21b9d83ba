package testenv

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// SSEMessage is one server-sent event: its name and its data line, and
// when it was read.
type SSEMessage struct {
	Name, Data string
	At         time.Time
}

// SSE opens the server-sent-event stream at url (a GET that must answer
// 200) and returns its messages as they come, until the test ends (the
// channel is then closed); it holds 1000 before the reader waits.
func SSE(tb testing.TB, url string) <-chan SSEMessage {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		cancel()
		if err == nil {
			res.Body.Close()
		}
		tb.Fatalf("GET %s: %v %v, want 200", url, res, err)
	}
	out := make(chan SSEMessage, 1000)
	done := make(chan struct{})
	tb.Cleanup(func() { cancel(); res.Body.Close(); <-done })
	go func() {
		defer close(done)
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		name := ""
		for sc.Scan() {
			if e, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				name = e
			} else if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				select {
				case out <- SSEMessage{Name: name, Data: d, At: time.Now()}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}
