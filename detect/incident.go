package detect

import (
	"crypto/rand"
	"encoding/base32"
	"strconv"
	"strings"
	"time"

	"qianliyan/configs"
)

// The kinds of incident (configs.IncidentKinds lists them all).
const (
	ZoneChanged    = configs.ZoneChanged    // a zone no longer looks like its reference: bin down, rubbish dumped
	Loitering      = configs.Loitering      // someone stays in a restricted zone
	CameraTampered = configs.CameraTampered // covered, defocused or turned away
	CameraOffline  = configs.CameraOffline  // no video for longer than allowed
)

// Incident is something on a camera that needs someone. There is at most
// one open incident per camera, zone and kind: repeats update it.
type Incident struct {
	ID         string  `json:"id"`
	Camera     string  `json:"camera"`
	Zone       string  `json:"zone,omitempty"`
	Kind       string  `json:"kind"`
	Detail     string  `json:"detail,omitempty"` // e.g. "covered", or the health error
	StartedMS  int64   `json:"started_ms"`
	UpdatedMS  int64   `json:"updated_ms"`
	EndedMS    int64   `json:"ended_ms,omitempty"` // 0 while open
	Confidence float64 `json:"confidence"`
	Snapshot   string  `json:"snapshot,omitempty"` // file name in the snapshot folder
	// Code and Params say what happened as a message the pages translate
	// (zh-CN and English, web/i18n.js); Detail is its English for logs and
	// API clients. A moment is a parameter in Unix ms (named *_ms), never a
	// clock time in the sentence.
	Code   string         `json:"code,omitempty"`
	Params map[string]any `json:"params,omitempty"`
}

// The codes of Incident.Code.
const (
	MsgZoneChanged = "incident.zone_changed" // {zone}
	MsgLoitering   = "incident.loitering"    // {zone, since_ms, dwell_s}
	MsgCovered     = "incident.covered"      // {}
	MsgDefocused   = "incident.defocused"    // {}
	MsgTurned      = "incident.turned"       // {}
	MsgOffline     = "incident.offline"      // {error}: the error is the RTSP client's, for the curious
)

// tamperCodes are the codes of the ways a camera is tampered with.
var tamperCodes = map[string]string{Covered: MsgCovered, Defocused: MsgDefocused, Turned: MsgTurned}

// Open reports whether the incident has not ended.
func (i Incident) Open() bool { return i.EndedMS == 0 }

// key is what makes an incident one: camera, zone and kind.
func (i Incident) key() string { return i.Camera + "|" + i.Zone + "|" + i.Kind }

var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NewID returns a short id that sorts by time: milliseconds then 4 random bytes.
func NewID(at time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ms := strconv.FormatInt(at.UnixMilli(), 32)
	return strings.Repeat("0", max(0, 9-len(ms))) + ms + idEncoding.EncodeToString(b)
}
