package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/configs"
	"qianliyan/detect"
	"qianliyan/record"
	"qianliyan/task"
)

// The OpenAPI 3.0 document of every route New registers (the pages and
// their static files aside). Routes are listed here by hand, with who may
// call them; the schemas of their bodies come from the Go types the
// handlers use, by reflection, so they cannot drift from what is sent. A
// test fails when a registered route is missing here or a listed one is
// not registered.

// apiRoute is one route of the document.
type apiRoute struct {
	method, path string // gin's path, e.g. /api/tasks/:id
	summary, who string
	query        []apiParam
	header       []apiParam
	enums        map[string][]string // the values a path or query parameter may take
	body         any                 // a value of the request body's type; nil: none
	bodyType     string              // default application/json
	bodyOptional bool
	ok           int    // the success status
	resp         any    // a value of the success body's type; nil: no body, or a string for a media type
	respType     string // default application/json
	errors       []int
}

// apiParam is a query parameter.
type apiParam struct {
	name, typ, desc string
}

const (
	whoAnyone   = "anyone; without a token the caller is an anonymous resident"
	whoToken    = "anyone with a token (a user's, a device's or the staff token)"
	whoCenter   = "staff and admins (the center)"
	whoTasks    = "anyone with a token: staff and admins see every task, a worker the tasks of the worker's grids, a resident the tasks the resident reported (and those on public cameras)"
	mediaJSON   = "application/json"
	mediaSDP    = "application/sdp"
	mediaEvents = "text/event-stream"
)

// statsParams are the query of GET /api/stats and of its export.
var statsParams = []apiParam{
	{"range", "string", "today (default), 7d, 30d (today and the days before) or custom"},
	{"from", "string", "custom: the first day, YYYY-MM-DD in server.time_zone"}, {"to", "string", "custom: the last day, included"},
	{"from_ms", "integer", "instead of range: created at or after (Unix ms)"}, {"to_ms", "integer", "instead of range: created before (Unix ms)"},
	{"grid", "string", "tasks of this grid"},
}

// boardCountQuery is the query of GET /api/tasks/counts: the board's filters.
var boardCountQuery = []apiParam{taskQuery[0], taskQuery[1], taskQuery[9], taskQuery[10], taskQuery[11], taskQuery[12], taskQuery[13]}

var (
	taskQuery = []apiParam{
		{"state", "string", "one of reported, accepted, rejected, dispatched, claimed, arrived, submitted, verified, closed"},
		{"grid", "string", "tasks of this grid (a worker: one of the worker's grids, else 403)"},
		{"worker", "string", "tasks dispatched to this worker"},
		{"camera", "string", "tasks on this camera (a resident naming a public camera sees all its tasks)"},
		{"mine", "string", "1: a worker's tasks dispatched to the worker; anyone else's tasks the caller reported"},
		{"from_ms", "integer", "created at or after (Unix ms)"},
		{"to_ms", "integer", "created before (Unix ms)"},
		{"limit", "integer", "1 to 500, default 50"},
		{"offset", "integer", "how many to skip, default 0"},
		{"states", "string", "board (staff, admins): any of these states, a comma list (state takes one too); the answer is then a board page (tasks with overdue and priority, total, counts per state, next)"},
		{"kind", "string", "board: the incident kind (zone_changed, loitering, camera_tampered, camera_offline)"},
		{"source", "string", "board: incident, resident, patrol or staff"},
		{"overdue", "string", "board: 1 for the tasks with a running stage past its time limit"},
		{"q", "string", "board: text in the id, title, description, address, camera id or camera name"},
		{"sort", "string", "board: newest (default) or urgent (overdue first, then higher priority, then older first)"},
		{"cursor", "string", "board: next of the page before"},
	}
	tokenQuery = apiParam{"token", "string", "the token, for EventSource and <img> which cannot send headers"}
	// streamQuery picks the camera's stream; the session's Location keeps it.
	streamQuery = apiParam{"stream", "string", "main (default) or sub: the camera's low-resolution sub-stream, main when it has none"}
)

// healthBody is the body of GET /healthz.
type healthBody struct {
	Status        string `json:"status"` // ok, or degraded when Redis does not answer (503)
	Cameras       int    `json:"cameras"`
	CamerasOnline int    `json:"cameras_online"`
	Redis         string `json:"redis"`
	UptimeS       int    `json:"uptime_s"`
}

// loginBody is the body of POST /api/login.
type loginBody struct {
	User     string `json:"user"`
	Password string `json:"password"`
	// Device is the device token a resident used as a guest on this
	// phone: its reports become the account's (TokenResponse.Adopted).
	Device string `json:"device,omitempty"`
}

// apiRoutes lists every route New registers but the pages.
var apiRoutes = []apiRoute{
	{method: "GET", path: "/healthz", summary: "Health of the bridge: cameras online, Redis", who: "anyone", ok: 200, resp: healthBody{}, errors: []int{503}},
	{method: "GET", path: "/api/openapi.json", summary: "This document", who: "anyone", ok: 200, resp: map[string]any{}},
	{method: "POST", path: "/api/login", summary: "Log in: a signed token for the user's role (a resident sending the device token used as a guest gets its reports); after 5 failures of a user or from an address, each attempt waits (429, Retry-After)", who: "anyone", body: loginBody{}, ok: 200, resp: TokenResponse{}, errors: []int{400, 401, 413, 429, 503}},
	{method: "POST", path: "/api/device", summary: "A resident's device token (no account); 10 at once per address, then one every 6 s", who: "anyone", ok: 201, resp: TokenResponse{}, errors: []int{429, 503}},
	{method: "GET", path: "/api/me", summary: "The caller's claims", who: whoToken, ok: 200, resp: Claims{}, errors: []int{401}},
	{method: "POST", path: "/api/logout", summary: "Log out: the token is refused from now on, by every bridge on the store", who: "anyone with a token but the staff token", ok: 200, resp: struct {
		Status string `json:"status"`
	}{}, errors: []int{400, 401, 503}},
	{method: "GET", path: "/api/cameras", summary: "The cameras the caller may watch", who: whoAnyone, ok: 200,
		resp: struct {
			Cameras []Camera `json:"cameras"`
		}{}, errors: []int{401}},
	{method: "GET", path: "/api/cameras/:id", summary: "One camera", who: whoAnyone + "; non-public cameras: the center and the camera's grid workers", ok: 200, resp: Camera{}, errors: []int{401, 403, 404}},
	{method: "GET", path: "/api/cameras/:id/snapshot.jpg", summary: "The camera's latest key frame as a JPEG; a camera another cluster member reads is a 307 there", who: whoAnyone + "; as for the camera", query: []apiParam{tokenQuery}, ok: 200, resp: "image/jpeg", errors: []int{401, 403, 404, 503}},
	{method: "GET", path: "/api/thumbs", summary: "The pictures of several cameras at once (the wall's overview), each as /api/cameras/{id}/thumb.jpg gives it", who: whoAnyone + "; the cameras the caller may watch",
		query: []apiParam{{"cameras", "string", "camera ids, comma-separated, 1 to 200"}}, ok: 200, resp: Thumbs{}, errors: []int{400, 401}},
	{method: "GET", path: "/api/cameras/:id/thumb.jpg", summary: "The camera's last analysed picture, 320 pixels wide (the wall's overview); X-Picture-At gives its time in Unix ms", who: whoAnyone + "; as for the camera", query: []apiParam{tokenQuery}, ok: 200, resp: "image/jpeg", errors: []int{401, 403, 404, 503}},
	{method: "GET", path: "/api/events", summary: "Server-sent events: camera (what the caller may watch), incident (the center), task (the center, the task's grid workers, its reporter), position (a worker's new last position, from a task's track: the center)", who: whoAnyone, query: []apiParam{tokenQuery}, ok: 200, resp: mediaEvents, errors: []int{401}},
	{method: "GET", path: "/api/webrtc", summary: "ICE servers for RTCPeerConnection", who: whoAnyone, ok: 200,
		resp: struct {
			ICEServers []struct {
				URLs       []string `json:"urls"`
				Username   string   `json:"username,omitempty"`
				Credential string   `json:"credential,omitempty"`
			} `json:"ice_servers"`
		}{}, errors: []int{401}},
	{method: "GET", path: "/api/incidents", summary: "Incidents detection raised", who: whoCenter, query: []apiParam{
		{"camera", "string", "of this camera"}, {"kind", "string", "one incident kind"},
		{"open", "string", "1: only those not ended"}, {"since_ms", "integer", "updated since (Unix ms)"}, {"limit", "integer", "1 to 1000"},
	}, ok: 200, resp: struct {
		Incidents []detect.Incident `json:"incidents"`
	}{}, enums: map[string][]string{"kind": configs.IncidentKinds}, errors: []int{400, 401, 403, 503}},
	{method: "GET", path: "/api/incidents/:id", summary: "One incident", who: whoCenter, ok: 200, resp: detect.Incident{}, errors: []int{401, 403, 404, 503}},
	{method: "GET", path: "/api/incidents/:id/snapshot.jpg", summary: "The picture taken when the incident was raised", who: whoCenter, query: []apiParam{tokenQuery}, ok: 200, resp: "image/jpeg", errors: []int{401, 403, 404, 503}},
	{method: "POST", path: "/api/cameras/:id/zones/:zone/reference", summary: "The next analysed picture becomes the zone's normal look (zone * for all)", who: whoCenter, ok: 202,
		resp: struct {
			Status string `json:"status"`
		}{}, errors: []int{401, 403, 404, 503}},
	{method: "GET", path: "/api/cameras/:id/detect", summary: "The camera's detection mode and figures, and each zone's difference from its reference", who: whoCenter,
		ok: 200, resp: DetectState{}, errors: []int{401, 403, 404, 503}},
	{method: "PUT", path: "/api/cameras/:id/detect", summary: "Set the camera's detection mode", who: whoCenter,
		body: struct {
			Mode detect.Mode `json:"mode"` // auto, idle, active or watch
		}{}, ok: 200, resp: detect.WatcherStats{}, errors: []int{400, 401, 403, 404, 503}},
	{method: "POST", path: "/whep/:camera", summary: "WHEP: play the camera over WebRTC (SDP offer in, answer out, Location of the session); X-Stream says which stream plays, X-Stream-Fallback why not the sub-stream asked for; a camera another cluster member reads is a 307 to the same path there", who: whoAnyone + "; non-public cameras: the center and the camera's grid workers",
		query: []apiParam{streamQuery}, enums: map[string][]string{"stream": {"main", "sub"}},
		body: mediaSDP, bodyType: mediaSDP, ok: 201, resp: mediaSDP, errors: []int{400, 401, 403, 404, 413, 415, 422, 503}},
	{method: "OPTIONS", path: "/whep/:camera", summary: "WHEP: the ICE servers as Link headers", who: "anyone", ok: 204},
	{method: "PATCH", path: "/whep/:camera/sessions/:id", summary: "WHEP: trickled ICE candidates", who: "whoever holds the session's URL", query: []apiParam{streamQuery},
		body: "application/trickle-ice-sdpfrag", bodyType: "application/trickle-ice-sdpfrag", ok: 204, errors: []int{400, 404, 413, 415}},
	{method: "DELETE", path: "/whep/:camera/sessions/:id", summary: "WHEP: end the session", who: "whoever holds the session's URL", query: []apiParam{streamQuery}, ok: 200, errors: []int{400, 404}},

	{method: "GET", path: "/api/tasks", summary: "Tasks the caller may see, newest first", who: whoTasks, query: taskQuery, ok: 200, resp: TaskList{}, errors: []int{400, 401, 403, 503}},
	{method: "POST", path: "/api/tasks", summary: "Create a task by hand (grid and location default to the camera's)", who: whoCenter, body: createBody{}, ok: 201, resp: TaskEnvelope{}, errors: []int{400, 401, 403, 503}},
	{method: "GET", path: "/api/tasks/counts", summary: "How many tasks the board's filters select, in all and per state (the board's columns)", who: whoCenter, query: boardCountQuery, ok: 200, resp: TaskCounts{}, errors: []int{400, 401, 403, 503}},
	{method: "POST", path: "/api/tasks/bulk", summary: "Reject several tasks (reason false_alarm or duplicate) or merge several into one (into, default the oldest): each task takes its own transition and the answer says per id what happened", who: whoCenter, body: bulkBody{}, ok: 200, resp: BulkAnswer{}, errors: []int{400, 401, 403, 404, 503}},
	{method: "GET", path: "/api/tasks/:id", summary: "One task with its timeline, ratings and the transitions the caller may make now", who: whoTasks + "; a task the caller may not see is 404", ok: 200, resp: TaskDetail{}, errors: []int{401, 404, 503}},
	{method: "POST", path: "/api/tasks/:id/:action", summary: "A transition: action is accept, reject, dispatch, claim, arrive, submit, verify, rework or close; a retry with the same request_id (or Idempotency-Key header) gives the first answer", who: "by the rules of task.Rules: the center accepts, rejects, dispatches, verifies, sends back and closes; the task's worker claims, arrives and submits",
		header: []apiParam{{"Idempotency-Key", "string", "the request id when the body has no request_id"}},
		enums:  map[string][]string{"action": actionNames(task.Actions)},
		body:   transitionBody{}, bodyOptional: true, ok: 200, resp: TaskChange{}, errors: []int{400, 401, 403, 404, 409, 503}},
	{method: "POST", path: "/api/tasks/:id/rating", summary: "Rate a closed task (1 to 5 stars): the reporter's own rating, or the center's follow-up (回访) on the reporter's behalf; a later one replaces the earlier", who: "the resident who reported the task; staff and admins (a follow-up)", body: rateBody{}, ok: 201, resp: TaskChange{}, errors: []int{400, 401, 403, 404, 409, 503}},
	{method: "POST", path: "/api/reports", summary: "A resident's report, or a worker's on patrol; the grid is the camera's or the nearest camera's", who: "residents (accounts and device tokens; 10 at once per address, then one every 2 minutes) and workers", body: reportBody{}, ok: 201, resp: TaskEnvelope{}, errors: []int{400, 401, 403, 429, 503}},
	{method: "POST", path: "/api/uploads", summary: "Upload a photo (field file: JPEG or PNG, at most 5 MB); 20 a day per resident's token, 200 for others; unused ones go after a day", who: whoToken,
		body: struct {
			File []byte `json:"file"`
		}{}, bodyType: "multipart/form-data", ok: 201, resp: struct {
			Photo string `json:"photo"`
		}{}, errors: []int{400, 401, 413, 415, 429, 503}},
	{method: "GET", path: "/api/uploads/:name", summary: "An uploaded photo", who: whoToken, query: []apiParam{tokenQuery}, ok: 200, resp: "image/*", errors: []int{400, 401, 404}},
	{method: "GET", path: "/api/snapshots/:name", summary: "A detection snapshot", who: "staff, admins and workers", query: []apiParam{tokenQuery}, ok: 200, resp: "image/jpeg", errors: []int{400, 401, 403, 404}},
	{method: "GET", path: "/api/tasks/:id/dossier", summary: "The task's dossier (案卷) for the archive: a ZIP of index.html (the timeline to the second: who, how confirmed, evidence), the pictures and clips it names, and MANIFEST.sha256 (sha256sum -c checks it)", who: whoCenter, ok: 200, resp: "application/zip", errors: []int{401, 403, 404, 503}},
	{method: "GET", path: "/api/clips/:name", summary: "A clip kept as evidence of a task's step: {id}.mp4 is the video (range requests; 409 with Retry-After while it is still being recorded), {id} says what it holds (state pending, ready or failed; short with a note when the camera dropped out)", who: "staff and admins; workers for the tasks they may see; never residents (403)", query: []apiParam{tokenQuery}, ok: 200, resp: "video/mp4", errors: []int{400, 401, 403, 404, 409}},
	{method: "GET", path: "/api/cameras/:id/recording", summary: "A camera's rolling recording (the last record.keep): its segments overlapping from..to, each a standalone MP4 to play in turn", who: whoCenter, query: []apiParam{
		{"from", "integer", "from this moment (Unix ms)"}, {"to", "integer", "up to this moment (Unix ms)"},
	}, ok: 200, resp: Recording{}, errors: []int{400, 401, 403, 404}},
	{method: "GET", path: "/api/cameras/:id/recording/:name", summary: "One segment of a camera's recording (range requests)", who: whoCenter, query: []apiParam{tokenQuery}, ok: 200, resp: "video/mp4", errors: []int{401, 403, 404}},
	{method: "GET", path: "/api/workers", summary: "The grid workers, with their open tasks", who: whoCenter, query: []apiParam{{"grid", "string", "workers of this grid"}},
		ok: 200, resp: struct {
			Workers []Worker `json:"workers"`
		}{}, errors: []int{400, 401, 403, 503}},
	{method: "GET", path: "/api/workers/positions", summary: "Every worker's last position reported from a task's track (worker, name, task, lat, lng, accuracy_m, at_ms), the latest first; `position` events on GET /api/events follow it", who: whoCenter,
		ok: 200, resp: struct {
			Positions []WorkerPosition `json:"positions"`
		}{}, errors: []int{401, 403, 503}},
	{method: "POST", path: "/api/tasks/:id/track", summary: "The worker's phone reports where it is (every 15 s while the task is claimed or arrived); kept in order as the task's track, the last tasks.track_points points", who: "the worker the task is dispatched to (12 at once, then one every 5 s)",
		body: trackBody{}, ok: 201, resp: TrackPosted{}, errors: []int{400, 401, 403, 404, 409, 429, 503}},
	{method: "GET", path: "/api/tasks/:id/track", summary: "A task's track (轨迹), in the order the phone sent it, for the replay", who: "staff and admins; workers for the tasks they may see; never residents (403)", ok: 200, resp: Track{}, errors: []int{401, 403, 404, 503}},
	{method: "GET", path: "/api/map", summary: "The pages' map settings (configs map): tile URL template (empty: a plain background from the cameras' coordinates), subdomains, attribution, center, zoom, max_zoom, nearby_m", who: whoAnyone, ok: 200, resp: MapSettings{}, errors: []int{}},
	{method: "GET", path: "/api/stats", summary: "The center's figures over the tasks created in a period (default: today in server.time_zone): summary with definitions, per grid, worker and kind, times per stage, daily trend", who: whoCenter, query: statsParams,
		ok: 200, resp: StatsResponse{}, errors: []int{400, 401, 403, 503}},
	{method: "GET", path: "/api/stats/export", summary: "The figures of GET /api/stats as a CSV file, or an XLSX workbook (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)", who: whoCenter,
		query: append([]apiParam{{"format", "string", "csv or xlsx (required)"}}, statsParams...), ok: 200, resp: "text/csv", errors: []int{400, 401, 403, 503}},
	{method: "GET", path: "/api/webhooks/dead", summary: "Webhook deliveries that failed every try, newest first: id, url (without its query), event, task, body, attempts, last_status, last_error, created_ms, dead_ms", who: whoCenter,
		ok: 200, resp: struct {
			Dead []map[string]any `json:"dead"`
		}{}, errors: []int{401, 403, 503}},
	{method: "POST", path: "/api/webhooks/dead/:id/retry", summary: "Queue a dead webhook delivery again, with its id and body; it is tried at once", who: whoCenter,
		ok: 202, resp: struct {
			Status   string `json:"status"`
			Delivery string `json:"delivery"`
		}{}, errors: []int{401, 403, 404, 503}},
	{method: "GET", path: "/api/cluster", summary: "The live members of the cluster: each one's URL, lease and cameras", who: whoCenter, ok: 200, resp: ClusterView{}, errors: []int{401, 403, 503}},
	{method: "POST", path: "/api/cluster/clips", summary: "Another member asks the member that reads a camera to keep the clip of a step it took; the body signed with the members' secret in X-Qly-Member-Sig", who: "members of the cluster only", body: memberClip{}, ok: 201, resp: record.Clip{}, errors: []int{400, 403, 404, 503}},
}

var (
	ginParam  = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)
	notIDChar = regexp.MustCompile(`[^A-Za-z0-9]+`)
)

// openAPIPath turns gin's /a/:id/*rest into OpenAPI's /a/{id}/{rest}.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

var openAPIJSON = sync.OnceValue(func() []byte {
	b, err := json.MarshalIndent(openAPIDoc(), "", "  ")
	if err != nil {
		panic(err) // the document is made of maps and strings
	}
	return b
})

// openAPI answers GET /api/openapi.json.
func (s *Server) openAPI(c *gin.Context) error {
	c.Data(http.StatusOK, "application/json; charset=utf-8", openAPIJSON())
	return nil
}

type obj = map[string]any

func openAPIDoc() obj {
	g := &schemas{defs: obj{
		"Error": obj{"type": "object", "required": []string{"error"}, "properties": obj{
			"error":   obj{"type": "string", "description": "what went wrong, in a sentence"},
			"allowed": obj{"type": "array", "items": obj{"type": "string"}, "description": "409 on a transition: what the caller may do instead"},
			"code":    obj{"type": "string", "description": "the sentence as a message code the pages translate (web/i18n.js), e.g. task.not_found"},
			"params":  obj{"type": "object", "description": "the code's parameters; a moment is Unix ms (*_ms), a duration seconds (*_s)"},
		}},
	}}
	paths := obj{}
	for _, r := range apiRoutes {
		p := openAPIPath(r.path)
		item, _ := paths[p].(obj)
		if item == nil {
			item = obj{}
			paths[p] = item
		}
		var params []obj
		for _, m := range ginParam.FindAllStringSubmatch(r.path, -1) {
			schema := obj{"type": "string"}
			if e := r.enums[m[1]]; e != nil {
				schema["enum"] = e
			}
			params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": schema})
		}
		for _, q := range r.query {
			schema := obj{"type": q.typ}
			if e := r.enums[q.name]; e != nil {
				schema["enum"] = e
			}
			params = append(params, obj{"name": q.name, "in": "query", "description": q.desc, "schema": schema})
		}
		for _, h := range r.header {
			params = append(params, obj{"name": h.name, "in": "header", "description": h.desc, "schema": obj{"type": h.typ}})
		}
		op := obj{"summary": r.summary, "description": "Who may call it: " + r.who + ".",
			"operationId": strings.ToLower(r.method) + strings.Trim(notIDChar.ReplaceAllString(p, "_"), "_")}
		if params != nil {
			op["parameters"] = params
		}
		if r.body != nil {
			op["requestBody"] = obj{"required": !r.bodyOptional, "content": g.content(r.body, r.bodyType)}
		}
		resp := obj{}
		ok := obj{"description": http.StatusText(r.ok)}
		if r.resp != nil {
			ok["content"] = g.content(r.resp, r.respType)
		}
		resp[strconv.Itoa(r.ok)] = ok
		for _, code := range r.errors {
			resp[strconv.Itoa(code)] = obj{"description": http.StatusText(code),
				"content": obj{mediaJSON: obj{"schema": obj{"$ref": "#/components/schemas/Error"}}}}
		}
		op["responses"] = resp
		item[strings.ToLower(r.method)] = op
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{"title": "Qianliyan (千里眼) bridge API", "version": "1",
			"description": "Cameras, live video (WHEP), incidents and the closed loop of tasks (工单) of a grid-governance center. Errors are {\"error\": \"a sentence\"}."},
		"paths": paths,
		"components": obj{
			"schemas": g.defs,
			"securitySchemes": obj{
				"bearer": obj{"type": "http", "scheme": "bearer", "description": "a token from POST /api/login or POST /api/device, or the staff token"},
				"query":  obj{"type": "apiKey", "in": "query", "name": "token", "description": "the same token as ?token=, for EventSource and <img>"},
			},
		},
		// A token is optional in general: without one the caller is an anonymous resident.
		"security": []obj{{"bearer": []string{}}, {"query": []string{}}, {}},
	}
}

// schemas makes JSON schemas of Go values and keeps the named ones.
type schemas struct{ defs obj }

// content is the media-type map of a body: a Go value gives its JSON
// schema; a string is the media type of a body that is not JSON.
func (g *schemas) content(v any, media string) obj {
	if s, ok := v.(string); ok {
		return obj{s: obj{"schema": obj{"type": "string", "format": "binary"}}}
	}
	if media == "" {
		media = mediaJSON
	}
	if media == "multipart/form-data" {
		return obj{media: obj{"schema": obj{"type": "object", "required": []string{"file"},
			"properties": obj{"file": obj{"type": "string", "format": "binary"}}}}}
	}
	return obj{media: obj{"schema": g.of(reflect.TypeOf(v))}}
}

var (
	timeType = reflect.TypeOf(time.Time{})
	modeType = reflect.TypeOf(detect.Mode(0))
)

func (g *schemas) of(t reflect.Type) obj {
	if t == modeType { // written by its name (MarshalText)
		return obj{"type": "string", "enum": []string{detect.Auto.String(), detect.Idle.String(), detect.Active.String(), detect.Watch.String()}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.of(t.Elem())
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return obj{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return obj{"type": "string", "format": "byte"}
		}
		return obj{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Struct:
		if t == timeType {
			return obj{"type": "string", "format": "date-time"}
		}
		if t.Name() == "" {
			return g.object(t)
		}
		name := t.String() // e.g. task.Task, api.Camera
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = obj{} // a placeholder for recursive types
			g.defs[name] = g.object(t)
		}
		return obj{"$ref": "#/components/schemas/" + name}
	}
	return obj{}
}

func (g *schemas) object(t reflect.Type) obj {
	props := obj{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.of(f.Type)
	}
	return obj{"type": "object", "properties": props}
}
