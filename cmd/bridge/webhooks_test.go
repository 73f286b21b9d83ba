package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"qianliyan/internal/testenv"
)

// call sends body (JSON) to path with token ("" for none); it returns the
// status and the body.
func (b *bridgeProc) call(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, b.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// TestWebhookDeadLetterIsRetriedFromTheAPI runs the bridge with a webhook
// whose receiver fails every try: the delivery of a new task ends on the
// dead-letter list staff see, and once the receiver is back, staff retry it
// through the API and it arrives, signed, with its first id.
func TestWebhookDeadLetterIsRetriedFromTheAPI(t *testing.T) {
	const secret = "e2e-webhook-secret-0123456789"
	type hit struct {
		delivery string
		sigOK    bool
		body     []byte
	}
	var (
		mu   sync.Mutex
		fail = true
		hits []hit
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		mu.Lock()
		defer mu.Unlock()
		hits = append(hits, hit{r.Header.Get("X-Qly-Delivery"), hmac.Equal([]byte(r.Header.Get("X-Qly-Signature")), []byte(want)), body})
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rcv.Close)
	got := func() []hit {
		mu.Lock()
		defer mu.Unlock()
		return append([]hit(nil), hits...)
	}
	// the camera never comes online: this test is about tasks, not video
	b := startBridgeWith(t, []cameraSpec{{id: "cam1", url: "rtsp://127.0.0.1:9/none", offline: true}}, "",
		"detect: {mode: off}\nwebhooks:\n"+
			fmt.Sprintf("  - {url: %q, secret: %q, events: [created], attempts: 2, backoff: 50ms}", rcv.URL+"/sms?key=gateway-key", secret))

	call := func(method, path, token, body string) (int, string) { return b.call(t, method, path, token, body) }
	code, body := call("POST", "/api/tasks", staffToken, `{"title": "垃圾桶倒了", "camera": "cam1"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /api/tasks: %d %s", code, body)
	}
	var dead struct {
		Dead []struct {
			ID, URL, Event, Task string
			Attempts             int
			LastStatus           int `json:"last_status"`
		} `json:"dead"`
	}
	testenv.WaitFor(t, "the delivery on GET /api/webhooks/dead", 10*time.Second, func() bool {
		code, body := call("GET", "/api/webhooks/dead", staffToken, "")
		return code == http.StatusOK && json.Unmarshal([]byte(body), &dead) == nil && len(dead.Dead) == 1
	})
	d := dead.Dead[0]
	if d.Event != "created" || d.Attempts != 2 || d.LastStatus != 500 || d.URL != rcv.URL+"/sms" || len(got()) != 2 {
		t.Errorf("dead delivery %+v after %d tries, want created, 2 tries, last 500, url %s/sms (no key)", d, len(got()), rcv.URL)
	}
	if code, body := call("GET", "/api/webhooks/dead", "", ""); code != http.StatusUnauthorized || !strings.Contains(body, `"error"`) {
		t.Errorf("GET /api/webhooks/dead without a token: %d %s, want 401 with an error", code, body)
	}
	if code, body := call("POST", "/api/webhooks/dead/Wnope/retry", staffToken, ""); code != http.StatusNotFound || !strings.Contains(body, "no dead webhook delivery") {
		t.Errorf("retry of an unknown delivery: %d %s, want 404 saying so", code, body)
	}

	mu.Lock()
	fail = false
	mu.Unlock()
	if code, body := call("POST", "/api/webhooks/dead/"+d.ID+"/retry", staffToken, ""); code != http.StatusAccepted {
		t.Fatalf("retry: %d %s, want 202", code, body)
	}
	testenv.WaitFor(t, "the retried delivery at the receiver", 10*time.Second, func() bool { return len(got()) == 3 })
	h := got()[2]
	if h.delivery != d.ID || !h.sigOK || !bytes.Equal(h.body, got()[0].body) {
		t.Errorf("retried delivery %s, signature ok %v; want %s with the first try's body, signed", h.delivery, h.sigOK, d.ID)
	}
	testenv.WaitFor(t, "an empty dead-letter list", 5*time.Second, func() bool {
		code, body := call("GET", "/api/webhooks/dead", staffToken, "")
		return code == http.StatusOK && strings.Contains(body, `"dead":[]`)
	})
}
