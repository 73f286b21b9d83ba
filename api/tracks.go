package api

import (
	"cmp"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/task"
)

// The map's routes: the map's settings for the pages, a task's track
// (轨迹) reported by its worker's phone and replayed on the wall, and the
// workers' last positions. Residents never see a worker's position.

// trackLimit is how often one worker's phone may report: one point every
// 15 s in normal use, a burst when it comes back from a dead spot.
var trackLimit = rateLimit{what: "track", every: 5 * time.Second, burst: 12}

// MapSettings is the answer to GET /api/map: configs.Map for the pages.
type MapSettings struct {
	Tiles       string      `json:"tiles"` // "" draws the plain background
	Subdomains  string      `json:"subdomains"`
	Attribution string      `json:"attribution"`
	Center      *[2]float64 `json:"center,omitempty"` // [lat, lng]; absent: fit the cameras
	Zoom        int         `json:"zoom,omitempty"`
	MaxZoom     int         `json:"max_zoom"`
	NearbyM     float64     `json:"nearby_m"`
}

// mapSettings answers GET /api/map (anyone, as the camera list).
func (s *Server) mapSettings(c *gin.Context) error {
	m := s.cfg.Map
	out := MapSettings{Tiles: m.Tiles, Subdomains: m.Subdomains, Attribution: m.Attribution, Zoom: m.Zoom, MaxZoom: m.MaxZoom, NearbyM: m.NearbyM}
	if m.Center.Lat != 0 || m.Center.Lng != 0 {
		out.Center = &[2]float64{m.Center.Lat, m.Center.Lng}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// trackBody is the body of POST /api/tasks/{id}/track.
type trackBody struct {
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
	Accuracy float64  `json:"accuracy"` // metres
	At       int64    `json:"at"`       // when the phone took it, UTC ms; 0: now
}

const trackLike = `{"lat": 33.50012, "lng": 119.13921, "accuracy": 12, "at": 1764750000000}`

// TrackPosted is the answer to POST /api/tasks/{id}/track.
type TrackPosted struct {
	Position task.Position `json:"position"`
}

// postTrack answers POST /api/tasks/{id}/track: the phone of the worker a
// claimed or arrived task is dispatched to reports where it is.
func (s *Server) postTrack(c *gin.Context) error {
	p := principal(c)
	if p.Role != RoleWorker {
		return &HTTPError{Code: http.StatusForbidden, Msg: "only the grid worker a task is dispatched to reports its track", Key: MsgTrackWorkers}
	}
	if err := s.limit(c, trackLimit, p.ID, "too many positions from your phone"); err != nil {
		return err
	}
	id := c.Param("id")
	if _, err := s.visibleTask(c, id); err != nil {
		return err
	}
	var b trackBody
	if err := bindJSON(c, &b, trackLike, false); err != nil {
		return err
	}
	if b.Lat == nil || b.Lng == nil {
		return &HTTPError{Code: http.StatusBadRequest, Msg: "a position needs lat and lng; send JSON like " + trackLike, Key: MsgTrackPoint}
	}
	pos, err := s.tasks.AppendTrack(c.Request.Context(), actorOf(p), id, task.TrackPoint{Lat: *b.Lat, Lng: *b.Lng, AccuracyM: b.Accuracy, AtMS: b.At})
	if err != nil {
		return taskError(err)
	}
	s.events.publish("position", mustJSON(s.workerPosition(*pos)), toCenter)
	c.JSON(http.StatusCreated, TrackPosted{Position: *pos})
	return nil
}

// Track is the answer to GET /api/tasks/{id}/track.
type Track struct {
	Task   string            `json:"task"`
	Worker string            `json:"worker"`
	Points []task.TrackPoint `json:"points"` // in the order the phone sent them
}

// getTrack answers GET /api/tasks/{id}/track: the center, and the workers
// who may see the task; never residents.
func (s *Server) getTrack(c *gin.Context) error {
	p := principal(c)
	if !p.SeesAll() && p.Role != RoleWorker {
		return &HTTPError{Code: http.StatusForbidden, Msg: "a task's track is for the center and its grid's workers: residents do not see where workers are", Key: MsgTrackHidden}
	}
	t, err := s.visibleTask(c, c.Param("id"))
	if err != nil {
		return err
	}
	pts, err := s.tasks.Track(c.Request.Context(), t.ID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, Track{Task: t.ID, Worker: t.Worker, Points: pts})
	return nil
}

// WorkerPosition is a worker's last position, with the worker's name.
type WorkerPosition struct {
	task.Position
	Name string `json:"name"`
}

func (s *Server) workerPosition(p task.Position) WorkerPosition {
	name := p.Worker
	if u := s.cfg.User(p.Worker); u != nil {
		name = cmp.Or(u.DisplayName, u.Name)
	}
	return WorkerPosition{Position: p, Name: name}
}

// listPositions answers GET /api/workers/positions (the center): every
// worker's last reported position, the latest first; the wall's map
// follows the `position` events after it.
func (s *Server) listPositions(c *gin.Context) error {
	ps, err := s.tasks.Positions(c.Request.Context())
	if err != nil {
		return err
	}
	out := make([]WorkerPosition, 0, len(ps))
	for _, p := range ps {
		if s.cfg.User(p.Worker) != nil { // a worker taken out of the config leaves the map
			out = append(out, s.workerPosition(p))
		}
	}
	c.JSON(http.StatusOK, gin.H{"positions": out})
	return nil
}
