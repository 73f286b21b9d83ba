package api

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"qianliyan/task"
)

// The board's routes (the duty officer's page /board): GET /api/tasks with
// the board's filters and orders, GET /api/tasks/counts, and POST
// /api/tasks/bulk. They are for staff and admins; the store's Board has the
// rules of the filters and orders.

// boardParams are the query parameters that make GET /api/tasks a board
// query; without any of them it answers as before (TaskList).
var boardParams = []string{"states", "kind", "source", "overdue", "q", "sort", "cursor"}

// isBoardQuery reports whether the request asks for the board.
func isBoardQuery(c *gin.Context) bool {
	for _, p := range boardParams {
		if _, ok := c.GetQuery(p); ok {
			return true
		}
	}
	return strings.Contains(c.Query("state"), ",")
}

// boardQuery reads a board query: states (a comma list; state too), grid,
// kind, source, overdue (1 or true), q (the text), sort, limit and cursor.
func (s *Server) boardQuery(c *gin.Context) (task.Query, error) {
	q := task.Query{Grid: c.Query("grid"), Kind: c.Query("kind"), Source: c.Query("source"), Text: c.Query("q"),
		Sort: c.Query("sort"), Cursor: c.Query("cursor"), Names: s.center.CameraName}
	for _, list := range []string{c.Query("states"), c.Query("state")} {
		for v := range strings.SplitSeq(list, ",") {
			if v = strings.TrimSpace(v); v != "" {
				q.States = append(q.States, task.State(v))
			}
		}
	}
	switch v := c.Query("overdue"); v {
	case "", "0", "false":
	case "1", "true":
		q.Overdue = true
	default:
		return q, Errorf(http.StatusBadRequest, "overdue is 1 or 0, not %q", v)
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return q, Errorf(http.StatusBadRequest, "limit must be a number from 1 to 500, not %q", v)
		}
		q.Limit = n
	}
	if grids := s.center.Grids(); q.Grid != "" && !slices.Contains(grids, q.Grid) {
		return q, Errorf(http.StatusBadRequest, "no grid %q; the grids are %s", q.Grid, strings.Join(grids, ", "))
	}
	return q, taskError(task.CheckQuery(&q))
}

// listBoard answers GET /api/tasks with board parameters (task.Board).
func (s *Server) listBoard(c *gin.Context) error {
	if err := needRole(principal(c), RoleStaff, RoleAdmin); err != nil {
		return err
	}
	q, err := s.boardQuery(c)
	if err != nil {
		return err
	}
	b, err := s.tasks.Board(c.Request.Context(), q)
	if err != nil {
		return taskError(err)
	}
	c.JSON(http.StatusOK, b)
	return nil
}

// TaskCounts is the answer to GET /api/tasks/counts: how many tasks match
// the filters, in all and in each state asked for (every state by default).
type TaskCounts struct {
	Total  int                `json:"total"`
	Counts map[task.State]int `json:"counts"`
}

// taskCounts answers GET /api/tasks/counts with the filters of the board.
func (s *Server) taskCounts(c *gin.Context) error {
	q, err := s.boardQuery(c)
	if err != nil {
		return err
	}
	q.Limit, q.Cursor = 1, ""
	b, err := s.tasks.Board(c.Request.Context(), q)
	if err != nil {
		return taskError(err)
	}
	c.JSON(http.StatusOK, TaskCounts{Total: b.Total, Counts: b.Counts})
	return nil
}

// bulkBody is the body of POST /api/tasks/bulk.
type bulkBody struct {
	IDs    []string `json:"ids"`
	Action string   `json:"action"` // reject or merge
	Reason string   `json:"reason"` // reject: false_alarm or duplicate
	Note   string   `json:"note"`
	// Into is the task the others duplicate (merge); default: the oldest of
	// the ids.
	Into string `json:"into"`
	// RequestID makes a retry of the whole bulk safe: each task's
	// transition is made with it.
	RequestID string `json:"request_id"`
}

const bulkLike = `{"ids": ["T…", "T…"], "action": "reject", "reason": "false_alarm", "note": "…"}`

// maxBulk is how many tasks one bulk action takes.
const maxBulk = 100

// BulkResult is what a bulk action did to one task: its state after, or
// the refusal (error, with the status code it would have had alone).
type BulkResult struct {
	ID    string     `json:"id"`
	OK    bool       `json:"ok"`
	State task.State `json:"state,omitempty"`
	Code  int        `json:"code,omitempty"`
	Error string     `json:"error,omitempty"`
	// MsgCode and Params are the refusal as a message the pages translate
	// ("code" in an error body; here code is the status).
	MsgCode string         `json:"msg_code,omitempty"`
	Params  map[string]any `json:"params,omitempty"`
}

// BulkAnswer is the answer to POST /api/tasks/bulk: one result per id, in
// the order given, and how many were done.
type BulkAnswer struct {
	Action  string       `json:"action"`
	Into    string       `json:"into,omitempty"`
	Done    int          `json:"done"`
	Failed  int          `json:"failed"`
	Results []BulkResult `json:"results"`
}

// bulk answers POST /api/tasks/bulk: reject several tasks as false alarms or
// duplicates, or merge several into one (each one's merge transition). Each
// task takes its own normal transition, so one refused does not stop the
// others: the answer says, per id, what happened.
func (s *Server) bulk(c *gin.Context) error {
	p := principal(c)
	if err := needRole(p, RoleStaff, RoleAdmin); err != nil {
		return err
	}
	var b bulkBody
	if err := bindJSON(c, &b, bulkLike, false); err != nil {
		return err
	}
	var ids []string
	for _, id := range b.IDs {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 0:
		return Errorf(http.StatusBadRequest, "ids names no task: give the ids of the tasks to %s", cmp.Or(b.Action, "act on"))
	case len(ids) > maxBulk:
		return Errorf(http.StatusBadRequest, "%d tasks are more than one bulk action takes (%d)", len(ids), maxBulk)
	}
	ctx := c.Request.Context()
	a := actorOf(p)
	req := task.Request{RequestID: b.RequestID, Note: b.Note}
	var act task.Action
	switch b.Action {
	case string(task.Reject):
		act = task.Reject
		if b.Reason != task.RejectFalseAlarm && b.Reason != task.RejectDuplicate {
			return Errorf(http.StatusBadRequest, "reason must be %s or %s to reject, not %q", task.RejectFalseAlarm, task.RejectDuplicate, b.Reason)
		}
		req.Reason = b.Reason
	case string(task.Merge):
		act = task.Merge
		into := strings.TrimSpace(b.Into)
		if into == "" {
			if len(ids) < 2 {
				return Errorf(http.StatusBadRequest, "a merge needs two tasks or more, or the task to merge into (into)")
			}
			// the first report of the problem keeps its history
			into = slices.Min(ids)
		}
		if _, err := s.tasks.Get(ctx, into); err != nil {
			return taskError(err)
		}
		ids = slices.DeleteFunc(ids, func(id string) bool { return id == into })
		if len(ids) == 0 {
			return Errorf(http.StatusBadRequest, "a task cannot be merged into itself: give other tasks than %s", into)
		}
		req.Into = into
	default:
		return Errorf(http.StatusBadRequest, "action must be reject or merge, not %q", b.Action)
	}
	out := BulkAnswer{Action: string(act), Into: req.Into, Results: make([]BulkResult, 0, len(ids))}
	for _, id := range ids {
		r := BulkResult{ID: id}
		t, _, err := s.tasks.Transition(ctx, id, a, act, req)
		if err != nil {
			r.Code, r.Error, r.MsgCode = http.StatusInternalServerError, "the store failed; try again", MsgStoreDown
			if he, ok := taskError(err).(*HTTPError); ok {
				r.Code, r.Error, r.MsgCode, r.Params = he.Code, he.Msg, he.Key, he.Params
			} else {
				s.log.Error("bulk transition", "task", id, "action", act, "err", err)
			}
			out.Failed++
		} else {
			r.OK, r.State = true, t.State
			out.Done++
		}
		out.Results = append(out.Results, r)
	}
	c.JSON(http.StatusOK, out)
	return nil
}
