package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"qianliyan/task"
)

// Worker is a grid worker (网格员) as the center sees one when dispatching.
type Worker struct {
	User      string   `json:"user"`
	Name      string   `json:"name"`
	Grids     []string `json:"grids"`
	Phone     string   `json:"phone"`
	OpenTasks int      `json:"open_tasks"` // tasks dispatched to the worker and not yet closed
}

// listWorkers answers GET /api/workers?grid= (the center): the configured
// workers, of one grid when it is given, with how many open tasks each has.
func (s *Server) listWorkers(c *gin.Context) error {
	grid := c.Query("grid")
	if grids := s.center.Grids(); grid != "" && !slices.Contains(grids, grid) {
		return Coded(http.StatusBadRequest, MsgNoGrid, map[string]any{"grid": grid, "grids": strings.Join(grids, ", ")}, "no grid %q; the grids are %s", grid, strings.Join(grids, ", "))
	}
	out := []Worker{}
	for _, u := range s.cfg.Users {
		if u.Role != RoleWorker || grid != "" && !slices.Contains(u.Grids, grid) {
			continue
		}
		n, err := s.openTasks(c.Request.Context(), u.Name)
		if err != nil {
			return taskError(err)
		}
		out = append(out, Worker{User: u.Name, Name: cmp.Or(u.DisplayName, u.Name), Grids: slices.Clone(u.Grids), Phone: u.Phone, OpenTasks: n})
	}
	c.JSON(http.StatusOK, gin.H{"workers": out})
	return nil
}

// openTasks counts the tasks dispatched to worker in a state after
// dispatch and before closing. Each state's index is small next to a
// worker's history, so the store walks those.
func (s *Server) openTasks(ctx context.Context, worker string) (int, error) {
	n := 0
	for _, st := range []task.State{task.Dispatched, task.Claimed, task.Arrived, task.Submitted, task.Verified} {
		_, total, err := s.tasks.List(ctx, task.Filter{Worker: worker, State: st, Limit: 1})
		if err != nil {
			return 0, err
		}
		n += total
	}
	return n, nil
}
