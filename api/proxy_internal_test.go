package api

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"qianliyan/cluster"
)

// oneMember is a Cluster of one member that owns nothing: enough for the
// viewer's address, which needs only to know it is in a cluster.
type oneMember struct{}

func (oneMember) Node() string                        { return "a" }
func (oneMember) Owns(string) bool                    { return false }
func (oneMember) Owner(string) (cluster.Member, bool) { return cluster.Member{}, false }
func (oneMember) Members() []cluster.Member           { return nil }

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
