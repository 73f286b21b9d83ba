package api

import (
	"bytes"
	"errors"
	"image/jpeg"
	"net/http"
	"strconv"
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
	var w *detect.Watcher
	if s.detection != nil {
		w = s.detection.Watcher(cam.ID)
	}
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
