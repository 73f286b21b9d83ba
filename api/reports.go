package api

import (
	"fmt"
	"math"
	"net/http"
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
	reportLike = `{"title": "垃圾桶倒了", "description": "花巷口的垃圾桶被风吹倒了", "photo": "…", "location": {"lat": 33.52, "lng": 119.14}}`
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
		return Coded(http.StatusForbidden, MsgReportsForWho, nil, "reports are for residents and workers; the center creates tasks with POST /api/tasks")
	}
	if p.Role == RoleResident {
		if err := s.limit(c, reportLimit, clientAddr(c), "too many reports from your address"); err != nil {
			return err
		}
	}
	var b reportBody
	if err := bindJSON(c, &b, reportLike, false); err != nil {
		return err
	}
	title, desc := strings.TrimSpace(b.Title), strings.TrimSpace(b.Description)
	switch {
	case title == "" && desc == "":
		return Coded(http.StatusBadRequest, MsgReportWords, nil, "a report needs words: a title or a description of the problem")
	case utf8.RuneCountInString(title) > task.MaxTitle:
		return Coded(http.StatusBadRequest, task.MsgTitleTooLong, map[string]any{"n": utf8.RuneCountInString(title), "max": task.MaxTitle},
			"the title is %d characters long; at most %d are allowed", utf8.RuneCountInString(title), task.MaxTitle)
	case utf8.RuneCountInString(desc) > task.MaxReport:
		return Coded(http.StatusBadRequest, MsgReportTooLong, map[string]any{"n": utf8.RuneCountInString(desc), "max": task.MaxReport},
			"the description is %d characters long; at most %d are allowed", utf8.RuneCountInString(desc), task.MaxReport)
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
			return Coded(http.StatusBadRequest, MsgNoCamera, map[string]any{"camera": b.Camera}, "no camera with id %q", b.Camera)
		}
		if !p.MayWatch(cam) {
			return Coded(http.StatusForbidden, MsgCameraPrivate, map[string]any{"camera": cam.ID}, "camera %q is not public: report on a public camera, or give the place (location) instead", cam.ID)
		}
		n.Camera = cam.ID
		if err := s.checkNearby(p, cam, b.Location); err != nil {
			return err
		}
	}
	if err := s.center.Place(&n); err != nil {
		return taskError(err)
	}
	if n.Grid == "" {
		return Coded(http.StatusBadRequest, MsgReportWhere, nil, "say where the problem is: name a camera (camera) or give the place (location with lat and lng)")
	}
	if err := s.checkPhoto(c, b.Photo); err != nil {
		return err
	}
	t, err := s.tasks.Create(c.Request.Context(), actorOf(p), n)
	if err != nil {
		return taskError(err)
	}
	s.linkPhoto(c.Request.Context(), b.Photo, t.ID)
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

// checkNearby refuses (400) a "nearby camera" farther than map.nearby_m
// from the place the report gives: the task would go to that camera's grid
// and show its street. The answer lists the nearest cameras the caller may
// name, in "nearest" ({id, name, distance_m}). A report without a place,
// or a camera without one, is not checked.
func (s *Server) checkNearby(p Principal, cam *configs.Camera, l *task.Location) error {
	if l == nil || l.Lat == 0 && l.Lng == 0 || cam.Location.Lat == 0 && cam.Location.Lng == 0 {
		return nil
	}
	limit := s.cfg.Map.NearbyM
	d := task.DistanceM(l.Lat, l.Lng, cam.Location.Lat, cam.Location.Lng)
	if d <= limit {
		return nil
	}
	nearest := s.center.NearestCameras(*l, 3, p.MayWatch)
	return &HTTPError{Code: http.StatusBadRequest,
		Msg: fmt.Sprintf("camera %s (%s) is %s from the place of the report; a nearby camera must be within %s of it: choose one of the nearest cameras, or leave the camera out",
			cam.ID, cam.Name, metres(d), metres(limit)),
		Fields: map[string]any{"nearest": nearest, "distance_m": math.Round(d)},
		Key:    MsgCameraFar, Params: map[string]any{"camera": cam.ID, "name": cam.Name, "distance_m": math.Round(d), "limit_m": limit}}
}

// metres gives a distance in words: "820 m", "2.7 km".
func metres(d float64) string {
	if d < 1000 {
		return fmt.Sprintf("%.0f m", d)
	}
	return fmt.Sprintf("%.1f km", d/1000)
}
