package api

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"qianliyan/task"
)

// The task routes: the closed loop of work orders (工单) over HTTP. Who sees
// which task and what of it is task.Center's rule (MayView, ListFilter,
// Redact); a task the caller may not see answers 404 like one that does not
// exist, so ids cannot be probed. Every task route needs a token (401
// without).

// TaskList is the answer to GET /api/tasks: a page of tasks, newest first,
// and how many match in all.
type TaskList struct {
	Tasks []*task.Task `json:"tasks"`
	Total int          `json:"total"`
}

// TaskDetail is the answer to GET /api/tasks/{id}: the task, its whole
// timeline, its ratings, and the transitions the caller may make now.
type TaskDetail struct {
	Task     *task.Task    `json:"task"`
	Timeline []task.Entry  `json:"timeline"`
	Ratings  []task.Rating `json:"ratings"`
	Allowed  []string      `json:"allowed"`
}

// TaskChange is the answer to a transition or a rating: the task after it
// and the new timeline entry.
type TaskChange struct {
	Task  *task.Task  `json:"task"`
	Entry *task.Entry `json:"entry"`
}

// TaskEnvelope is the answer to creating a task or a report.
type TaskEnvelope struct {
	Task *task.Task `json:"task"`
}

// taskGate goes before every task route: the bridge must have a task
// store, and the caller must be someone, since tasks and reports are tied to
// who makes them.
func (s *Server) taskGate(c *gin.Context) error {
	if s.tasks == nil {
		return Coded(http.StatusServiceUnavailable, MsgNoTasks, nil, "tasks are not available: this bridge was started without a task store")
	}
	return identified(principal(c))
}

// identified refuses anonymous callers.
func identified(p Principal) error {
	if p.Anonymous() {
		return Coded(http.StatusUnauthorized, MsgTokenNeeded, nil, "this needs a token: log in (POST /api/login), or get a resident's device token (POST /api/device), and send it as Authorization: Bearer <token>")
	}
	return nil
}

// actorOf is the task package's view of who makes a request.
func actorOf(p Principal) task.Actor {
	return task.Actor{ID: p.ID, Role: task.Role(p.Role), Grids: p.Grids}
}

// taskError gives the task package's refusals their status codes; the
// message is the refusal's own sentence. Other errors stay 500s.
func taskError(err error) error {
	var te *task.TransitionError
	if errors.As(err, &te) {
		return &HTTPError{Code: http.StatusConflict, Msg: te.Error(), Fields: map[string]any{"allowed": actionNames(te.Allowed)},
			Key: task.MsgTransition, Params: map[string]any{"action": te.Action, "state": te.State, "allowed": actionNames(te.Allowed)}}
	}
	for _, k := range []struct {
		kind error
		code int
	}{
		{task.ErrNotFound, http.StatusNotFound},
		{task.ErrInvalid, http.StatusBadRequest},
		{task.ErrForbidden, http.StatusForbidden},
		{task.ErrConflict, http.StatusConflict},
		{task.ErrNotReplicated, http.StatusServiceUnavailable},
	} {
		if errors.Is(err, k.kind) {
			he := &HTTPError{Code: k.code, Msg: err.Error()}
			if re := (*task.Error)(nil); errors.As(err, &re) {
				he.Key, he.Params = re.Code, re.Params
			}
			return he
		}
	}
	return err
}

func actionNames(as []task.Action) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, string(a))
	}
	return out
}

func noTask(id string) error {
	return Coded(http.StatusNotFound, task.MsgNotFound, map[string]any{"id": id}, "no task %q", id)
}

// visibleTask reads task id if the caller may see it; else 404.
func (s *Server) visibleTask(c *gin.Context, id string) (*task.Task, error) {
	t, err := s.tasks.Get(c.Request.Context(), id)
	if err != nil {
		return nil, taskError(err)
	}
	if !s.center.MayView(actorOf(principal(c)), t) {
		return nil, noTask(id)
	}
	return t, nil
}

// parseMS reads a query parameter in Unix milliseconds (0 when absent).
func parseMS(c *gin.Context, name string) (int64, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, Errorf(http.StatusBadRequest, "%s must be a time in Unix milliseconds, not %q", name, v)
	}
	return n, nil
}

// taskFilter reads the query of GET /api/tasks.
func taskFilter(c *gin.Context) (task.Filter, error) {
	f := task.Filter{State: task.State(c.Query("state")), Grid: c.Query("grid"), Worker: c.Query("worker"), Camera: c.Query("camera"), Limit: 50}
	if f.State != "" && !slices.Contains(task.States, f.State) {
		names := make([]string, len(task.States))
		for i, st := range task.States {
			names[i] = string(st)
		}
		return f, Errorf(http.StatusBadRequest, "state %q is not one of %s", f.State, strings.Join(names, ", "))
	}
	var err error
	if f.FromMS, err = parseMS(c, "from_ms"); err != nil {
		return f, err
	}
	if f.ToMS, err = parseMS(c, "to_ms"); err != nil {
		return f, err
	}
	if f.ToMS > 0 && f.FromMS >= f.ToMS {
		return f, Errorf(http.StatusBadRequest, "from_ms (%d) must be before to_ms (%d)", f.FromMS, f.ToMS)
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return f, Errorf(http.StatusBadRequest, "limit must be a number from 1 to 500, not %q", v)
		}
		f.Limit = n
	}
	if v := c.Query("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100000 {
			return f, Errorf(http.StatusBadRequest, "offset must be a number from 0 to 100000, not %q", v)
		}
		f.Offset = n
	}
	return f, nil
}

// listTasks answers GET /api/tasks?state=&grid=&worker=&camera=&mine=1&from_ms=&to_ms=&limit=&offset=
// with the tasks the caller may see, newest first. mine=1 is, for a worker,
// the tasks dispatched to the worker; for anyone else, the tasks the caller
// reported. A worker naming a grid that is not theirs gets 403.
//
// With a board parameter (states, kind, source, overdue, q, sort, cursor),
// it is the board's query instead, for staff and admins (see listBoard).
func (s *Server) listTasks(c *gin.Context) error {
	if isBoardQuery(c) {
		return s.listBoard(c)
	}
	p := principal(c)
	f, err := taskFilter(c)
	if err != nil {
		return err
	}
	mine := c.Query("mine") == "1" || c.Query("mine") == "true"
	a := actorOf(p)
	f, none, err := s.center.ListFilter(a, f, mine)
	if err != nil {
		return taskError(err)
	}
	if none {
		c.JSON(http.StatusOK, TaskList{Tasks: []*task.Task{}})
		return nil
	}
	ts, total, err := s.tasks.List(c.Request.Context(), f)
	if err != nil {
		return taskError(err)
	}
	for i := range ts {
		ts[i] = s.center.Redact(a, ts[i])
	}
	c.JSON(http.StatusOK, TaskList{Tasks: ts, Total: total})
	return nil
}

// getTask answers GET /api/tasks/{id}.
func (s *Server) getTask(c *gin.Context) error {
	p := principal(c)
	t, err := s.visibleTask(c, c.Param("id"))
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	timeline, err := s.tasks.Timeline(ctx, t.ID)
	if err != nil {
		return taskError(err)
	}
	ratings, err := s.tasks.Ratings(ctx, t.ID)
	if err != nil {
		return taskError(err)
	}
	a := actorOf(p)
	s.center.RedactDetail(a, t, timeline, ratings)
	c.JSON(http.StatusOK, TaskDetail{Task: s.center.Redact(a, t), Timeline: timeline, Ratings: ratings, Allowed: actionNames(t.Allowed(a))})
	return nil
}

// createBody is the body of POST /api/tasks.
type createBody struct {
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Camera      string         `json:"camera"`
	Zone        string         `json:"zone"`
	Grid        string         `json:"grid"`
	Location    *task.Location `json:"location"`
	Photo       string         `json:"photo"`
	// Accept accepts the task at once (核单) instead of leaving it reported.
	Accept bool `json:"accept"`
}

const createLike = `{"title": "垃圾桶倒了", "camera": "cam1", "zone": "垃圾桶", "accept": true}`

// createTask answers POST /api/tasks (the center): a task entered by hand.
// The grid defaults to the camera's, else to the grid of the camera nearest
// to the location; the location defaults to the camera's.
func (s *Server) createTask(c *gin.Context) error {
	var b createBody
	if err := bindJSON(c, &b, createLike, false); err != nil {
		return err
	}
	n := task.NewTask{Title: b.Title, Description: b.Description, Camera: b.Camera, Zone: b.Zone, Grid: b.Grid, Photo: b.Photo, Accept: b.Accept}
	if b.Location != nil {
		n.Location = *b.Location
	}
	if err := s.center.Place(&n); err != nil {
		return taskError(err)
	}
	if err := s.checkPhoto(c, b.Photo); err != nil {
		return err
	}
	t, err := s.tasks.Create(c.Request.Context(), actorOf(principal(c)), n)
	if err != nil {
		return taskError(err)
	}
	s.linkPhoto(c.Request.Context(), b.Photo, t.ID)
	c.JSON(http.StatusCreated, TaskEnvelope{Task: t})
	return nil
}

// transitionBody is the body of POST /api/tasks/{id}/{action}; what each
// action needs is in task.Store.Transition.
type transitionBody struct {
	// RequestID makes retries safe: the same id gives the first answer
	// again. Absent: the Idempotency-Key header, else one made up.
	RequestID string        `json:"request_id"`
	Worker    string        `json:"worker"` // dispatch: to whom
	Grid      string        `json:"grid"`   // dispatch: in which grid (default: the task's)
	Note      string        `json:"note"`   // a reason (required to reject without reason), a remark
	Reason    string        `json:"reason"` // reject: false_alarm or duplicate
	Into      string        `json:"into"`   // merge: the task this one duplicates
	Evidence  *evidenceBody `json:"evidence"`
}

// evidenceBody is what a person may bring to a step; the camera's verdicts
// come from detection, not from here.
type evidenceBody struct {
	Photo    string   `json:"photo"`    // an uploaded photo (POST /api/uploads)
	Snapshot string   `json:"snapshot"` // a detection snapshot's name
	GPS      *gpsBody `json:"gps"`
}

// gpsBody is a phone's position fix.
type gpsBody struct {
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	AccuracyM float64 `json:"accuracy_m"`
}

const transitionLike = `{"request_id": "a1b2", "note": "…", "evidence": {"photo": "…", "gps": {"lat": 33.52, "lng": 119.14, "accuracy_m": 8}}}`

// transition answers POST /api/tasks/{id}/{action}.
func (s *Server) transition(c *gin.Context) error {
	p := principal(c)
	act := task.Action(c.Param("action"))
	if _, ok := task.Rules[act]; !ok {
		return Errorf(http.StatusNotFound, "no action %q on tasks; the actions are %s, and rating", act, strings.Join(actionNames(task.Actions), ", "))
	}
	id := c.Param("id")
	var b transitionBody
	if err := bindJSON(c, &b, transitionLike, true); err != nil {
		return err
	}
	req := task.Request{RequestID: cmp.Or(b.RequestID, c.GetHeader("Idempotency-Key")), Worker: b.Worker, Grid: b.Grid, Note: b.Note, Into: b.Into, Reason: b.Reason}
	if req.RequestID == "" {
		req.RequestID = newRequestID()
	}
	var seen *task.Task
	if !p.SeesAll() || act == task.Dispatch {
		t, err := s.visibleTask(c, id)
		if err != nil {
			return err
		}
		seen = t
		if act == task.Dispatch && p.SeesAll() {
			if err := s.center.CheckDispatch(b.Worker, cmp.Or(b.Grid, t.Grid)); err != nil {
				return taskError(err)
			}
		}
	}
	if e := b.Evidence; e != nil {
		if err := s.checkPhoto(c, e.Photo); err != nil {
			return err
		}
		if e.Snapshot != "" && !snapshotName.MatchString(e.Snapshot) {
			return Errorf(http.StatusBadRequest, "snapshot %q is not the name of a detection snapshot", e.Snapshot)
		}
		req.Evidence = &task.Evidence{Photo: e.Photo, Snapshot: e.Snapshot}
		if e.GPS != nil {
			req.Evidence.GPS = &task.GPS{Lat: e.GPS.Lat, Lng: e.GPS.Lng, AccuracyM: e.GPS.AccuracyM}
		}
		// The camera's video of the worker's submission, in the same entry.
		if act == task.Submit && e.Photo != "" && seen != nil && seen.State == task.Arrived {
			req.Evidence.Clip = s.clipFor(c.Request.Context(), seen, "submit")
		}
	}
	t, entry, err := s.tasks.Transition(c.Request.Context(), id, actorOf(p), act, req)
	if err != nil {
		return taskError(err)
	}
	if req.Evidence != nil {
		s.linkPhoto(c.Request.Context(), req.Evidence.Photo, t.ID)
	}
	c.JSON(http.StatusOK, TaskChange{Task: s.center.Redact(actorOf(p), t), Entry: s.center.RedactEntry(actorOf(p), t, entry)})
	return nil
}

// newRequestID names a request the client did not name: a retry of it is
// not recognised, but its result is kept like any other.
func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "srv-" + hex.EncodeToString(b)
}

// rateBody is the body of POST /api/tasks/{id}/rating.
type rateBody struct {
	Stars   int    `json:"stars"` // 1 to 5
	Comment string `json:"comment"`
}

// rate answers POST /api/tasks/{id}/rating: the reporter's rating of their
// closed task, or the center's follow-up (回访) on the reporter's behalf
// (task.Store.Rate has the rules).
func (s *Server) rate(c *gin.Context) error {
	p := principal(c)
	if err := needRole(p, RoleResident, RoleStaff, RoleAdmin); err != nil {
		return err
	}
	id := c.Param("id")
	if _, err := s.visibleTask(c, id); err != nil {
		return err
	}
	var b rateBody
	if err := bindJSON(c, &b, `{"stars": 5, "comment": "处理得很快"}`, false); err != nil {
		return err
	}
	t, e, err := s.tasks.Rate(c.Request.Context(), id, actorOf(p), b.Stars, b.Comment)
	if err != nil {
		return taskError(err)
	}
	c.JSON(http.StatusCreated, TaskChange{Task: s.center.Redact(actorOf(p), t), Entry: s.center.RedactEntry(actorOf(p), t, e)})
	return nil
}
