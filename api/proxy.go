package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/cluster"
	"qianliyan/record"
)

// The headers a member proxying WHEP (cluster.proxy_whep) adds for the
// owner: the viewer's address, and its HMAC with the members' shared
// token secret, so the owner counts the viewer, not the proxying member,
// against webrtc.max_sessions_per_client, and a client cannot pass for
// another by writing the header itself.
const (
	viewerHeader    = "X-Qly-Viewer"
	viewerSigHeader = "X-Qly-Viewer-Sig"
)

// ProxyHeader, set to 1 on a WHEP request, asks a member that does not own
// the camera to relay the request to the owner rather than redirect it.
// The pages send it: a browser cannot follow a 307 to another member (a
// different origin: its Authorization header is dropped, and the owner
// would need CORS), so they are proxied whatever cluster.proxy_whep says.
const ProxyHeader = "X-Qly-Proxy"

// toOwner answers a WHEP request about a camera another member owns: it
// proxies it to the owner with cluster.proxy_whep or when the request asks
// (ProxyHeader), else (POST only) redirects to it. It reports whether it
// answered.
func (s *Server) toOwner(c *gin.Context, camera string) bool {
	if s.cfg.Cluster.ProxyWHEP || c.GetHeader(ProxyHeader) == "1" {
		return s.proxyToOwner(c, camera)
	}
	return c.Request.Method == http.MethodPost && s.redirectToOwner(c, camera)
}

// proxyToOwner relays the request to the owner of camera (the same path and
// query at its URL) and its answer back, when another member owns it. The
// owner's session Location is relative, so the viewer's PATCH and DELETE
// come to this member too and go on to the owner the same way. It reports
// whether it answered.
func (s *Server) proxyToOwner(c *gin.Context, camera string) bool {
	m, ok := s.otherOwner(camera)
	if !ok {
		return false
	}
	s.proxyTo(c, m, "the member that owns camera "+camera+" ("+m.Node+")")
	return true
}

// localHeader, set to 1, asks a member to answer from what it has itself,
// without asking the others in turn (a member looking for a clip sends it).
const localHeader = "X-Qly-Local"

// clipElsewhere relays a request about a clip this member does not have
// to the member that has it: each member cuts the clips of the cameras it
// reads, and keeps them on its disk. It reports whether it answered.
func (s *Server) clipElsewhere(c *gin.Context, id string) bool {
	m, _, ok := s.clipMember(c, id)
	if ok {
		s.proxyTo(c, m, "member "+m.Node+", which has clip "+id)
	}
	return ok
}

// clipMember is the other live member that has clip id, asked in turn with
// the caller's credentials, and its description of the clip.
func (s *Server) clipMember(c *gin.Context, id string) (cluster.Member, record.Clip, bool) {
	if s.cluster == nil || c.GetHeader(localHeader) == "1" {
		return cluster.Member{}, record.Clip{}, false
	}
	for _, m := range s.cluster.Members() {
		if m.Node == s.cluster.Node() {
			continue
		}
		res, err := s.askMember(c, memberClient, m, "/api/clips/"+id)
		if err != nil {
			continue
		}
		var cl record.Clip
		ok := res.StatusCode == http.StatusOK && json.NewDecoder(res.Body).Decode(&cl) == nil
		res.Body.Close()
		if ok {
			return m, cl, true
		}
	}
	return cluster.Member{}, record.Clip{}, false
}

// memberClient asks another member a question: an answer takes 2 s at
// most, else the member counts as not answering.
var memberClient = &http.Client{Timeout: 2 * time.Second}

// askMember GETs path (with its query) of member m with the caller's
// credentials; m answers from what it has itself (localHeader).
func (s *Server) askMember(c *gin.Context, client *http.Client, m cluster.Member, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(c.Request.Context(), http.MethodGet, strings.TrimSuffix(m.URL, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", c.GetHeader("Authorization"))
	req.Header.Set(localHeader, "1")
	return client.Do(req)
}

// proxyTo relays the request to member m (the same path and query at its
// URL) and its answer back; what names m in an error.
func (s *Server) proxyTo(c *gin.Context, m cluster.Member, what string) {
	target, err := url.Parse(m.URL)
	if err != nil || target.Host == "" {
		writeError(c, http.StatusBadGateway, what+" has no usable URL")
		return
	}
	viewer := c.RemoteIP()
	sig, err := s.viewerSig(c.Request.Context(), viewer)
	if err != nil {
		sig = "" // the owner then counts this member as the viewer
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.SetXForwarded()
			r.Out.Header.Set(viewerHeader, viewer)
			r.Out.Header.Set(viewerSigHeader, sig)
			r.Out.Header.Set(localHeader, "1") // m answers from what it has
		},
		ModifyResponse: func(res *http.Response) error {
			// keep the session's URL at this member, should the owner name itself
			if loc := res.Header.Get("Location"); strings.HasPrefix(loc, strings.TrimSuffix(m.URL, "/")+"/") {
				res.Header.Set("Location", strings.TrimPrefix(loc, strings.TrimSuffix(m.URL, "/")))
			}
			res.Header.Set("X-Owner", m.Node)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.log.Warn("proxy: the member did not answer", "member", m.Node, "path", r.URL.Path, "err", err)
			writeError(c, http.StatusBadGateway, what+" did not answer; try again")
		},
	}
	rp.ServeHTTP(c.Writer, c.Request)
}

// viewerSig is the signature of a viewer's address that a proxying member
// sends along (see viewerHeader).
func (s *Server) viewerSig(ctx context.Context, addr string) (string, error) {
	return s.memberSig(ctx, "whep-viewer", []byte(addr))
}

// memberSig signs what one member says to another, for what purpose, with
// the members' shared token secret: a client, which does not have it,
// cannot pass for a member.
func (s *Server) memberSig(ctx context.Context, purpose string, msg []byte) (string, error) {
	key, err := s.secret.get(ctx)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(purpose + ":"))
	mac.Write(msg)
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// viewerAddr is the address a WHEP offer is counted against: the TCP
// peer, or the viewer a proxying member names with a valid signature
// (X-Forwarded-For, which any client can write, never).
func (s *Server) viewerAddr(c *gin.Context) netip.Addr {
	peer, _ := netip.ParseAddr(c.RemoteIP())
	named := c.GetHeader(viewerHeader)
	if named == "" || s.cluster == nil {
		return peer
	}
	want, err := s.viewerSig(c.Request.Context(), named)
	if err != nil || !hmac.Equal([]byte(want), []byte(c.GetHeader(viewerSigHeader))) {
		return peer
	}
	if a, err := netip.ParseAddr(named); err == nil {
		return a
	}
	return peer
}
