// Package configs owns the bridge's one YAML configuration file: its schema,
// its defaults, its validation and the files shipped with the project
// (demo.yaml is the demo set of ten simulated street cameras).
//
// Load reads a file, fills in defaults and checks every field. A bad file gives
// an *Error that lists every problem found, each with the file, line, column and
// field path, for example:
//
//	configs/demo.yaml:12:7: cameras[3].zones[0].polygon: needs at least 3 points
package configs

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // server.time_zone loads where the machine has no zone database
)

// Config is the whole bridge configuration.
type Config struct {
	Server  Server   `yaml:"server"`
	Auth    Auth     `yaml:"auth"`
	Users   []User   `yaml:"users"`
	Redis   Redis    `yaml:"redis"`
	WebRTC  WebRTC   `yaml:"webrtc"`
	Ingest  Ingest   `yaml:"ingest"`
	Detect  Detect   `yaml:"detect"`
	Tasks   Tasks    `yaml:"tasks"`
	Record  Record   `yaml:"record"`
	Cluster Cluster  `yaml:"cluster"`
	DataDir string   `yaml:"data_dir"` // default "data"
	Cameras []Camera `yaml:"cameras"`
	// Webhooks are called on task events (see Webhook); none by default.
	Webhooks []Webhook `yaml:"webhooks"`
	// Map is the pages' map: tiles, where it opens, what counts as nearby.
	Map Map `yaml:"map"`
}

// Server is the HTTP side of the bridge: where it listens and how it is reached.
type Server struct {
	Addr       string `yaml:"addr"`        // default ":8080"; must be host:port (host may be empty)
	PublicURL  string `yaml:"public_url"`  // default "http://localhost:8080"; http or https absolute URL
	StaffToken string `yaml:"staff_token"` // optional static service token (scripts, the wall); it has the role staff
	// MetricsAddr is where GET /metrics is served, for operators only: it
	// names every camera, private ones too. Default "127.0.0.1:9090";
	// host:port, not the same as addr.
	MetricsAddr string `yaml:"metrics_addr"`
	// TimeZone is the center's time zone, an IANA name (default
	// "Asia/Shanghai"): the days of the statistics and the times the pages
	// and the server's sentences show. Location gives it loaded.
	TimeZone string `yaml:"time_zone"`
}

// Location is the center's time zone (server.time_zone), loaded: the
// default, Asia/Shanghai, when it is empty, and UTC when the name does not
// load (which validation refuses).
func (s Server) Location() *time.Location {
	loc, err := time.LoadLocation(cmp.Or(s.TimeZone, "Asia/Shanghai"))
	if err != nil {
		return time.UTC
	}
	return loc
}

// Auth is how the bridge signs the tokens it gives at login, and how long
// they last.
type Auth struct {
	// Secret is the key that signs tokens: at least 32 bytes, optional. When
	// empty the bridge makes a random one and keeps it in Redis
	// (<prefix>auth:secret), so a restart does not log everyone out.
	Secret    string   `yaml:"secret"`
	TokenTTL  Duration `yaml:"token_ttl"`  // how long a login lasts, default 12h
	DeviceTTL Duration `yaml:"device_ttl"` // how long a resident's device token lasts, default 8760h (a year)
}

// User is one person who logs in: center staff, a grid worker (网格员), a
// resident with an account, or an admin.
type User struct {
	Name         string   `yaml:"name"`          // the login: required, ^[a-z0-9][a-z0-9_.-]{0,31}$, unique, not starting with "dev-"
	DisplayName  string   `yaml:"display_name"`  // optional, what people see, max 64 runes
	Role         string   `yaml:"role"`          // one of Roles
	PasswordHash string   `yaml:"password_hash"` // required, bcrypt ($2a$, $2b$ or $2y$); bridge -hash-password makes one
	Grids        []string `yaml:"grids"`         // a worker's grids, at least one, each the grid of a camera; workers only
	Phone        string   `yaml:"phone"`         // optional
}

// Redis is where tasks and their timelines are stored. One Redis is
// reached by URL; a Redis Cluster by Addrs, a primary watched by Sentinel by
// Sentinel; with either, the URL's user, password and TLS (rediss://)
// still apply.
type Redis struct {
	URL    string `yaml:"url"`    // default "redis://127.0.0.1:6379/0"; scheme redis, rediss or unix
	Prefix string `yaml:"prefix"` // default "qly:"; must end with ':'
	// Addrs are seed nodes of a Redis Cluster, each host:port; the URL's
	// database must then be 0 (a cluster has no other).
	Addrs    []string `yaml:"addrs"`
	Sentinel Sentinel `yaml:"sentinel"` // not with addrs
	// WaitReplicas is how many replicas must have a task change before the
	// store says it is made (Redis WAIT, within a second), so that an
	// acknowledged change survives a failover; default 0; 0..16. Behind
	// Sentinel with one replica, 1.
	WaitReplicas int `yaml:"wait_replicas"`
}

// Sentinel names a Redis primary watched by Redis Sentinel: the bridge
// asks the sentinels where the primary is and follows its failovers.
type Sentinel struct {
	Master string   `yaml:"master"` // the primary's name in the sentinels' config; required with addrs
	Addrs  []string `yaml:"addrs"`  // the sentinels, each host:port; required with master
}

// Cluster makes several bridges on one Redis one: each is a member with a
// lease in Redis, each camera is read by one member (its owner) and every
// member answers the API.
type Cluster struct {
	Node      string   `yaml:"node"`       // this member's name, default the host name; ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$
	Lease     Duration `yaml:"lease"`      // a member is gone this long after its last renewal, default 5s; 100ms..1m
	HoldDown  Duration `yaml:"hold_down"`  // a member that comes back takes its cameras back after being live this long, default 30s; 0 or more
	PublicURL string   `yaml:"public_url"` // this member's URL, where others send viewers of its cameras; default server.public_url
	// ProxyWHEP has a member relay the WHEP requests (POST, PATCH,
	// DELETE) of cameras it does not own to their owner instead of
	// answering 307, for viewers that reach one member only (a single
	// public address, a proxy that does not follow redirects). The media
	// still flows between the viewer and the owner's WebRTC port.
	ProxyWHEP bool `yaml:"proxy_whep"`
}

// MemberURL is where this member is reached: cluster.public_url, else
// server.public_url.
func (c *Config) MemberURL() string {
	if c.Cluster.PublicURL != "" {
		return c.Cluster.PublicURL
	}
	return c.Server.PublicURL
}

// WebRTC holds the ports and ICE settings used to send video to browsers.
type WebRTC struct {
	UDPPort    int         `yaml:"udp_port"`   // default 8189, 1..65535
	TCPPort    int         `yaml:"tcp_port"`   // default 8189 (ICE-TCP fallback), 0 disables, else 1..65535
	PublicIPs  []string    `yaml:"public_ips"` // NAT 1:1 addresses, each a valid IP
	ICEServers []ICEServer `yaml:"ice_servers"`
	// MaxSessions caps WebRTC viewers over all cameras, connected or not:
	// default 1000, 1..100000.
	MaxSessions int `yaml:"max_sessions"`
	// MaxSessionsPerClient caps the viewers of one client address (an
	// IPv6 client's /64): default 50 (a wall of 36 tiles, each enlarged
	// once, or a few phones behind one NAT), 1..max_sessions.
	MaxSessionsPerClient int `yaml:"max_sessions_per_client"`
}

// ICEServer is one STUN or TURN server offered to browsers.
type ICEServer struct {
	URLs       []string `yaml:"urls"`       // at least one; each starts with stun:, turn: or turns:
	Username   string   `yaml:"username"`   // required for turn/turns
	Credential string   `yaml:"credential"` // required for turn/turns
}

// Detect tunes the detection stage; the thresholds are in words in
// detect.Thresholds.
type Detect struct {
	Mode         DetectMode `yaml:"mode"`          // auto (default: key frames while calm, every frame while something moves near a zone), active (every frame decoded, Rate analyses/s), idle (key frames only), off
	StepDown     Duration   `yaml:"step_down"`     // auto: how long a camera stays stepped up after the last thing that moved near a zone, default 10s; > 0
	Rate         float64    `yaml:"rate"`          // analyses per second when active, default 2; 0.1..25
	WatchRate    float64    `yaml:"watch_rate"`    // while a task waits for verification, default 5; 0.1..25
	CalmFor      Duration   `yaml:"calm_for"`      // calm time before a camera's reference look is taken, default 1m
	OfflineAfter Duration   `yaml:"offline_after"` // camera_offline after this long without video, default 1m
	ZoneDiff     float64    `yaml:"zone_diff"`     // mean luma difference (1..255) that makes a zone differ, default 18
	ZoneHold     Duration   `yaml:"zone_hold"`     // how long a zone must differ (or match) to raise (or clear), default 3s; a zone's own hold comes first
	TamperHold   Duration   `yaml:"tamper_hold"`   // how long a camera must look tampered, default 3s
	LoiterAfter  Duration   `yaml:"loiter_after"`  // how long someone may stay in a restricted zone before loitering, default 30s
	PersonMinPx  int        `yaml:"person_min_px"` // the smallest person looked for, pixels tall in the decoded picture, default 50; 16..2000
	PersonMaxPx  int        `yaml:"person_max_px"` // the largest, default 400; above person_min_px, up to 4000
	Model        Model      `yaml:"model"`         // optional object detection model, used for people instead of HOG
}

// Model is an object detection model for OpenCV's DNN module: an ONNX file,
// or Darknet weights with their cfg. None ships with the bridge.
type Model struct {
	Path   string  `yaml:"path"`   // .onnx, or .weights with config; empty: no model
	Config string  `yaml:"config"` // the Darknet .cfg
	Size   int     `yaml:"size"`   // square input in pixels, default 320, 8..4096
	Person int     `yaml:"person"` // the class number of people: 0 (default) for COCO YOLO, 1 for COCO SSD
	Score  float64 `yaml:"score"`  // lowest score that counts, default 0.5, 0..1
}

// Tasks sets the time limits of work orders (工单) and how cameras and phones
// confirm them. A limit of 0 turns that limit off; a task past a limit is
// marked overdue once per stage, it is not stopped.
type Tasks struct {
	ClaimWithin   Duration `yaml:"claim_within"`    // a dispatched task must be claimed (签收) within this, default 5m; 0 or more
	ArriveWithin  Duration `yaml:"arrive_within"`   // a claimed task must be arrived at within this, default 30m; 0 or more
	ResolveWithin Duration `yaml:"resolve_within"`  // from the first dispatch to the worker's submission (交单), default 24h; 0 or more
	AutoAccept    []string `yaml:"auto_accept"`     // incident kinds accepted (核单) without staff, each one of IncidentKinds
	ArriveRadiusM float64  `yaml:"arrive_radius_m"` // how near the task's place a worker's GPS check-in must be, default 50 m, 1..5000
	VerifyHold    Duration `yaml:"verify_hold"`     // how long a zone must match its reference before verification is proposed, default 10s; > 0
	ReopenWithin  Duration `yaml:"reopen_within"`   // an incident of the same camera, zone and kind this soon after its task closed reopens it, default 1h; 0: never
	// WorkerNameForResidents is how a resident sees the worker of a task:
	// "full" (the display name), "surname" (default: 王师傅 for 王五, else
	// 网格员) or "none" (网格员); never the login.
	WorkerNameForResidents string `yaml:"worker_name_for_residents"`
	// TrackPoints caps the positions kept of one task's track (the worker's
	// phone reports one every 15 s while the task is claimed or arrived):
	// default 2880 (12 hours), 10..100000; the oldest go first.
	TrackPoints int `yaml:"track_points"`
}

// Record sets the rolling recording of every camera (fragmented MP4
// segments under data_dir/rec) and the clips kept as evidence of tasks
// (under data_dir/clips).
type Record struct {
	Keep         Duration `yaml:"keep"`          // how far back each camera's recording goes, default 30m; 1m..7d
	MaxBytes     int      `yaml:"max_bytes"`     // cap of all cameras' segments on disk, oldest removed first; 0 (default): no cap, else >= 16 MiB
	Before       Duration `yaml:"before"`        // a clip starts this long before its moment, default 10s; 0..5m
	After        Duration `yaml:"after"`         // and ends this long after it, default 20s; 1s..5m
	EvidenceDays int      `yaml:"evidence_days"` // how many days clips are kept, default 180; 1..3650
}

// WorkerNameShows are the values of tasks.worker_name_for_residents.
var WorkerNameShows = []string{"full", "surname", "none"}

// Ingest tunes how camera streams are pulled over RTSP and fanned out.
type Ingest struct {
	Transport    string   `yaml:"transport"`     // "auto" (default: try UDP, fall back to TCP), "udp", "tcp"
	StallTimeout Duration `yaml:"stall_timeout"` // default 5s; > 0
	BackoffMin   Duration `yaml:"backoff_min"`   // default 1s; > 0
	BackoffMax   Duration `yaml:"backoff_max"`   // default 30s; >= backoff_min
	QueueLen     int      `yaml:"queue_len"`     // per-subscriber queue in access units, default 128, 1..100000
	GOPMaxBytes  int      `yaml:"gop_max_bytes"` // cap of the cached GOP, default 8 MiB (8388608), >= 65536
}

// Camera is one street camera: where its streams are, where it stands, who may
// watch it and which zones of its picture detection looks at.
type Camera struct {
	ID        string   `yaml:"id"`   // required, ^[a-z0-9][a-z0-9_-]{0,31}$, unique
	Name      string   `yaml:"name"` // required, Chinese is normal, max 64 runes
	Grid      string   `yaml:"grid"` // 网格 id, required
	Location  Location `yaml:"location"`
	URL       string   `yaml:"url"`        // required, rtsp:// or rtsps://, credentials allowed (rtsp://user:pass@host:port/path)
	SubURL    string   `yaml:"sub_url"`    // optional second, low-resolution stream (tiles, phones), same rules as url; read only while needed
	DetectURL string   `yaml:"detect_url"` // optional stream for detection alone, same rules as url
	Public    bool     `yaml:"public"`     // whether residents may watch
	Transport string   `yaml:"transport"`  // optional per-camera override: "", "auto", "udp", "tcp"
	Record    string   `yaml:"record"`     // what is recorded: "" or "main" (default), "sub" (the sub-stream; needs sub_url), "off"
	Zones     []Zone   `yaml:"zones"`
	Node      string   `yaml:"node"` // optional: the cluster member that reads it while live (cluster.node's rules)
}

// Location is where a camera stands on the map.
type Location struct {
	Lat     float64 `yaml:"lat"` // -90..90
	Lng     float64 `yaml:"lng"` // -180..180
	Address string  `yaml:"address"`
}

// Zone is an area of a camera's picture that detection watches, such as the
// spot where the trash bins stand or a fire passage that must stay clear.
type Zone struct {
	Name    string  `yaml:"name"`    // required, unique within the camera
	Kind    string  `yaml:"kind"`    // one of ZoneKinds
	Polygon []Point `yaml:"polygon"` // at least 3 points, each coordinate in [0,1]
	// Hold is how long this zone must differ (or match) to raise (or
	// clear); 0 takes detect.zone_hold. A passage where vans stop to
	// unload wants minutes, a bin seconds.
	Hold Duration `yaml:"hold"`
}

// ZoneKinds are the values a Zone's Kind may take: "bin" (trash bins stand
// here), "dumping" (a spot where rubbish gets dumped), "passage" (must stay
// clear), "restricted" (nobody should enter) and "watch" (just watched).
var ZoneKinds = []string{"bin", "dumping", "passage", "restricted", "watch"}

// Load reads, defaults and validates the file at path. Each override, such
// as a command-line flag's value, is applied after the file is read and
// before validation.
func Load(path string, overrides ...func(*Config)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// The path goes first, once; PathError would repeat it.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: cannot read the config file: %w", path, err)
	}
	return Parse(path, data, overrides...)
}

// Parse does the same as Load for bytes already read; name is used in error
// messages. Fields the file leaves out keep their defaults; the result is
// either a valid *Config or an *Error listing every problem.
func Parse(name string, data []byte, overrides ...func(*Config)) (*Config, error) {
	cfg := &Config{}
	setDefaults(cfg)
	d := newDecoder(name)
	d.decodeFile(data, cfg)
	webhookDefaults(cfg.Webhooks)
	for _, o := range overrides {
		o(cfg)
	}
	if !d.fatal {
		validate(cfg, d)
	}
	if len(d.probs) > 0 {
		return nil, &Error{Problems: d.sorted()}
	}
	return cfg, nil
}

// Camera returns the camera with that id, or nil.
func (c *Config) Camera(id string) *Camera {
	for i := range c.Cameras {
		if c.Cameras[i].ID == id {
			return &c.Cameras[i]
		}
	}
	return nil
}

// User returns the user with that login name, or nil.
func (c *Config) User(name string) *User {
	for i := range c.Users {
		if c.Users[i].Name == name {
			return &c.Users[i]
		}
	}
	return nil
}

// Error is what Load returns for an invalid file: every problem found, not just
// the first, in the order they appear in the file.
type Error struct {
	Problems []Problem
}

// Error joins the problems, one per line.
func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return "invalid configuration"
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Problem is one thing wrong in a config file. Line and Column are 1-based and
// zero when unknown; Path names the field, like "cameras[3].zones[0].polygon",
// and is empty for the file as a whole.
type Problem struct {
	File         string
	Line, Column int
	Path         string
	Msg          string
}

// String gives the problem as "file:line:column: path: message", leaving out
// the parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Column))
		}
	}
	for _, s := range []string{p.Path, p.Msg} {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(s)
	}
	return b.String()
}
