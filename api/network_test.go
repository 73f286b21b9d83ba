package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"qianliyan/api"
	"qianliyan/internal/whepclient"
	"qianliyan/relay"
)

// TestNetworkSettingsReachTheViewer checks that the public IP (NAT 1:1)
// is what the answer announces, that ICE-TCP is offered as a fallback, and
// that the STUN/TURN servers of the config reach pages and WHEP players.
func TestNetworkSettingsReachTheViewer(t *testing.T) {
	b := serve(t, liveConfig(t), withVideo("cam1"), withEvents())
	ice := []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.org:3478"}},
		{URLs: []string{"turn:turn.example.org:3478?transport=udp"}, Username: "qly", Credential: "s3cret"},
	}
	rl, err := relay.NewServer(b.hub, relay.Options{UDPPort: 0, TCPPort: 0, PublicIPs: []string{"203.0.113.7"}, ICEServers: ice})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	deps := b.deps
	deps.Relay = rl
	srv := httptest.NewServer(api.New(deps).Handler())
	defer srv.Close()

	res, err := http.Get(srv.URL + "/api/webrtc")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ICEServers []struct {
			URLs       []string `json:"urls"`
			Username   string   `json:"username"`
			Credential string   `json:"credential"`
		} `json:"ice_servers"`
	}
	if err := json.NewDecoder(res.Body).Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(cfg.ICEServers) != 2 || cfg.ICEServers[1].Username != "qly" || cfg.ICEServers[1].Credential != "s3cret" {
		t.Errorf("/api/webrtc = %+v", cfg)
	}

	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/whep/cam1", nil)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	links := strings.Join(res.Header.Values("Link"), "\n")
	if res.StatusCode != 204 || !strings.Contains(links, `<stun:stun.example.org:3478>; rel="ice-server"`) ||
		!strings.Contains(links, `username="qly"; credential="s3cret"`) {
		t.Errorf("OPTIONS = %d with links %q", res.StatusCode, links)
	}

	pc, offer, err := whepclient.Offer()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	answer, loc, err := whepclient.HTTP(srv.URL+"/whep/cam1", "")(offer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, " 203.0.113.7 ") {
		t.Errorf("answer does not announce the public IP:\n%s", answer)
	}
	if !strings.Contains(answer, " tcp ") || !strings.Contains(answer, "tcptype passive") {
		t.Errorf("answer offers no ICE-TCP candidate:\n%s", answer)
	}

	// trickled candidates: accepted for a session, 404 for none
	frag := "a=ice-ufrag:x\r\na=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n"
	for _, tc := range []struct {
		url  string
		code int
	}{{loc, 204}, {srv.URL + "/whep/cam1/sessions/nope", 404}} {
		req, _ := http.NewRequest(http.MethodPatch, tc.url, strings.NewReader(frag))
		req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.code {
			t.Errorf("PATCH %s = %d %s, want %d", tc.url, res.StatusCode, body, tc.code)
		}
	}
}
