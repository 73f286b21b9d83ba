package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"qianliyan/configs"
	"qianliyan/ingest"
	"qianliyan/relay"
)

// Camera is a camera as the API shows it: never its URL, which may hold
// credentials.
type Camera struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Grid     string        `json:"grid"`
	Location Location      `json:"location"`
	Public   bool          `json:"public"`
	Zones    []Zone        `json:"zones"`
	Health   ingest.Health `json:"health"`
	Viewers  int           `json:"viewers"`
	// Sessions are the viewers' figures (staff and admin only).
	Sessions []relay.SessionStats `json:"sessions,omitempty"`
}

// Location is where a camera stands.
type Location struct {
	Lat     float64 `json:"lat"`
	Lng     float64 `json:"lng"`
	Address string  `json:"address"`
}

// Zone is a camera zone as the API shows it.
type Zone struct {
	Name    string       `json:"name"`
	Kind    string       `json:"kind"`
	Polygon [][2]float64 `json:"polygon"`
}

func (s *Server) camera(cam *configs.Camera, health ingest.Health, viewers map[string]int, sessions []relay.SessionStats) Camera {
	out := Camera{ID: cam.ID, Name: cam.Name, Grid: cam.Grid, Location: Location(cam.Location), Public: cam.Public, Zones: []Zone{}}
	for _, z := range cam.Zones {
		pz := Zone{Name: z.Name, Kind: z.Kind}
		for _, p := range z.Polygon {
			pz.Polygon = append(pz.Polygon, [2]float64{p.X, p.Y})
		}
		out.Zones = append(out.Zones, pz)
	}
	out.Health = health
	// a sub-stream's viewers are the camera's too
	sub := ingest.SubID(cam.ID)
	out.Viewers = viewers[cam.ID] + viewers[sub]
	if _, other := s.otherOwner(cam.ID); other {
		out.Viewers = health.Viewers // its viewers are relayed by its owner
	}
	for _, ss := range sessions {
		if ss.Camera == cam.ID || ss.Camera == sub {
			out.Sessions = append(out.Sessions, ss)
		}
	}
	return out
}

// bridgeItself is the principal of the bridge's own work, such as
// publishing camera changes: it sees everything.
var bridgeItself = Principal{ID: "@bridge", Name: "bridge", Role: RoleAdmin}

// cameraList returns the cameras who may see (Principal.MayWatch), with the
// viewers' sessions for the center.
func (s *Server) cameraList(who Principal) []Camera {
	viewers := s.relay.Viewers()
	var sessions []relay.SessionStats
	if who.SeesAll() {
		sessions = s.relay.Sessions()
	}
	var cams []*configs.Camera
	var ids []string
	for i := range s.cfg.Cameras {
		if cam := &s.cfg.Cameras[i]; who.MayWatch(cam) {
			cams, ids = append(cams, cam), append(ids, cam.ID)
		}
	}
	healths := s.healths(ids)
	out := make([]Camera, 0, len(cams))
	for _, cam := range cams {
		out = append(out, s.camera(cam, healths[cam.ID], viewers, sessions))
	}
	return out
}

func (s *Server) listCameras(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"cameras": s.cameraList(principal(c))})
	return nil
}

func (s *Server) getCamera(c *gin.Context) error {
	cam, err := s.visibleCamera(c, c.Param("id"))
	if err != nil {
		return err
	}
	var sessions []relay.SessionStats
	if principal(c).SeesAll() {
		sessions = s.relay.Sessions()
	}
	c.JSON(http.StatusOK, s.camera(cam, s.healths([]string{cam.ID})[cam.ID], s.relay.Viewers(), sessions))
	return nil
}

// visibleCamera returns the camera if the caller may see it: 404 for an
// unknown id, 403 for a non-public one the caller may not watch.
func (s *Server) visibleCamera(c *gin.Context, id string) (*configs.Camera, error) {
	cam := s.cfg.Camera(id)
	if cam == nil {
		return nil, Errorf(http.StatusNotFound, "no camera with id %q", id)
	}
	if !principal(c).MayWatch(cam) {
		return nil, Errorf(http.StatusForbidden, "camera %q is not public: only the center's staff and the workers of grid %s may watch it", id, cam.Grid)
	}
	return cam, nil
}
