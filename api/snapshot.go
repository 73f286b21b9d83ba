package api

import (
	"bytes"
	"errors"
	"image/jpeg"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"qianliyan/detect"
	"qianliyan/ingest"
)

// snapshots keeps one JPEG per camera, made from its latest key frame, so
// a list of thumbnails costs one decode per camera per GOP at most.
type snapshots struct {
	mu   sync.Mutex
	byID map[string]snapshot
}

type snapshot struct {
	key  *ingest.Unit
	jpeg []byte
}

func newSnapshots() *snapshots { return &snapshots{byID: map[string]snapshot{}} }

func (sn *snapshots) get(id string, key *ingest.Unit) ([]byte, error) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if s, ok := sn.byID[id]; ok && s.key == key {
		return s.jpeg, nil
	}
	dec, err := detect.NewDecoder(key.Codec, 1)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	img, err := dec.Decode(key.NALUs)
	if err != nil {
		return nil, err
	}
	if img == nil {
		return nil, Errorf(http.StatusServiceUnavailable, "the key frame did not decode yet; try again")
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 75}); err != nil {
		return nil, err
	}
	sn.byID[id] = snapshot{key: key, jpeg: buf.Bytes()}
	return buf.Bytes(), nil
}

// snapshot serves the camera's latest key frame as a JPEG.
func (s *Server) snapshot(c *gin.Context) error {
	cam, err := s.visibleCamera(c, c.Param("id"))
	if err != nil {
		return err
	}
	if s.redirectToOwner(c, cam.ID) {
		return nil // the picture is where the camera is read
	}
	key := s.cams.Stream(cam.ID).LastKeyFrame()
	if key == nil {
		return Errorf(http.StatusServiceUnavailable, "camera %q has no picture yet (offline or connecting)", cam.ID)
	}
	b, err := s.snaps.get(cam.ID, key)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "image/jpeg", b)
	return nil
}

// watcher is the camera's detection, or nil when detection does not run on it.
func (s *Server) watcher(id string) *detect.Watcher {
	if s.detection == nil {
		return nil
	}
	return s.detection.Watcher(id)
}

// Thumbs is the answer to GET /api/thumbs: the pictures of several cameras
// in one request, for the wall's overview (a browser opens six connections
// to a host: 128 pictures one by one took 3.9 s to arrive).
type Thumbs struct {
	Thumbs []Thumb `json:"thumbs"`
	// Missing says in words why a camera asked for has no picture.
	Missing map[string]string `json:"missing,omitempty"`
}

// Thumb is one camera's picture: a JPEG, 320 pixels wide, and when it was
// analysed.
type Thumb struct {
	Camera string `json:"camera"`
	AtMS   int64  `json:"at_ms"`
	JPEG   []byte `json:"jpeg"` // base64 in JSON
}

// maxThumbs bounds the cameras of one GET /api/thumbs.
const maxThumbs = 200

// thumbs answers GET /api/thumbs?cameras=a,b,c: the thumbnails of those
// cameras the caller may watch; the others are missing with a reason.
func (s *Server) thumbs(c *gin.Context) error {
	ids := strings.Split(c.Query("cameras"), ",")
	if c.Query("cameras") == "" || len(ids) > maxThumbs {
		return Errorf(http.StatusBadRequest, "name 1 to %d cameras: ?cameras=cam1,cam2", maxThumbs)
	}
	out := Thumbs{Thumbs: []Thumb{}, Missing: map[string]string{}}
	p := principal(c)
	for _, id := range ids {
		cam := s.cfg.Camera(id)
		switch {
		case cam == nil:
			if len(id) <= 64 { // a name no camera has is told back, not a long one
				out.Missing[id] = "no such camera"
			}
			continue
		case !p.MayWatch(cam):
			out.Missing[id] = "not public"
			continue
		}
		w := s.watcher(id)
		if w == nil {
			out.Missing[id] = "detection does not run on this camera"
			continue
		}
		b, at, err := w.Thumbnail()
		if err != nil {
			out.Missing[id] = "no picture yet (offline or connecting)"
			continue
		}
		out.Thumbs = append(out.Thumbs, Thumb{Camera: id, AtMS: at.UnixMilli(), JPEG: b})
	}
	c.Header("Cache-Control", "no-cache")
	c.JSON(http.StatusOK, out)
	return nil
}

// thumbnail serves the camera's last analysed picture, 320 pixels wide: what
// the wall's overview of every camera shows. It comes from detection, which
// decodes each camera's key frames anyway, so 128 cameras cost no decoding;
// X-Picture-At says when it was analysed (Unix ms). Without detection on the
// camera it is the latest key frame, decoded (as snapshot.jpg).
func (s *Server) thumbnail(c *gin.Context) error {
	cam, err := s.visibleCamera(c, c.Param("id"))
	if err != nil {
		return err
	}
	if s.redirectToOwner(c, cam.ID) {
		return nil
	}
	w := s.watcher(cam.ID)
	if w == nil {
		return s.snapshot(c)
	}
	b, at, err := w.Thumbnail()
	if errors.Is(err, detect.ErrNoPicture) {
		return Errorf(http.StatusServiceUnavailable, "camera %q has no picture yet (offline or connecting)", cam.ID)
	}
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-cache")
	c.Header("X-Picture-At", strconv.FormatInt(at.UnixMilli(), 10))
	c.Data(http.StatusOK, "image/jpeg", b)
	return nil
}
