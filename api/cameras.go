package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"qianliyan/configs"
	"qianliyan/ingest"
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

func (s *Server) camera(cam *configs.Camera) Camera {
	out := Camera{ID: cam.ID, Name: cam.Name, Grid: cam.Grid, Location: Location(cam.Location), Public: cam.Public, Zones: []Zone{}}
	for _, z := range cam.Zones {
		pz := Zone{Name: z.Name, Kind: z.Kind}
		for _, p := range z.Polygon {
			pz.Polygon = append(pz.Polygon, [2]float64{p.X, p.Y})
		}
		out.Zones = append(out.Zones, pz)
	}
	out.Health, _ = s.cams.Health(cam.ID)
	return out
}

func (s *Server) listCameras(c *gin.Context) error {
	out := make([]Camera, 0, len(s.cfg.Cameras))
	for i := range s.cfg.Cameras {
		out = append(out, s.camera(&s.cfg.Cameras[i]))
	}
	c.JSON(http.StatusOK, gin.H{"cameras": out})
	return nil
}

func (s *Server) getCamera(c *gin.Context) error {
	cam := s.cfg.Camera(c.Param("id"))
	if cam == nil {
		return Errorf(http.StatusNotFound, "no camera with id %q", c.Param("id"))
	}
	c.JSON(http.StatusOK, s.camera(cam))
	return nil
}
