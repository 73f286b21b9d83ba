package task

import (
	"errors"
	"fmt"
	"slices"
)

// Rule says from which states a transition may start, where it leads and
// which roles may make it.
type Rule struct {
	From  []State
	To    State
	Roles []Role
}

// Rules is the table of legal transitions. A worker also has to be the one
// the task is dispatched to, in one of the worker's grids; a resident makes
// none (residents report and rate).
var Rules = map[Action]Rule{
	Accept:   {From: []State{Reported}, To: Accepted, Roles: []Role{Staff, Admin, System}},
	Reject:   {From: []State{Reported, Accepted}, To: Rejected, Roles: []Role{Staff, Admin}},
	Dispatch: {From: []State{Accepted, Dispatched, Claimed, Arrived}, To: Dispatched, Roles: []Role{Staff, Admin}},
	Claim:    {From: []State{Dispatched}, To: Claimed, Roles: []Role{Worker}},
	Arrive:   {From: []State{Claimed}, To: Arrived, Roles: []Role{Worker, System}},
	Submit:   {From: []State{Arrived}, To: Submitted, Roles: []Role{Worker}},
	Verify:   {From: []State{Submitted}, To: Verified, Roles: []Role{Staff, Admin}},
	Rework:   {From: []State{Submitted, Verified}, To: Dispatched, Roles: []Role{Staff, Admin, System}},
	Close:    {From: []State{Verified}, To: Closed, Roles: []Role{Staff, Admin}},
	Merge:    {From: []State{Reported, Accepted, Dispatched, Claimed, Arrived, Submitted, Verified}, To: Rejected, Roles: []Role{Staff, Admin}},
}

// Actions lists the transitions in the order of the flow; messages list
// allowed actions in this order.
var Actions = []Action{Accept, Dispatch, Claim, Arrive, Submit, Verify, Close, Rework, Reject, Merge}

// Roles lists every role.
var Roles = []Role{Admin, Staff, Worker, Resident, System}

// Allowed lists the transitions role may make from state s, in flow order.
func Allowed(role Role, s State) []Action {
	var out []Action
	for _, a := range Actions {
		r := Rules[a]
		if slices.Contains(r.From, s) && slices.Contains(r.Roles, role) {
			out = append(out, a)
		}
	}
	return out
}

// Allowed lists the transitions a may make on the task now: what a page
// shows as buttons.
func (t *Task) Allowed(a Actor) []Action {
	if a.Role == Worker && !t.assignedTo(a) {
		return nil
	}
	return Allowed(a.Role, t.State)
}

func (t *Task) assignedTo(a Actor) bool {
	return t.Worker == a.ID && slices.Contains(a.Grids, t.Grid)
}

// The kinds of error; every error of this package wraps one of them.
var (
	ErrNotFound  = errors.New("no such task")
	ErrInvalid   = errors.New("invalid request")
	ErrForbidden = errors.New("not allowed")
	ErrConflict  = errors.New("conflict with the task's state")
)

// Error is a refusal: Msg is a sentence for people, Kind one of the ErrX
// values above.
type Error struct {
	Kind error
	Msg  string
	// Code and Params are the refusal as a message the pages translate
	// (see Message); empty for refusals only API clients meet.
	Code   string
	Params map[string]any
}

// Error gives the sentence.
func (e *Error) Error() string { return e.Msg }

// Unwrap gives the kind, for errors.Is.
func (e *Error) Unwrap() error { return e.Kind }

func refuse(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// TransitionError is a transition the task's state does not allow. Allowed
// is what the actor could do instead. It wraps ErrConflict.
type TransitionError struct {
	Action  Action
	State   State
	Allowed []Action
}

// Error says what was refused and what is allowed, e.g. "cannot claim a
// task that is closed; allowed: none".
func (e *TransitionError) Error() string {
	allowed := "none"
	if len(e.Allowed) > 0 {
		allowed = joinActions(e.Allowed)
	}
	return fmt.Sprintf("cannot %s a task that is %s; allowed: %s", e.Action, e.State, allowed)
}

// Unwrap gives ErrConflict.
func (e *TransitionError) Unwrap() error { return ErrConflict }

// checkRole tells whether a's role may make transition act at all.
func checkRole(a Actor, act Action) error {
	rule, ok := Rules[act]
	if !ok {
		return refuse(ErrInvalid, "%q is not a transition", act)
	}
	if !slices.Contains(Roles, a.Role) {
		return refuse(ErrForbidden, "%q is not a role", a.Role)
	}
	if !slices.Contains(rule.Roles, a.Role) {
		return refuseMsg(ErrForbidden, MsgRoleMayNot, map[string]any{"role": a.Role, "action": act}, "a %s may not %s tasks", a.Role, act)
	}
	return nil
}

// check tells whether actor a may make transition act on t now: first the
// role, then the state, then, for a worker, whether the task is theirs.
func check(t *Task, a Actor, act Action) error {
	if err := checkRole(a, act); err != nil {
		return err
	}
	rule := Rules[act]
	if !slices.Contains(rule.From, t.State) {
		return &TransitionError{Action: act, State: t.State, Allowed: Allowed(a.Role, t.State)}
	}
	if a.Role == Worker {
		if t.Worker != a.ID {
			return refuseMsg(ErrForbidden, MsgNotYours, map[string]any{"id": t.ID}, "task %s is not dispatched to you", t.ID)
		}
		if !slices.Contains(a.Grids, t.Grid) {
			return refuseMsg(ErrForbidden, MsgNotYourGrid, map[string]any{"id": t.ID, "grid": t.Grid}, "task %s is in grid %s, which is not one of yours", t.ID, t.Grid)
		}
	}
	return nil
}
