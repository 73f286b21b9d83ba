package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/cluster"
	"qianliyan/detect"
	"qianliyan/ingest"
)

// snapshots keeps one JPEG per camera, made from its latest key frame, so
// a list of thumbnails costs one decode per camera per GOP at most; and,
// for the overview of cameras detection does not watch (which gets its
// pictures for free), one shrunk picture, renewed every smallEvery.
type snapshots struct {
	mu    sync.Mutex
	full  map[string]snapshot
	small map[string]snapshot
}

type snapshot struct {
	key  *ingest.Unit // full: the key frame it was made of
	at   time.Time    // when that key frame came
	jpeg []byte
}

// smallEvery is how often the overview's picture of a camera detection
// does not watch is made again: a decode of a key frame each time, for
// every camera the overview shows.
const smallEvery = 10 * time.Second

func newSnapshots() *snapshots {
	return &snapshots{full: map[string]snapshot{}, small: map[string]snapshot{}}
}

// get returns camera id's key frame key as a JPEG.
func (sn *snapshots) get(id string, key *ingest.Unit) ([]byte, error) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if s, ok := sn.full[id]; ok && s.key == key {
		return s.jpeg, nil
	}
	img, err := decodeKey(key)
	if err != nil {
		return nil, err
	}
	b, err := detect.EncodeJPEG(img, 75)
	if err != nil {
		return nil, err
	}
	sn.full[id] = snapshot{key: key, at: key.Received, jpeg: b}
	return b, nil
}

// thumb returns camera id's picture for the overview, shrunk, and when its
// key frame came: key's, or the one before when that is less than
// smallEvery older.
func (sn *snapshots) thumb(id string, key *ingest.Unit) ([]byte, time.Time, error) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if s, ok := sn.small[id]; ok && key.Received.Sub(s.at) < smallEvery {
		return s.jpeg, s.at, nil
	}
	img, err := decodeKey(key)
	if err != nil {
		return nil, time.Time{}, err
	}
	b, err := detect.ThumbJPEG(img)
	if err != nil {
		return nil, time.Time{}, err
	}
	sn.small[id] = snapshot{at: key.Received, jpeg: b}
	return b, key.Received, nil
}

// decodeKey decodes a key frame by itself.
func decodeKey(key *ingest.Unit) (*image.YCbCr, error) {
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
	return img, nil
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
// cameras the caller may watch; the others are missing with a reason. In a
// cluster the pictures of cameras other members read are asked of them,
// each member once for all of its cameras.
func (s *Server) thumbs(c *gin.Context) error {
	ids := strings.Split(c.Query("cameras"), ",")
	if c.Query("cameras") == "" || len(ids) > maxThumbs {
		return Errorf(http.StatusBadRequest, "name 1 to %d cameras: ?cameras=cam1,cam2", maxThumbs)
	}
	out := Thumbs{Thumbs: []Thumb{}, Missing: map[string]string{}}
	p := principal(c)
	away := map[string]*ownedBy{}
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
		if m, ok := s.otherOwner(id); ok && c.GetHeader(localHeader) != "1" {
			if away[m.Node] == nil {
				away[m.Node] = &ownedBy{member: m}
			}
			away[m.Node].cameras = append(away[m.Node].cameras, id)
			continue
		}
		b, at, why := s.thumb(id)
		if why != "" {
			out.Missing[id] = why
			continue
		}
		out.Thumbs = append(out.Thumbs, Thumb{Camera: id, AtMS: at.UnixMilli(), JPEG: b})
	}
	if len(away) > 0 {
		s.thumbsElsewhere(c, away, &out)
		order := make(map[string]int, len(ids))
		for i, id := range ids {
			order[id] = i
		}
		slices.SortFunc(out.Thumbs, func(a, b Thumb) int { return order[a.Camera] - order[b.Camera] })
	}
	c.Header("Cache-Control", "no-cache")
	c.JSON(http.StatusOK, out)
	return nil
}

// thumb is camera id's picture for the overview: detection's last analysed
// one, else a key frame shrunk (see snapshots.thumb); why says in words
// when there is none.
func (s *Server) thumb(id string) (pic []byte, at time.Time, why string) {
	const noPicture = "no picture yet (offline or connecting)"
	if w := s.watcher(id); w != nil {
		b, at, err := w.Thumbnail()
		if err != nil {
			return nil, time.Time{}, noPicture
		}
		return b, at, ""
	}
	st := s.cams.Stream(id)
	if st == nil {
		return nil, time.Time{}, noPicture
	}
	key := st.LastKeyFrame()
	if key == nil {
		return nil, time.Time{}, noPicture
	}
	b, at, err := s.snaps.thumb(id, key)
	if err != nil {
		return nil, time.Time{}, "its last key frame does not decode"
	}
	return b, at, ""
}

// ownedBy is a cluster member and the cameras asked of it.
type ownedBy struct {
	member  cluster.Member
	cameras []string
}

// thumbsElsewhere asks each member in away (by node) for the pictures of
// its cameras, all members at once, with the caller's credentials, and adds
// what they answer to out; a member that does not answer within 2 s leaves
// its cameras missing, saying so.
func (s *Server) thumbsElsewhere(c *gin.Context, away map[string]*ownedBy, out *Thumbs) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, o := range away {
		wg.Go(func() {
			got, err := s.thumbsOf(c, o)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				s.log.Warn("thumbs: a member did not answer", "member", o.member.Node, "err", err)
				for _, id := range o.cameras {
					out.Missing[id] = "member " + o.member.Node + ", which reads this camera, did not answer"
				}
				return
			}
			out.Thumbs = append(out.Thumbs, got.Thumbs...)
			maps.Copy(out.Missing, got.Missing)
		})
	}
	wg.Wait()
}

// thumbsOf is GET /api/thumbs of o's cameras asked of o, from what it has.
func (s *Server) thumbsOf(c *gin.Context, o *ownedBy) (Thumbs, error) {
	var got Thumbs
	res, err := s.askMember(c, memberClient, o.member, "/api/thumbs?cameras="+url.QueryEscape(strings.Join(o.cameras, ",")))
	if err != nil {
		return got, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return got, fmt.Errorf("%s answered %s", o.member.Node, res.Status)
	}
	return got, json.NewDecoder(res.Body).Decode(&got)
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
