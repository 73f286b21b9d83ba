package api

import (
	"cmp"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/task"
)

// maxStatsDays is the longest period the statistics cover: a year, leap
// day included.
const maxStatsDays = 366

// StatsRange is the period of the figures, in the center's days: From and
// To are the first and the last day (YYYY-MM-DD, both included); Name is
// today, 7d, 30d, custom, or ms when the period came as from_ms and to_ms.
type StatsRange struct {
	Name     string `json:"name"`
	From     string `json:"from"`
	To       string `json:"to"`
	Days     int    `json:"days"`
	TimeZone string `json:"time_zone"`
}

// StatsResponse is GET /api/stats: the figures (task.Stats), the period,
// and the definitions of the figures in zh-CN and English.
type StatsResponse struct {
	task.Stats
	Range       StatsRange        `json:"range"`
	Definitions []task.Definition `json:"definitions"`
}

// statsQuery reads the period and the grid of GET /api/stats and of its
// export:
//
//	range=today (the default) | 7d | 30d (today and the days before)
//	range=custom&from=YYYY-MM-DD&to=YYYY-MM-DD (both days included; from
//	  and to alone mean custom)
//	from_ms=&to_ms= (Unix ms, [from_ms, to_ms); the first API's form)
//
// Days are the center's (server.time_zone); a period is at most
// maxStatsDays days long.
func (s *Server) statsQuery(c *gin.Context) (task.StatsQuery, StatsRange, error) {
	zone := s.cfg.Server.Location()
	q := task.StatsQuery{Grid: c.Query("grid"), Zone: zone}
	r := StatsRange{Name: c.Query("range"), TimeZone: zone.String()}
	if c.Query("from_ms") != "" || c.Query("to_ms") != "" {
		var err error
		if q.FromMS, err = parseMS(c, "from_ms"); err != nil {
			return q, r, err
		}
		if q.ToMS, err = parseMS(c, "to_ms"); err != nil {
			return q, r, err
		}
		if q.ToMS > 0 && q.FromMS >= q.ToMS {
			return q, r, Errorf(http.StatusBadRequest, "from_ms (%d) must be before to_ms (%d)", q.FromMS, q.ToMS)
		}
		r.Name = "ms"
		if q.FromMS > 0 {
			r.From = time.UnixMilli(q.FromMS).In(zone).Format(time.DateOnly)
		}
		if q.ToMS > 0 {
			r.To = time.UnixMilli(q.ToMS - 1).In(zone).Format(time.DateOnly)
		}
		return q, r, nil
	}
	now := s.now().In(zone)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone)
	var first, last time.Time
	if r.Name == "" && (c.Query("from") != "" || c.Query("to") != "") {
		r.Name = "custom"
	}
	switch r.Name {
	case "", "today":
		r.Name, first, last = "today", today, today
	case "7d":
		first, last = today.AddDate(0, 0, -6), today
	case "30d":
		first, last = today.AddDate(0, 0, -29), today
	case "custom":
		var err error
		if first, err = parseDay(c, "from", zone); err != nil {
			return q, r, err
		}
		if last, err = parseDay(c, "to", zone); err != nil {
			return q, r, err
		}
		if first.After(last) {
			return q, r, Errorf(http.StatusBadRequest, "from (%s) is after to (%s): the period starts on from and ends on to",
				first.Format(time.DateOnly), last.Format(time.DateOnly))
		}
	default:
		return q, r, Errorf(http.StatusBadRequest, "range %q is not one of today, 7d, 30d, custom", r.Name)
	}
	end := last.AddDate(0, 0, 1)
	// days by the calendar: a day with a clock change is still one day
	r.Days = int(time.Date(end.Year(), end.Month(), end.Day(), 12, 0, 0, 0, time.UTC).Sub(
		time.Date(first.Year(), first.Month(), first.Day(), 12, 0, 0, 0, time.UTC)).Hours() / 24)
	if r.Days > maxStatsDays {
		return q, r, Errorf(http.StatusBadRequest, "the period from %s to %s is %d days long; at most %d days are allowed",
			first.Format(time.DateOnly), last.Format(time.DateOnly), r.Days, maxStatsDays)
	}
	r.From, r.To = first.Format(time.DateOnly), last.Format(time.DateOnly)
	q.FromMS, q.ToMS = first.UnixMilli(), end.UnixMilli()
	return q, r, nil
}

// parseDay reads the date in the query parameter name as the start of that
// day in zone.
func parseDay(c *gin.Context, name string, zone *time.Location) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, Errorf(http.StatusBadRequest, "a custom period needs %s, a date like 2026-11-30", name)
	}
	d, err := time.ParseInLocation(time.DateOnly, v, zone)
	if err != nil || d.Year() < 2000 || d.Year() > 9999 {
		return time.Time{}, Errorf(http.StatusBadRequest, "%s is %q: a date is written YYYY-MM-DD, like 2026-11-30", name, v)
	}
	return d, nil
}

// statsOf computes the figures of the period and grid of the request, with
// the workers' display names.
func (s *Server) statsOf(c *gin.Context) (StatsResponse, error) {
	q, r, err := s.statsQuery(c)
	if err != nil {
		return StatsResponse{}, err
	}
	st, err := s.tasks.Stats(c.Request.Context(), q)
	if err != nil {
		return StatsResponse{}, taskError(err)
	}
	names := map[string]string{}
	for _, u := range s.cfg.Users {
		names[u.Name] = cmp.Or(u.DisplayName, u.Name)
	}
	for i := range st.ByWorker {
		st.ByWorker[i].Name = names[st.ByWorker[i].Key]
	}
	return StatsResponse{Stats: st, Range: r, Definitions: task.Definitions}, nil
}

// stats answers GET /api/stats (the center): the figures of the tasks
// created in the period (statsQuery), in grid when given: the summary with
// its definitions, per grid, per worker, per kind, the times per stage and
// the daily trend.
func (s *Server) stats(c *gin.Context) error {
	st, err := s.statsOf(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}
