package api

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"qianliyan/cluster"
	"qianliyan/configs"
)

// oneMember is member a of a Cluster in which owner (when set) owns
// every camera: enough for the viewer's address, which needs only to
// know it is in a cluster, and for the proxy.
type oneMember struct{ owner *cluster.Member }

func (oneMember) Node() string     { return "a" }
func (oneMember) Owns(string) bool { return false }
func (m oneMember) Owner(string) (cluster.Member, bool) {
	if m.owner == nil {
		return cluster.Member{}, false
	}
	return *m.owner, true
}
func (oneMember) Members() []cluster.Member { return nil }

// TestViewerAddrTrustsOnlyASignedHeader: the owner counts a proxied viewer
// by the address the proxying member names only when its signature with
// the members' secret holds; a client that writes the header itself is
// counted by its own address.
func TestViewerAddrTrustsOnlyASignedHeader(t *testing.T) {
	s := &Server{secret: &secret{key: []byte("0123456789abcdef0123456789abcdef")}, cluster: oneMember{}}
	good, err := s.viewerSig(context.Background(), "10.9.8.7")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, viewer, sig, want string
	}{
		{"no header", "", "", "127.0.0.1"},
		{"signed by a member", "10.9.8.7", good, "10.9.8.7"},
		{"written by the client", "10.9.8.7", "", "127.0.0.1"},
		{"signature of another address", "10.9.8.6", good, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest("POST", "/whep/cam1", nil)
			c.Request.RemoteAddr = "127.0.0.1:40000"
			if tc.viewer != "" {
				c.Request.Header.Set(viewerHeader, tc.viewer)
				c.Request.Header.Set(viewerSigHeader, tc.sig)
			}
			if got := s.viewerAddr(c).String(); got != tc.want {
				t.Errorf("viewer address %s, want %s", got, tc.want)
			}
		})
	}
}

// TestProxyToAnOwnerThatDoesNotAnswerIs502: with proxy_whep, a WHEP
// request for a camera whose owner does not answer gets a 502 with a
// sentence naming the camera and the owner.
func TestProxyToAnOwnerThatDoesNotAnswerIs502(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := &configs.Config{Cluster: configs.Cluster{ProxyWHEP: true}}
	s := &Server{cfg: cfg, log: slog.New(slog.DiscardHandler), secret: &secret{key: []byte("0123456789abcdef0123456789abcdef")},
		cluster: oneMember{owner: &cluster.Member{Node: "b", URL: gone}}}
	e := gin.New()
	e.POST("/whep/:camera", func(c *gin.Context) {
		if !s.toOwner(c, c.Param("camera")) {
			t.Error("the request for another member's camera was not proxied")
		}
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	res, err := http.Post(srv.URL+"/whep/cam1", "application/sdp", strings.NewReader("v=0"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 502 || !strings.Contains(string(body), `"error":"the member that owns camera cam1 (b) did not answer; try again"`) {
		t.Errorf("owner away: %d %s, want 502 naming cam1 and b", res.StatusCode, body)
	}
}
