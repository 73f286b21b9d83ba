package notify

import (
	"fmt"
	"strings"

	"qianliyan/configs"
	"qianliyan/task"
)

// eventOf names the webhook event (configs.WebhookEvents) of each timeline
// entry a webhook may ask for. A join (the other side of a merge) has none:
// the merge is one event, on the duplicate.
var eventOf = map[task.Action]string{
	task.Create: "created", task.Accept: "accepted", task.Reject: "rejected", task.Dispatch: "dispatched",
	task.Claim: "claimed", task.Arrive: "arrived", task.Submit: "submitted", task.Verify: "verified",
	task.Rework: "reworked", task.Close: "closed", task.Merge: "merged", task.Overdue: "overdue",
	task.Rate: "rated", task.Recur: "recurred", task.Reopen: "reopened", task.Propose: "proposed",
}

// Payload is the JSON body of one delivery. It is signed as sent and sent
// the same on every try, so its Delivery id lets a receiver drop repeats.
type Payload struct {
	Delivery string     `json:"delivery"` // the delivery's id, also in X-Qly-Delivery
	Event    string     `json:"event"`    // one of configs.WebhookEvents
	Task     string     `json:"task"`     // the task's id
	Title    string     `json:"title"`
	State    task.State `json:"state"` // the task's state after the event
	Camera   string     `json:"camera,omitempty"`
	Grid     string     `json:"grid,omitempty"`
	Worker   string     `json:"worker,omitempty"` // the login of the worker it is dispatched to
	Stage    task.Stage `json:"stage,omitempty"`  // overdue: the stage past its limit
	Stars    int        `json:"stars,omitempty"`  // rated
	AtMS     int64      `json:"at_ms"`            // when it happened, Unix ms
	// Text is a short sentence in Chinese for an SMS or a 12345 ticket.
	Text string `json:"text"`
}

// eventWords are the words of each event in Text.
var eventWords = map[string]string{
	"created": "新工单", "accepted": "工单已受理", "rejected": "工单已退回", "dispatched": "工单已派单",
	"claimed": "工单已签收", "arrived": "网格员已到场", "submitted": "工单已交单", "verified": "工单已核查",
	"reworked": "工单退回重办", "closed": "工单已结案", "merged": "工单并入重复件", "overdue": "工单超时",
	"rated": "工单已评价", "recurred": "问题再次出现", "reopened": "工单重新打开", "proposed": "摄像头确认已处置",
}

var stageWords = map[task.Stage]string{task.StageClaim: "签收", task.StageArrive: "到场", task.StageResolve: "办结"}

// payload is the body of event ev for the center cfg describes.
func payload(cfg *configs.Config, event, delivery string, ev task.Event) Payload {
	t, e := ev.Task, ev.Entry
	p := Payload{Delivery: delivery, Event: event, Task: t.ID, Title: t.Title, State: t.State, Camera: t.Camera,
		Grid: t.Grid, Worker: t.Worker, Stage: e.Stage, Stars: e.Stars, AtMS: e.AtMS}
	var b strings.Builder
	b.WriteString("【千里眼】")
	b.WriteString(eventWords[event])
	b.WriteString("：")
	b.WriteString(t.Title)
	if place := placeOf(cfg, t); place != "" {
		b.WriteString("（" + place + "）")
	}
	switch event {
	case "dispatched":
		if t.Worker != "" {
			fmt.Fprintf(&b, "，派给 %s", displayName(cfg, t.Worker))
		}
	case "overdue":
		if w := stageWords[e.Stage]; w != "" {
			fmt.Fprintf(&b, "，%s超时", w)
		}
	case "rated":
		fmt.Fprintf(&b, "，%d 星", e.Stars)
	}
	b.WriteString("，工单号 " + t.ID)
	p.Text = b.String()
	return p
}

// placeOf is where the task is, in words: its camera's name, else its address.
func placeOf(cfg *configs.Config, t *task.Task) string {
	if cam := cfg.Camera(t.Camera); cam != nil {
		return cam.Name
	}
	return t.Location.Address
}

func displayName(cfg *configs.Config, login string) string {
	if u := cfg.User(login); u != nil && u.DisplayName != "" {
		return u.DisplayName
	}
	return login
}
