package api

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"qianliyan/configs"
	"qianliyan/task"
)

// reportBody is the body of POST /api/reports.
type reportBody struct {
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Photo       string         `json:"photo"` // an uploaded photo (POST /api/uploads)
	Location    *task.Location `json:"location"`
	Camera      string         `json:"camera"` // the camera the problem is seen on, if any
}

const (
	reportLike    = `{"title": "垃圾桶倒了", "description": "花巷口的垃圾桶被风吹倒了", "photo": "…", "location": {"lat": 33.52, "lng": 119.14}}`
	maxReportText = 500 // runes of title or description
	// reportTitleRunes is how much of the description becomes the title of
	// a report that has none.
	reportTitleRunes = 30
)

// report answers POST /api/reports: a resident's report (居民上报), or a
// worker's own on patrol. The task's grid is the named camera's, else that
// of the camera nearest to the location; residents may name public cameras
// only.
func (s *Server) report(c *gin.Context) error {
	p := principal(c)
	if p.SeesAll() {
		return Errorf(http.StatusForbidden, "reports are for residents and workers; the center creates tasks with POST /api/tasks")
	}
	var b reportBody
	if err := bindJSON(c, &b, reportLike, false); err != nil {
		return err
	}
	title, desc := strings.TrimSpace(b.Title), strings.TrimSpace(b.Description)
	switch {
	case title == "" && desc == "":
		return Errorf(http.StatusBadRequest, "a report needs words: a title or a description of the problem")
	case utf8.RuneCountInString(title) > maxReportText:
		return Errorf(http.StatusBadRequest, "the title is %d characters long; at most %d are allowed", utf8.RuneCountInString(title), maxReportText)
	case utf8.RuneCountInString(desc) > maxReportText:
		return Errorf(http.StatusBadRequest, "the description is %d characters long; at most %d are allowed", utf8.RuneCountInString(desc), maxReportText)
	}
	if title == "" {
		if line, _, _ := strings.Cut(desc, "\n"); utf8.RuneCountInString(line) <= reportTitleRunes {
			title = line
		} else {
			title = firstRunes(line, reportTitleRunes) + "…"
		}
	}
	n := task.NewTask{Title: title, Description: desc, Photo: b.Photo}
	if b.Location != nil {
		n.Location = *b.Location
	}
	if b.Camera != "" {
		cam := s.cfg.Camera(b.Camera)
		if cam == nil {
			return Errorf(http.StatusBadRequest, "no camera with id %q", b.Camera)
		}
		if !p.MayWatch(cam) {
			return Errorf(http.StatusForbidden, "camera %q is not public: report on a public camera, or give the place (location) instead", cam.ID)
		}
		n.Camera, n.Grid = cam.ID, cam.Grid
		if !known(n.Location) {
			n.Location = task.Location(cam.Location)
		}
	} else if known(n.Location) {
		if cam := s.nearestCamera(n.Location); cam != nil {
			n.Grid = cam.Grid
		}
	}
	if n.Grid == "" {
		return Errorf(http.StatusBadRequest, "say where the problem is: name a camera (camera) or give the place (location with lat and lng)")
	}
	if err := s.checkPhoto(b.Photo); err != nil {
		return err
	}
	t, err := s.tasks.Create(c.Request.Context(), actorOf(p), n)
	if err != nil {
		return taskError(err)
	}
	c.JSON(http.StatusCreated, TaskEnvelope{Task: t})
	return nil
}

func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// known reports whether a location was given (0,0 is in the sea off Africa).
func known(l task.Location) bool { return l.Lat != 0 || l.Lng != 0 }

// nearestCamera is the configured camera with a location nearest to l, or
// nil when no camera has one.
func (s *Server) nearestCamera(l task.Location) *configs.Camera {
	var best *configs.Camera
	bestD := math.Inf(1)
	for i := range s.cfg.Cameras {
		cam := &s.cfg.Cameras[i]
		if cam.Location.Lat == 0 && cam.Location.Lng == 0 {
			continue
		}
		if d := task.DistanceM(l.Lat, l.Lng, cam.Location.Lat, cam.Location.Lng); d < bestD {
			best, bestD = cam, d
		}
	}
	return best
}

// grids lists the configured grids (those of the cameras), sorted.
func (s *Server) grids() []string {
	var out []string
	for _, cam := range s.cfg.Cameras {
		if !slices.Contains(out, cam.Grid) {
			out = append(out, cam.Grid)
		}
	}
	slices.Sort(out)
	return out
}

func (s *Server) knownGrid(g string) bool { return slices.Contains(s.grids(), g) }
