package api

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"qianliyan/configs"
	"qianliyan/detect"
)

// Detection is what the API needs from the detection stage.
type Detection interface {
	Watcher(id string) *detect.Watcher
}

// The incident, reference and detect-mode routes are the center's: New puts
// requireRole(RoleStaff, RoleAdmin) in front of them.

func (s *Server) detectionReady() error {
	if s.incidents == nil || s.detection == nil {
		return Errorf(http.StatusServiceUnavailable, "detection is not running on this bridge")
	}
	return nil
}

// listIncidents answers GET /api/incidents?camera=&kind=&open=1&since_ms=&limit=.
func (s *Server) listIncidents(c *gin.Context) error {
	if err := s.detectionReady(); err != nil {
		return err
	}
	f := detect.Filter{Camera: c.Query("camera"), Kind: c.Query("kind"), OpenOnly: c.Query("open") == "1" || c.Query("open") == "true"}
	if v := c.Query("since_ms"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return Errorf(http.StatusBadRequest, "since_ms must be a time in milliseconds, not %q", v)
		}
		f.SinceMS = n
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return Errorf(http.StatusBadRequest, "limit must be a number from 1 to 1000, not %q", v)
		}
		f.Limit = n
	}
	if f.Kind != "" && !slices.Contains(configs.IncidentKinds, f.Kind) {
		return Errorf(http.StatusBadRequest, "kind %q is not one of %s", f.Kind, strings.Join(configs.IncidentKinds, ", "))
	}
	list, err := s.incidents.List(c.Request.Context(), f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"incidents": list})
	return nil
}

func (s *Server) incident(c *gin.Context) (detect.Incident, error) {
	if err := s.detectionReady(); err != nil {
		return detect.Incident{}, err
	}
	in, err := s.incidents.Get(c.Request.Context(), c.Param("id"))
	if errors.Is(err, detect.ErrNotFound) {
		return in, Errorf(http.StatusNotFound, "no incident with id %q", c.Param("id"))
	}
	return in, err
}

func (s *Server) getIncident(c *gin.Context) error {
	in, err := s.incident(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, in)
	return nil
}

// incidentSnapshot serves the picture taken when the incident was raised.
func (s *Server) incidentSnapshot(c *gin.Context) error {
	in, err := s.incident(c)
	if err != nil {
		return err
	}
	if in.Snapshot == "" {
		return Errorf(http.StatusNotFound, "incident %q has no snapshot", in.ID)
	}
	b, err := os.ReadFile(filepath.Join(s.snapDir, filepath.Base(in.Snapshot)))
	if err != nil {
		return Errorf(http.StatusNotFound, "the snapshot of incident %q is gone", in.ID)
	}
	c.Data(http.StatusOK, "image/jpeg", b)
	return nil
}

// takeReference answers POST /api/cameras/{id}/zones/{zone}/reference: the
// next analysed picture becomes the zone's normal look ("*" for all).
func (s *Server) takeReference(c *gin.Context) error {
	if err := s.detectionReady(); err != nil {
		return err
	}
	cam := s.cfg.Camera(c.Param("id"))
	if cam == nil {
		return Errorf(http.StatusNotFound, "no camera with id %q", c.Param("id"))
	}
	zone := c.Param("zone")
	if zone == "*" {
		zone = ""
	} else {
		found := false
		for _, z := range cam.Zones {
			found = found || z.Name == zone
		}
		if !found {
			return Errorf(http.StatusNotFound, "camera %q has no zone %q", cam.ID, zone)
		}
	}
	w := s.detection.Watcher(cam.ID)
	if w == nil {
		return Errorf(http.StatusServiceUnavailable, "camera %q is not watched", cam.ID)
	}
	w.TakeReference(zone)
	c.JSON(http.StatusAccepted, gin.H{"status": "the next analysed picture becomes the reference"})
	return nil
}

// DetectState is a camera's detection: its mode and figures, and how each
// zone looks against its reference.
type DetectState struct {
	detect.WatcherStats
	Zones []detect.ZoneLook `json:"zones"`
}

// detectState answers GET /api/cameras/{id}/detect: what staff look at when
// an incident they expected did not come.
func (s *Server) detectState(c *gin.Context) error {
	w, err := s.watcherOf(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, DetectState{WatcherStats: w.Stats(), Zones: w.Looks()})
	return nil
}

// watcherOf returns the watcher of the camera in the path.
func (s *Server) watcherOf(c *gin.Context) (*detect.Watcher, error) {
	if err := s.detectionReady(); err != nil {
		return nil, err
	}
	w := s.detection.Watcher(c.Param("id"))
	if w == nil {
		return nil, Errorf(http.StatusNotFound, "no watched camera with id %q", c.Param("id"))
	}
	return w, nil
}

// setMode answers PUT /api/cameras/{id}/detect with {"mode": "auto|idle|active|watch"}.
func (s *Server) setMode(c *gin.Context) error {
	if err := s.detectionReady(); err != nil {
		return err
	}
	var body struct {
		Mode string `json:"mode"`
	}
	if err := bindJSON(c, &body, `{"mode": "watch"}`, false); err != nil {
		return err
	}
	m, err := configs.ParseDetectMode(body.Mode)
	if err != nil || m == configs.ModeOff {
		return Errorf(http.StatusBadRequest, "mode %s is not one of %s, %s, %s, %s", clip(body.Mode), detect.Auto, detect.Idle, detect.Active, detect.Watch)
	}
	w, err := s.watcherOf(c)
	if err != nil {
		return err
	}
	w.SetMode(m)
	c.JSON(http.StatusOK, w.Stats())
	return nil
}
