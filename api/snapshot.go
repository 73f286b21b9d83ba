package api

import (
	"bytes"
	"image/jpeg"
	"net/http"
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
