package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/task"
)

// centerZone is the center's local time, Asia/Shanghai. China keeps no
// daylight saving time, so a fixed UTC+8 is exact and needs no zone database.
var centerZone = time.FixedZone("Asia/Shanghai", 8*60*60)

// dayOf is the local day (Asia/Shanghai) that t falls in, as [from, to) in
// Unix milliseconds.
func dayOf(t time.Time) (from, to int64) {
	l := t.In(centerZone)
	start := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, centerZone)
	return start.UnixMilli(), start.AddDate(0, 0, 1).UnixMilli()
}

// stats answers GET /api/stats?from_ms=&to_ms=&grid= (the center): the
// figures of the tasks created in [from_ms, to_ms), in grid when given.
// Without from_ms and to_ms the period is today, the local day in
// Asia/Shanghai (UTC+8) from midnight to midnight; with only one of them the
// other side is open.
func (s *Server) stats(c *gin.Context) error {
	q := task.StatsQuery{Grid: c.Query("grid")}
	var err error
	if q.FromMS, err = parseMS(c, "from_ms"); err != nil {
		return err
	}
	if q.ToMS, err = parseMS(c, "to_ms"); err != nil {
		return err
	}
	if c.Query("from_ms") == "" && c.Query("to_ms") == "" {
		q.FromMS, q.ToMS = dayOf(s.now())
	}
	if q.ToMS > 0 && q.FromMS >= q.ToMS {
		return Errorf(http.StatusBadRequest, "from_ms (%d) must be before to_ms (%d)", q.FromMS, q.ToMS)
	}
	st, err := s.tasks.Stats(c.Request.Context(), q)
	if err != nil {
		return taskError(err)
	}
	c.JSON(http.StatusOK, st)
	return nil
}
