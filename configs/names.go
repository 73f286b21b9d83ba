package configs

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// The names below are shared by the config, detection, the task loop, the
// API's OpenAPI document and the pages: each is defined here once, where the
// YAML that uses them is read, and the others take them from here (package
// detect re-exports them under its own names).

// DetectMode is how much of a camera detection decodes (detect.Mode).
type DetectMode int32

// The modes. The config's detect.mode takes auto, idle, active or off; the
// task loop and staff (PUT /api/cameras/{id}/detect) switch cameras between
// auto, idle, active and watch.
const (
	// ModeIdle decodes key frames only: cheap, for quiet cameras.
	ModeIdle DetectMode = iota
	// ModeActive decodes every frame and analyses detect.rate pictures a
	// second (key frames only on a camera without zones).
	ModeActive
	// ModeWatch analyses detect.watch_rate pictures a second and keeps the
	// last picture, while a task on the camera waits for the camera's word.
	ModeWatch
	// ModeOff runs no detection at all (config only).
	ModeOff
	// ModeAuto (the default) decodes key frames only while the camera is
	// calm and steps up to every frame while something moves near a zone,
	// someone is followed or the stream's frames grow (something moves),
	// stepping down after a calm spell.
	ModeAuto
)

var modeNames = [...]string{ModeIdle: "idle", ModeActive: "active", ModeWatch: "watch", ModeOff: "off", ModeAuto: "auto"}

// String gives the mode's name: idle, active, watch or off.
func (m DetectMode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return fmt.Sprintf("mode(%d)", int32(m))
	}
	return modeNames[m]
}

// ParseDetectMode reads a mode's name.
func ParseDetectMode(s string) (DetectMode, error) {
	for m, name := range modeNames {
		if s == name {
			return DetectMode(m), nil
		}
	}
	return 0, fmt.Errorf("%s is not one of %s", quote(s), strings.Join(modeNames[:], ", "))
}

// MarshalText writes the mode's name (JSON and YAML).
func (m DetectMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads a mode's name (JSON).
func (m *DetectMode) UnmarshalText(b []byte) error {
	v, err := ParseDetectMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// UnmarshalYAML reads the config's detect.mode: auto, active, idle or off (watch
// is the task loop's to set). A null value leaves m as it is.
func (m *DetectMode) UnmarshalYAML(n *yaml.Node) error {
	n = resolveAlias(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a mode (auto, active, idle or off), not %s", describe(n))
	}
	v, err := ParseDetectMode(n.Value)
	if err != nil || v == ModeWatch {
		return fmt.Errorf("%s is not one of auto, active, idle, off", quote(n.Value))
	}
	*m = v
	return nil
}

// MarshalYAML writes the mode the way UnmarshalYAML reads it.
func (m DetectMode) MarshalYAML() (any, error) { return m.String(), nil }

// The kinds of incident detection raises (detect re-exports them).
const (
	ZoneChanged    = "zone_changed"    // a zone no longer looks like its reference: bin down, rubbish dumped
	Loitering      = "loitering"       // someone stays in a restricted zone
	CameraTampered = "camera_tampered" // covered, defocused or turned away
	CameraOffline  = "camera_offline"  // no video for longer than allowed
)

// IncidentKinds lists every incident kind: the values tasks.auto_accept may
// list, the API's kind filter and OpenAPI enum, and the pages' labels
// (web/i18n.js, checked by a test).
var IncidentKinds = []string{ZoneChanged, Loitering, CameraTampered, CameraOffline}

// The roles a user may have (users[].role), and the API's callers with
// them; package task and package api take their names from here.
const (
	RoleAdmin    = "admin"    // the center, and whoever runs the bridge
	RoleStaff    = "staff"    // the center's staff on duty (值班人员): every camera, incidents, tasks
	RoleWorker   = "worker"   // a grid worker (网格员): public cameras and those of the worker's grids
	RoleResident = "resident" // a resident (居民): public cameras
)

// Roles are the values a User's Role may take.
var Roles = []string{RoleAdmin, RoleStaff, RoleWorker, RoleResident}
