package api_test

// Issue 14's findings on WHEP, metrics and the HTTP server, each tried as a
// hostile client would, against the real bridge fixture (camsim, Redis,
// the relay over pion) and real pion and HTTP clients.

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"qianliyan/api"
	"qianliyan/internal/whepclient"
	"qianliyan/relay"
)

// request sends one request with a body of that content type and returns the
// status code and body.
func request(t *testing.T, method, url, ctype, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return send(t, req)
}

// sessionIDs returns the ids of cam1's viewer sessions, as staff see them.
func sessionIDs(t *testing.T, b *bridge) []string {
	t.Helper()
	code, body := b.do(t, "GET", "/api/cameras/cam1", staffToken, nil)
	var c struct{ Sessions []struct{ ID string } }
	if err := json.Unmarshal([]byte(body), &c); code != 200 || err != nil {
		t.Fatalf("GET /api/cameras/cam1 = %d %s", code, body)
	}
	ids := []string{}
	for _, s := range c.Sessions {
		ids = append(ids, s.ID)
	}
	return ids
}

// Finding 1: a session's URL is its secret, bound to its camera; nobody
// who merely knows the session's id (staff see it) or guesses ends it.
func TestWHEPSessionURLNeedsItsSecretAndCamera(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	v, err := whepclient.Play(whepclient.HTTP(b.url+"/whep/cam1", ""), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.WaitPackets(50, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ids := sessionIDs(t, b)
	if len(ids) != 1 {
		t.Fatalf("cam1 sessions = %v, want one", ids)
	}
	key := v.Location[strings.LastIndex(v.Location, "/")+1:]
	_, unknown := request(t, http.MethodDelete, b.url+"/whep/cam1/sessions/nope", "", "")
	frag := "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
	for _, tc := range []struct{ name, method, path string }{
		{"delete with the id alone", http.MethodDelete, "/whep/cam1/sessions/" + ids[0]},
		{"delete with a wrong secret", http.MethodDelete, "/whep/cam1/sessions/" + ids[0] + "-" + strings.Repeat("a", 32)},
		{"delete on another camera", http.MethodDelete, "/whep/cam2/sessions/" + key},
		{"delete on an unknown camera", http.MethodDelete, "/whep/nope/sessions/" + key},
		{"patch with the id alone", http.MethodPatch, "/whep/cam1/sessions/" + ids[0]},
		{"patch on another camera", http.MethodPatch, "/whep/cam2/sessions/" + key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := request(t, tc.method, b.url+tc.path, "application/trickle-ice-sdpfrag", frag)
			if code != 404 || body != unknown {
				t.Errorf("%s %s = %d %s; want 404 %s, as for an unknown session", tc.method, tc.path, code, body, unknown)
			}
		})
	}
	if got := b.rl.Viewers()["cam1"]; got != 1 {
		t.Fatalf("after the refused requests cam1 has %d viewers, want 1", got)
	}
	n := v.Packets.Load()
	time.Sleep(300 * time.Millisecond)
	if v.Packets.Load() == n {
		t.Errorf("the viewer stopped receiving after the refused requests")
	}
	if code, body := request(t, http.MethodPatch, v.Location, "application/trickle-ice-sdpfrag", frag); code != 204 {
		t.Errorf("PATCH on the session's own URL = %d %s, want 204", code, body)
	}
	if code, err := v.Delete(); err != nil || code != 200 {
		t.Fatalf("DELETE on the session's own URL = %d %v, want 200", code, err)
	}
	if got := b.rl.Viewers()["cam1"]; got != 0 {
		t.Errorf("after its DELETE cam1 has %d viewers, want 0", got)
	}
}

// Finding 1: the public address serves no metrics.
func TestMetricsAreNotOnThePublicAddress(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	if code, body := call(t, "GET", b.url+"/metrics", "", ""); code != 404 {
		t.Errorf("GET /metrics on the public address = %d %.200s, want 404", code, body)
	}
	// the operators' address has them (TestWHEPPlaysAndEnds: no session in them)
	if code, body := call(t, "GET", b.metrics+"/metrics", "", ""); code != 200 || !strings.Contains(body, `qly_camera_online{camera="cam1"} 1`) {
		t.Errorf("GET /metrics on the metrics address = %d %.200s, want 200 with cam1 online", code, body)
	}
}

// offerWith makes a real pion offer with that many recvonly video and
// audio sections.
func offerWith(t *testing.T, video, audio int) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	for kind, n := range map[webrtc.RTPCodecType]int{webrtc.RTPCodecTypeVideo: video, webrtc.RTPCodecTypeAudio: audio} {
		for range n {
			if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}

// Finding 6: an offer of more than 4 media sections is refused before any
// peer connection is made; 4 still play.
func TestWHEPRefusesOffersOfManySections(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	five := offerWith(t, 3, 2)
	if n := strings.Count(five, "\nm="); n != 5 {
		t.Fatalf("the offer has %d media sections, want 5", n)
	}
	code, body := request(t, http.MethodPost, b.url+"/whep/cam1", "application/sdp", five)
	if code != 400 || !strings.Contains(body, "5 media sections") || !strings.HasPrefix(body, `{"error":"`) {
		t.Errorf("offer of 5 sections = %d %.300s; want 400 saying it has 5 media sections", code, body)
	}
	// 1000 sections squeezed into less than 64 KiB
	var huge strings.Builder
	head, _, _ := strings.Cut(five, "\r\nm=")
	huge.WriteString(head + "\r\n")
	for i := range 1000 {
		huge.WriteString("m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:" + string(rune('a'+i%26)) + "\r\n")
	}
	code, body = request(t, http.MethodPost, b.url+"/whep/cam1", "application/sdp", huge.String())
	if code != 400 || !strings.Contains(body, "1000 media sections") {
		t.Errorf("offer of 1000 sections = %d %.300s; want 400 saying it has 1000 media sections", code, body)
	}
	if got := b.rl.Viewers()["cam1"]; got != 0 {
		t.Errorf("refused offers left %d viewers", got)
	}
	four := offerWith(t, 2, 2)
	if code, body := request(t, http.MethodPost, b.url+"/whep/cam1", "application/sdp", four); code != 201 {
		t.Errorf("offer of 4 sections = %d %.300s, want 201", code, body)
	}
}

// Finding 6: sessions whose viewer never connects are gone 10 s after
// their offer, with their goroutines.
func TestWHEPReclaimsViewersThatNeverConnect(t *testing.T) {
	const n = 100
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents(), withRelay(func(ro *relay.Options) { ro.MaxSessionsPerClient = n }))
	pc, offer, err := whepclient.Offer()
	if err != nil {
		t.Fatal(err)
	}
	pc.Close() // this viewer will never answer ICE checks
	// the test's own keep-alive connections are not the bridge's to count
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond)
	before, heapBefore := runtime.NumGoroutine(), liveHeap()
	start := time.Now()
	for i := range n {
		if code, body := request(t, http.MethodPost, b.url+"/whep/cam1", "application/sdp", offer); code != 201 {
			t.Fatalf("offer %d = %d %s, want 201", i, code, body)
		}
	}
	if got := b.rl.Viewers()["cam1"]; got != n {
		t.Fatalf("%d pending sessions, want %d", got, n)
	}
	during, heapDuring := runtime.NumGoroutine(), liveHeap()
	for b.rl.Viewers()["cam1"] > 0 && time.Since(start) < 15*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	gone := time.Since(start)
	if left := b.rl.Viewers()["cam1"]; left > 0 || gone < 9*time.Second || gone > 12*time.Second {
		t.Fatalf("after %v %d of %d sessions that never connected are left; want all gone at 10 s", gone.Round(100*time.Millisecond), left, n)
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before+3 {
		t.Errorf("goroutines: %d before the offers, %d with %d pending, %d after they were reclaimed; want back to %d",
			before, during, n, after, before)
	}
	// What the sessions held is garbage now. About 1 MiB stays, once: the
	// first peer connections' state (three rounds of 50 offers left 1.4,
	// 1.2 and 1.0 MiB over the start); a leak would keep about 80 KiB a
	// session.
	heapAfter := liveHeap()
	if grown := heapAfter - heapBefore; grown > (heapDuring-heapBefore)/2 {
		t.Errorf("live heap %.1f MiB before the offers, %.1f MiB with %d pending, %.1f MiB after they were reclaimed; want back near the first",
			mib(heapBefore), mib(heapDuring), n, mib(heapAfter))
	}
	t.Logf("reclaimed after %v; goroutines %d before, %d pending, %d after; live heap %.1f, %.1f, %.1f MiB", gone.Round(100*time.Millisecond),
		before, during, runtime.NumGoroutine(), mib(heapBefore), mib(heapDuring), mib(heapAfter))
}

// liveHeap is the heap in use after a collection, in bytes.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// post offers to url from client and returns the response, body read.
func post(t *testing.T, client *http.Client, url, offer string) (*http.Response, string) {
	t.Helper()
	res, err := client.Post(url, "application/sdp", strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// Finding 6: one address may hold only so many sessions, and the bridge
// only so many in all; past either an offer gets 503, Retry-After and a
// sentence, and a session that ends gives its place back.
func TestWHEPCapsSessionsPerClientAndOverall(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents(), withRelay(func(ro *relay.Options) {
		ro.MaxSessionsPerClient, ro.MaxSessions = 3, 5
	}))
	pc, offer, err := whepclient.Offer()
	if err != nil {
		t.Fatal(err)
	}
	pc.Close() // the sessions need not connect: offers are what is counted
	two, three := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	refused := func(res *http.Response, body, want string) {
		t.Helper()
		if res.StatusCode != 503 || res.Header.Get("Retry-After") != "10" || !strings.Contains(body, want) {
			t.Errorf("= %d Retry-After %q %s; want 503, Retry-After 10 and %q", res.StatusCode, res.Header.Get("Retry-After"), body, want)
		}
	}
	var locations []string
	for i := range 3 {
		res, body := post(t, two, b.url+"/whep/cam1", offer)
		if res.StatusCode != 201 {
			t.Fatalf("offer %d from 127.0.0.2 = %d %s, want 201", i, res.StatusCode, body)
		}
		locations = append(locations, res.Header.Get("Location"))
	}
	res, body := post(t, two, b.url+"/whep/cam1", offer)
	refused(res, body, "your address has 3 sessions already")
	for i := range 2 {
		if res, body := post(t, three, b.url+"/whep/cam1", offer); res.StatusCode != 201 {
			t.Fatalf("offer %d from 127.0.0.3 = %d %s, want 201", i, res.StatusCode, body)
		}
	}
	res, body = post(t, clientFrom("127.0.0.4"), b.url+"/whep/cam1", offer)
	refused(res, body, "the bridge has 5 sessions already")
	if got := b.rl.Viewers()["cam1"]; got != 5 {
		t.Errorf("%d sessions after the refusals, want 5", got)
	}
	if code, body := request(t, http.MethodDelete, b.url+locations[0], "", ""); code != 200 {
		t.Fatalf("DELETE = %d %s", code, body)
	}
	if res, body := post(t, two, b.url+"/whep/cam1", offer); res.StatusCode != 201 {
		t.Errorf("offer after a DELETE = %d %s, want 201: the ended session's place is free", res.StatusCode, body)
	}
}

// Finding 5: a client that sends half a body, keeps a connection idle or
// sends endless headers is let go; server-sent events and WHEP sessions
// live on past those timeouts.
func TestHTTPServerLetsGoOfSlowAndIdleClients(t *testing.T) {
	const timeout = 2 * time.Second
	// short, for the test; MaxHeaderBytes keeps its default
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents(),
		withHTTPLimits(api.HTTPLimits{ReadHeaderTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, IdleTimeout: timeout}))
	addr := strings.TrimPrefix(b.url, "http://")
	// closedWithin sends req on a fresh connection and says how long the
	// server took to close it (after any response), up to 3 timeouts.
	closedWithin := func(req string) (time.Duration, string) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(start.Add(3 * timeout))
		got, err := io.ReadAll(conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return 3 * timeout, string(got)
		}
		return time.Since(start), string(got)
	}
	t.Run("half a body", func(t *testing.T) {
		took, got := closedWithin("POST /whep/cam1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 1000\r\n\r\nv=0\r\n")
		if took > timeout+time.Second {
			t.Errorf("a body of 5 of 1000 bytes held the connection %v, want closed after %v; got %.100q", took, timeout, got)
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		took, got := closedWithin("GET /api/webrtc HTTP/1.1\r\nHost: x\r\n\r\n")
		if !strings.HasPrefix(got, "HTTP/1.1 200") || took > timeout+time.Second {
			t.Errorf("an idle keep-alive connection was held %v after %.40q, want closed after %v", took, got, timeout)
		}
	})
	t.Run("endless headers", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, b.url+"/api/webrtc", nil)
		req.Header.Set("X-Filler", strings.Repeat("a", 64<<10))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("64 KiB of headers = %d, want 431", res.StatusCode)
		}
	})
	t.Run("events and video live on", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, b.url+"/api/events?token="+staffToken, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		lines := make(chan string, 100)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(res.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		// past every timeout, a viewer joins: its event must still come
		time.Sleep(timeout + timeout/2)
		v, err := whepclient.Play(whepclient.HTTP(b.url+"/whep/cam1", ""), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		deadline := time.After(3 * timeout)
		for seen := false; !seen; {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("the event stream ended, want it open past the server's timeouts")
				}
				seen = strings.HasPrefix(l, "data: ") && strings.Contains(l, `"id":"cam1"`) && strings.Contains(l, `"viewers":1`)
			case <-deadline:
				t.Fatal("no event of cam1's viewer past the server's timeouts")
			}
		}
		// the viewer's HTTP connection is idle and closed by now; the
		// session plays on and its URL still ends it
		time.Sleep(timeout + timeout/2)
		n := v.Packets.Load()
		time.Sleep(300 * time.Millisecond)
		if v.Packets.Load() == n {
			t.Errorf("the viewer stopped receiving after its HTTP connection went idle")
		}
		if code, err := v.Delete(); err != nil || code != 200 {
			t.Errorf("DELETE after the idle timeout = %d %v, want 200", code, err)
		}
	})
}
