package task

import "fmt"

// Message is a sentence the bridge writes for people, in two forms: Text
// in English, for logs and API clients, and Code with Params, which the
// pages translate (web/i18n.js holds a zh-CN and an English sentence per
// code). A parameter that is a moment is Unix milliseconds and its name
// ends in _ms; a duration is whole seconds and its name ends in _s; a
// parameter may itself be a Message (code and params), translated in turn.
type Message struct {
	Text   string         `json:"text,omitempty"`
	Code   string         `json:"code,omitempty"`
	Params map[string]any `json:"params,omitempty"`
}

// Msg makes a Message: code, params and the English sentence.
func Msg(code string, params map[string]any, format string, args ...any) Message {
	return Message{Text: fmt.Sprintf(format, args...), Code: code, Params: params}
}

// The codes of the messages this package writes: refusals (Error.Code),
// timeline notes (Entry.Code) and task descriptions.
const (
	MsgNotFound           = "task.not_found"             // {id}
	MsgNotYours           = "task.not_yours"             // {id}
	MsgNotYourGrid        = "task.not_your_grid"         // {id, grid}
	MsgRoleMayNot         = "task.role_may_not"          // {role, action}
	MsgTransition         = "task.transition"            // {action, state, allowed}
	MsgRejectNeedsReason  = "task.reject_needs_reason"   // {}
	MsgRejectReason       = "task.reject_reason"         // {reason}
	MsgDispatchNeedsWho   = "task.dispatch_needs_worker" // {}
	MsgDispatchNeedsGrid  = "task.dispatch_needs_grid"   // {id}
	MsgAlreadyDispatched  = "task.already_dispatched"    // {id, worker, grid}
	MsgNoSuchWorker       = "task.no_such_worker"        // {worker, grid, workers}
	MsgNotAWorker         = "task.not_a_worker"          // {worker, role, grid, workers}
	MsgWorkerOtherGrid    = "task.worker_other_grid"     // {worker, grid, workers}
	MsgArriveNeedsGPS     = "task.arrive_needs_gps"      // {}
	MsgTooFar             = "task.gps_too_far"           // {distance_m, radius_m}
	MsgSubmitNeedsPhoto   = "task.submit_needs_photo"    // {}
	MsgNoteTooLong        = "task.note_too_long"         // {n, max}
	MsgTitleNeeded        = "task.title_needed"          // {}
	MsgTitleTooLong       = "task.title_too_long"        // {n, max}
	MsgDescriptionTooLong = "task.description_too_long"  // {n, max}
	MsgNotOnMap           = "task.location_not_on_map"   // {lat, lng}
	MsgGPSNotOnMap        = "task.gps_not_on_map"        // {lat, lng}
	MsgMergeNeedsInto     = "task.merge_needs_into"      // {}
	MsgMergeSelf          = "task.merge_self"            // {}
	MsgMergeRejected      = "task.merge_into_rejected"   // {id}
	MsgNoCamera           = "task.no_camera"             // {camera}
	MsgNoZone             = "task.no_zone"               // {camera, zone}
	MsgNoGrid             = "task.no_grid"               // {grid, grids}
	MsgRequestUsed        = "task.request_used"          // {id}
	MsgStars              = "rating.stars"               // {stars}
	MsgTrackNotOnMap      = "track.not_on_map"           // {lat, lng}
	MsgTrackAccuracy      = "track.accuracy"             // {accuracy_m, max_m}
	MsgTrackTime          = "track.time"                 // {at_ms}
	MsgTrackNotYours      = "track.not_yours"            // {id}
	MsgTrackState         = "track.state"                // {id, state}
	MsgCommentTooLong     = "rating.comment_too_long"    // {n, max}
	MsgRateOnlyClosed     = "rating.only_closed"         // {id, state}

	MsgSeenOnCamera  = "note.seen_on_camera"   // {camera}
	MsgProposed      = "note.proposed"         // {}
	MsgStillDiffers  = "note.still_differs"    // {}
	MsgConfirmed     = "note.confirmed_camera" // {camera}
	MsgAutoAccepted  = "note.auto_accepted"    // {kind}
	MsgDuplicateOf   = "note.duplicate_of"     // {id}
	MsgRecur         = "note.recur"            // {what}
	MsgReopen        = "note.reopen"           // {what}
	MsgOverdueClaim  = "note.overdue.claim"    // {limit_s}
	MsgOverdueArrive = "note.overdue.arrive"   // {limit_s}
	MsgOverdueSolve  = "note.overdue.resolve"  // {limit_s}
)

// refuseMsg is a refusal that carries its message's code and parameters.
func refuseMsg(kind error, code string, params map[string]any, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Code: code, Params: params}
}

// what is the new task's description as a message parameter: its own
// message when the bridge wrote it, else the words as given.
func (n NewTask) what() any {
	if n.DescriptionMsg.Code != "" {
		return Message{Code: n.DescriptionMsg.Code, Params: n.DescriptionMsg.Params}
	}
	return n.Description
}
