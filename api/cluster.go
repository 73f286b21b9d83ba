package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/cluster"
	"qianliyan/ingest"
)

// Cluster is what the API needs from the cluster's membership: who owns a
// camera, and the members.
type Cluster interface {
	Node() string
	Owns(camera string) bool
	Owner(camera string) (cluster.Member, bool)
	Members() []cluster.Member
}

// ClusterView is GET /api/cluster: this member's name and every live
// member with its lease and its cameras.
type ClusterView struct {
	Node    string           `json:"node"`
	Members []cluster.Member `json:"members"`
}

// getCluster answers GET /api/cluster.
func (s *Server) getCluster(c *gin.Context) error {
	if s.cluster == nil {
		return Errorf(http.StatusServiceUnavailable, "this bridge runs without cluster membership")
	}
	c.JSON(http.StatusOK, ClusterView{Node: s.cluster.Node(), Members: s.cluster.Members()})
	return nil
}

// redirectToOwner answers a request about a camera another member owns
// (a WHEP offer, a snapshot) with 307 to the same path and query at the
// owner's URL (a 307 keeps the method and the body: WHEP clients post the
// offer again there). It reports whether it answered.
func (s *Server) redirectToOwner(c *gin.Context, camera string) bool {
	m, ok := s.otherOwner(camera)
	if !ok {
		return false
	}
	c.Header("Location", strings.TrimSuffix(m.URL, "/")+c.Request.URL.RequestURI())
	c.Header("X-Owner", m.Node)
	c.Status(http.StatusTemporaryRedirect)
	return true
}

// otherOwner is the member that owns camera when another than this one
// does; ok is false when this member owns it, or none does now (the relay
// then says it is offline).
func (s *Server) otherOwner(camera string) (m cluster.Member, ok bool) {
	if s.cluster == nil || s.cluster.Owns(camera) {
		return cluster.Member{}, false
	}
	return s.cluster.Owner(camera)
}

// ownerSilentAfter is how long the health of a camera another member owns
// is believed after the owner last wrote it (it writes every second).
const ownerSilentAfter = 5 * time.Second

// healths returns the health of cameras: this bridge's own for those it
// reads, else what their owners last wrote in Redis (one round trip for
// all of them).
func (s *Server) healths(cameras []string) map[string]ingest.Health {
	out := make(map[string]ingest.Health, len(cameras))
	var others []string
	for _, id := range cameras {
		if s.cluster == nil || s.cluster.Owns(id) {
			out[id], _ = s.cams.Health(id)
		} else {
			others = append(others, id)
		}
	}
	if len(others) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	written, at, err := ingest.ReadHealths(ctx, s.rdb, s.cfg.Redis.Prefix, others)
	now := s.now()
	for _, id := range others {
		owner, _ := s.cluster.Owner(id)
		h, ok := written[id]
		switch {
		case err != nil:
			h = ingest.Health{Camera: id, Since: s.started, LastError: "its health cannot be read from Redis: " + err.Error()}
		case !ok:
			h = ingest.Health{Camera: id, Since: s.started, LastError: "no member of the cluster has read this camera yet"}
		case owner.Node == "":
			h.Online, h.FPS, h.Bitrate, h.Viewers = false, 0, 0, 0
			h.LastError = "no live member of the cluster reads this camera"
		case now.Sub(at[id]) > ownerSilentAfter:
			h.Online, h.FPS, h.Bitrate, h.Viewers = false, 0, 0, 0
			h.LastError = fmt.Sprintf("member %s, which reads this camera, has not reported its health for %d s", owner.Node, int(now.Sub(at[id]).Seconds()))
		}
		out[id] = h
	}
	return out
}
