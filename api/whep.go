package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/ingest"
	"qianliyan/relay"
)

// maxOfferBytes bounds an SDP offer; browsers send 5–10 KB.
const maxOfferBytes = 64 << 10

// readSDP reads an application/sdp body within maxOfferBytes.
func readSDP(c *gin.Context, want string) (string, error) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != want {
		return "", Errorf(http.StatusUnsupportedMediaType, "the body must be %s, not %q", want, c.GetHeader("Content-Type"))
	}
	b, err := io.ReadAll(io.LimitReader(c.Request.Body, maxOfferBytes+1))
	if err != nil {
		return "", Errorf(http.StatusBadRequest, "cannot read the body: %v", err)
	}
	if len(b) > maxOfferBytes {
		return "", Errorf(http.StatusRequestEntityTooLarge, "the body is larger than %d KiB", maxOfferBytes>>10)
	}
	return string(b), nil
}

// relayError maps the relay's errors to status codes and sentences.
func relayError(err error) error {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, relay.ErrUnknownCamera), errors.Is(err, relay.ErrNoSession):
		code = http.StatusNotFound
	case errors.Is(err, relay.ErrBadOffer):
		code = http.StatusBadRequest
	case errors.Is(err, relay.ErrCodec):
		code = http.StatusUnsupportedMediaType
	case errors.Is(err, relay.ErrBFrames):
		code = http.StatusUnprocessableEntity
	case errors.Is(err, relay.ErrOffline), errors.Is(err, relay.ErrTooMany):
		code = http.StatusServiceUnavailable
	default:
		return err
	}
	return &HTTPError{Code: code, Msg: err.Error()}
}

// subWait bounds how long an offer for a sub-stream waits for the camera
// to send it (it is read only while someone watches): a camera answers
// and sends its first key frame within 1-2 s.
const subWait = 5 * time.Second

// streamParam reads ?stream=: the relay's id of the stream asked for (the
// camera, or its sub-stream's ingest.SubID) and whether it is the sub.
func streamParam(c *gin.Context, camera string) (id string, sub bool, err error) {
	switch v := c.Query("stream"); v {
	case "", "main":
		return camera, false, nil
	case "sub":
		return ingest.SubID(camera), true, nil
	default:
		return "", false, Errorf(http.StatusBadRequest, "stream %q is neither main nor sub", v)
	}
}

// whepOffer answers POST /whep/{camera}: 201, the SDP answer, Location.
// With ?stream=sub it plays the camera's sub-stream, or its main stream
// when it has none or the sub-stream does not come (X-Stream-Fallback says
// why); X-Stream names the stream that plays.
func (s *Server) whepOffer(c *gin.Context) error {
	camera := c.Param("camera")
	if _, err := s.visibleCamera(c, camera); err != nil {
		return err
	}
	id, sub, err := streamParam(c, camera)
	if err != nil {
		return err
	}
	if s.toOwner(c, camera) {
		return nil
	}
	offer, err := readSDP(c, "application/sdp")
	if err != nil {
		return err
	}
	if sub {
		if h, ok := s.cams.WantSub(c.Request.Context(), camera, subWait); !ok {
			id, sub = camera, false
			c.Header("X-Stream-Fallback", "no sub-stream")
		} else if !h.Online {
			id, sub = camera, false
			c.Header("X-Stream-Fallback", "sub-stream offline: "+h.LastError)
		}
	}
	where := ""
	if sub {
		c.Header("X-Stream", "sub")
		where = "?stream=sub"
	} else {
		c.Header("X-Stream", "main")
	}
	client := s.viewerAddr(c)
	ss, answer, err := s.relay.Offer(c.Request.Context(), id, offer, client)
	if err != nil {
		if errors.Is(err, relay.ErrTooMany) {
			// places come free as viewers leave or fail to connect
			c.Header("Retry-After", strconv.Itoa(int(relay.ConnectWithin.Seconds())))
		}
		return relayError(err)
	}
	// The URL is the session's capability: its key holds a secret.
	c.Header("Location", fmt.Sprintf("/whep/%s/sessions/%s%s", camera, ss.Key(), where))
	c.Header("ETag", `"`+ss.ID+`"`)
	s.iceLinks(c)
	c.Data(http.StatusCreated, "application/sdp", []byte(answer))
	return nil
}

// whepPatch takes trickled candidates (application/trickle-ice-sdpfrag).
func (s *Server) whepPatch(c *gin.Context) error {
	if s.toOwner(c, c.Param("camera")) {
		return nil
	}
	frag, err := readSDP(c, "application/trickle-ice-sdpfrag")
	if err != nil {
		return err
	}
	id, _, err := streamParam(c, c.Param("camera"))
	if err != nil {
		return err
	}
	if err := s.relay.AddCandidates(id, c.Param("id"), frag); err != nil {
		return relayError(err)
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) whepDelete(c *gin.Context) error {
	id, _, err := streamParam(c, c.Param("camera"))
	if err != nil {
		return err
	}
	if s.toOwner(c, c.Param("camera")) {
		return nil
	}
	if err := s.relay.End(id, c.Param("id")); err != nil {
		return relayError(err)
	}
	c.Status(http.StatusOK)
	return nil
}

// whepOptions advertises the ICE servers as WHEP Link headers.
func (s *Server) whepOptions(c *gin.Context) error {
	s.iceLinks(c)
	c.Header("Accept-Post", "application/sdp")
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) iceLinks(c *gin.Context) {
	for _, is := range s.relay.ICEServers() {
		for _, u := range is.URLs {
			link := fmt.Sprintf("<%s>; rel=\"ice-server\"", u)
			if is.Username != "" {
				link += fmt.Sprintf("; username=%q; credential=%q; credential-type=\"password\"", is.Username, credential(is.Credential))
			}
			c.Writer.Header().Add("Link", link)
		}
	}
}

// webrtcConfig gives pages the ICE servers for RTCPeerConnection.
func (s *Server) webrtcConfig(c *gin.Context) error {
	type iceServer struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username,omitempty"`
		Credential string   `json:"credential,omitempty"`
	}
	out := []iceServer{}
	for _, is := range s.relay.ICEServers() {
		out = append(out, iceServer{URLs: is.URLs, Username: is.Username, Credential: credential(is.Credential)})
	}
	c.JSON(http.StatusOK, gin.H{"ice_servers": out})
	return nil
}

func credential(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
