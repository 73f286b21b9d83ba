// Package task keeps the work orders (工单) of the grid-governance center:
// their states and the transitions between them, who may make each one, the
// append-only timeline of every step (全程留痕), the time limits of each
// stage, the camera's confirmation of arrival and of the fix, ratings (评单)
// and the center's statistics, all stored in Redis.
//
// A task goes
//
//	reported → accepted (核单) → dispatched (派单) → claimed (签收) → arrived
//	→ submitted (交单) → verified (核查) → closed (结案)
//
// or from reported or accepted to rejected (a false alarm or a duplicate).
// Staff may dispatch again to another worker or grid before the worker has
// submitted, and send a submitted or verified task back to its worker
// (rework). Rules lists every move, who may make it and from where; Store
// applies them atomically, so of two conflicting moves exactly one wins.
//
// Errors wrap one of ErrNotFound, ErrInvalid, ErrForbidden and ErrConflict,
// which the HTTP side turns into 404, 400, 403 and 409; their text is a
// sentence a person can read.
package task

import (
	"crypto/rand"
	"encoding/base32"
	"strconv"
	"strings"
	"time"

	"qianliyan/configs"
)

// State is where a task is in its life.
type State string

// The states, in the order a task normally passes them.
const (
	Reported   State = "reported"   // someone or a camera reported it
	Accepted   State = "accepted"   // the center took it on (核单)
	Rejected   State = "rejected"   // a false alarm or a duplicate; final
	Dispatched State = "dispatched" // given to a worker of a grid (派单)
	Claimed    State = "claimed"    // the worker signed for it (签收)
	Arrived    State = "arrived"    // the worker is there (by GPS, or seen on camera)
	Submitted  State = "submitted"  // the worker says it is fixed (交单)
	Verified   State = "verified"   // the center checked the fix (核查)
	Closed     State = "closed"     // done (结案); residents may rate it
)

// States lists every state in flow order.
var States = []State{Reported, Accepted, Rejected, Dispatched, Claimed, Arrived, Submitted, Verified, Closed}

// Open reports whether a task in state s still waits for someone.
func (s State) Open() bool { return s != Rejected && s != Closed }

// Action is what someone does to a task. The transitions change its state;
// Create, Overdue, Propose and Rate only add to its timeline.
type Action string

// The transitions; Rules says from where and by whom.
const (
	Accept   Action = "accept"
	Reject   Action = "reject"
	Dispatch Action = "dispatch"
	Claim    Action = "claim"
	Arrive   Action = "arrive"
	Submit   Action = "submit"
	Verify   Action = "verify"
	Rework   Action = "rework"
	Close    Action = "close"
	// Merge marks a task as a duplicate of another (Request.Into): it is
	// rejected, and the other's timeline says so (Join).
	Merge Action = "merge"
)

// The timeline entries that are not transitions.
const (
	Create  Action = "create"  // the task was reported
	Overdue Action = "overdue" // a stage went past its time limit (Entry.Stage says which)
	Propose Action = "propose" // the camera saw the zone look normal again: verification proposed
	Rate    Action = "rate"    // someone rated the closed task
	Recur   Action = "recur"   // the same problem (camera, zone, kind) came back while the task is open
	Reopen  Action = "reopen"  // the same problem came back within tasks.reopen_within of the close
	Join    Action = "join"    // another task was merged into this one as its duplicate (Entry.Other)
)

// Role is what an actor is to the center.
type Role string

// The roles: configs.Roles, and the system.
const (
	Admin    Role = configs.RoleAdmin
	Staff    Role = configs.RoleStaff    // center staff (值班人员)
	Worker   Role = configs.RoleWorker   // grid worker (网格员)
	Resident Role = configs.RoleResident // creates reports and rates, never moves a task
	System   Role = "system"             // the bridge itself: cameras, auto-accept, time limits
)

// Actor is who does something: a logged-in person, or the system. Grids are a
// worker's grids; a worker acts only on tasks of those grids assigned to them.
type Actor struct {
	ID    string
	Role  Role
	Grids []string
}

// CameraActor is the system acting on what camera id saw; its entries have
// the source "camera".
func CameraActor(camera string) Actor { return Actor{ID: "camera:" + camera, Role: System} }

// SystemActor is the bridge acting on its own rules (auto-accept, time limits).
func SystemActor() Actor { return Actor{ID: "system", Role: System} }

// Where a task came from (Task.Source).
const (
	FromIncident = "incident" // raised by detection on a camera
	FromResident = "resident" // a resident's report
	FromPatrol   = "patrol"   // a grid worker's own report while on patrol
	FromStaff    = "staff"    // entered by center staff
)

// Who confirmed a step (Entry.Source).
const (
	ByPerson = "person"
	ByCamera = "camera"
	BySystem = "system"
)

// Location is a place on the map.
type Location struct {
	Lat     float64 `json:"lat"`
	Lng     float64 `json:"lng"`
	Address string  `json:"address,omitempty"`
}

// known reports whether the location was given (0,0 is in the sea off Africa).
func (l Location) known() bool { return l.Lat != 0 || l.Lng != 0 }

// GPS is a phone's position fix.
type GPS struct {
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	AccuracyM float64 `json:"accuracy_m,omitempty"`
	// DistanceM is set by the store: how far the fix is from the task's place.
	DistanceM float64 `json:"distance_m,omitempty"`
}

// Evidence backs a step: what a camera or a phone saw. Snapshot, Photo,
// Before and After are paths or URLs of JPEG pictures.
type Evidence struct {
	Snapshot string `json:"snapshot,omitempty"` // a camera's picture of the moment
	Photo    string `json:"photo,omitempty"`    // the worker's photo
	GPS      *GPS   `json:"gps,omitempty"`
	Verdict  string `json:"verdict,omitempty"` // the analyzer's words, e.g. "zone matches its reference for 10s"
	Before   string `json:"before,omitempty"`  // verification: the zone when the task began
	After    string `json:"after,omitempty"`   // verification: the zone now
	Clip     *Clip  `json:"clip,omitempty"`    // the camera's video around the step

	// VerdictCode and VerdictParams are the verdict as a message the pages
	// translate (see Message).
	VerdictCode   string         `json:"verdict_code,omitempty"`
	VerdictParams map[string]any `json:"verdict_params,omitempty"`
}

// Clip names a piece of a camera's recording kept as evidence of a step
// (package record cuts it once its end has passed; GET /api/clips/{id}.mp4
// serves it, and GET /api/clips/{id} says whether it is ready yet).
type Clip struct {
	ID      string `json:"id"`
	Camera  string `json:"camera"`
	StartMS int64  `json:"start_ms"` // what was asked: the moment less record.before
	EndMS   int64  `json:"end_ms"`   // and plus record.after
}

func (e *Evidence) empty() bool {
	return e == nil || e.Snapshot == "" && e.Photo == "" && e.GPS == nil && e.Verdict == "" && e.VerdictCode == "" &&
		e.Before == "" && e.After == "" && e.Clip == nil
}

// Proposal is the camera's word that the fix looks done: the zone matched its
// reference for the hold time. Staff verify with one click; the proposal is
// dropped when the task goes back for rework.
type Proposal struct {
	AtMS    int64  `json:"at_ms"`
	State   State  `json:"state"` // the task's state when it was made
	Camera  string `json:"camera"`
	Verdict string `json:"verdict,omitempty"`
	Before  string `json:"before,omitempty"`
	After   string `json:"after,omitempty"`

	// VerdictCode and VerdictParams: the verdict as a message (Message).
	VerdictCode   string         `json:"verdict_code,omitempty"`
	VerdictParams map[string]any `json:"verdict_params,omitempty"`
}

// RatingSummary sums up the ratings of a task.
type RatingSummary struct {
	Count int     `json:"count"`
	Stars int     `json:"stars"` // sum of the stars given
	Good  int     `json:"good"`  // ratings of 4 or 5 stars
	Mean  float64 `json:"mean"`
}

// Task is one work order.
type Task struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Source      string   `json:"source"`         // FromIncident, FromResident, FromPatrol or FromStaff
	Kind        string   `json:"kind,omitempty"` // the incident's kind, for tasks from incidents
	IncidentID  string   `json:"incident_id,omitempty"`
	Camera      string   `json:"camera,omitempty"`
	Zone        string   `json:"zone,omitempty"`
	Grid        string   `json:"grid,omitempty"`
	Location    Location `json:"location"`
	Reporter    string   `json:"reporter"` // user or device id of whoever reported it
	Photo       string   `json:"photo,omitempty"`
	State       State    `json:"state"`
	Worker      string   `json:"worker,omitempty"` // the worker it is dispatched to
	CreatedMS   int64    `json:"created_ms"`
	UpdatedMS   int64    `json:"updated_ms"`
	StateMS     int64    `json:"state_ms"` // when it entered its current state
	// Since is when the task first entered each state it has been in.
	Since map[State]int64 `json:"since"`
	// OverdueMS is when each stage went past its limit, the last time it did.
	OverdueMS map[Stage]int64 `json:"overdue_ms,omitempty"`
	Proposal  *Proposal       `json:"proposal,omitempty"`
	Ratings   RatingSummary   `json:"ratings"`
	Entries   int             `json:"entries"` // how many timeline entries it has
	// Repeats is how many times its problem came back (recur, reopen).
	Repeats int `json:"repeats,omitempty"`
	// DuplicateOf is the task this one was merged into.
	DuplicateOf string `json:"duplicate_of,omitempty"`
	// DescriptionCode and DescriptionParams are a description the bridge
	// wrote (a task from an incident), as a message (see Message).
	DescriptionCode   string         `json:"description_code,omitempty"`
	DescriptionParams map[string]any `json:"description_params,omitempty"`
}

// Entry is one line of a task's timeline. The timeline only grows.
type Entry struct {
	Seq       int       `json:"seq"` // 1 for the first entry of the task, then 2, 3...
	AtMS      int64     `json:"at_ms"`
	Action    Action    `json:"action"`
	From      State     `json:"from,omitempty"`
	To        State     `json:"to"`
	By        string    `json:"by"` // the actor's id
	Role      Role      `json:"role"`
	Source    string    `json:"source"`           // ByPerson, ByCamera or BySystem
	Worker    string    `json:"worker,omitempty"` // dispatch: to whom
	Grid      string    `json:"grid,omitempty"`   // dispatch: in which grid
	Stage     Stage     `json:"stage,omitempty"`  // overdue: which stage
	Stars     int       `json:"stars,omitempty"`  // rate
	Note      string    `json:"note,omitempty"`   // a reason, a comment, or what the system did
	Evidence  *Evidence `json:"evidence,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	Incident  string    `json:"incident,omitempty"` // create, recur, reopen: the incident
	Other     string    `json:"other,omitempty"`    // merge: the task merged into; join: the duplicate
	Reason    string    `json:"reason,omitempty"`   // reject: RejectFalseAlarm or RejectDuplicate

	// Code and Params are a note the bridge wrote, as a message the pages
	// translate (see Message); empty for a note a person wrote.
	Code   string         `json:"code,omitempty"`
	Params map[string]any `json:"params,omitempty"`
}

// The reasons of a rejection (Entry.Reason), chosen on the board.
const (
	RejectFalseAlarm = "false_alarm" // 误报
	RejectDuplicate  = "duplicate"   // 重复
)

// Event is what OnChange subscribers get after every stored change.
type Event struct {
	Type  string `json:"type"` // "task" (created, moved, proposal), "overdue" or "rating"
	Task  *Task  `json:"task"`
	Entry *Entry `json:"entry"`
}

var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// newID returns a short id that sorts by time: "T", the milliseconds in base
// 32, then 4 random bytes (the scheme of detect's incident ids).
func newID(at time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ms := strconv.FormatInt(at.UnixMilli(), 32)
	return "T" + strings.Repeat("0", max(0, 9-len(ms))) + ms + idEncoding.EncodeToString(b)
}
