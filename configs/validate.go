package configs

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// validate checks every section of a decoded config and records each problem
// with its path.
func validate(c *Config, d *decoder) {
	validateServer(d, "server", &c.Server)
	validateAuth(d, "auth", &c.Auth)
	validateRedis(d, "redis", &c.Redis)
	validateWebRTC(d, "webrtc", &c.WebRTC)
	validateIngest(d, "ingest", &c.Ingest)
	validateDetect(d, "detect", &c.Detect)
	validateTasks(d, "tasks", &c.Tasks)
	validateRecord(d, "record", &c.Record)
	validateCluster(d, "cluster", &c.Cluster)
	if strings.TrimSpace(c.DataDir) == "" {
		d.check("data_dir", "must not be empty")
	}

	if len(c.Cameras) == 0 {
		d.check("cameras", "at least one camera is required")
	}
	first := map[string]string{} // camera id → path of the camera that has it first
	for i := range c.Cameras {
		path := fmt.Sprintf("cameras[%d]", i)
		cam := &c.Cameras[i]
		validateCamera(d, path, cam)
		d.unique(first, cam.ID, path, "id", "")
		if cam.Node != "" && !nodeName.MatchString(cam.Node) {
			d.check(path+".node", fmt.Sprintf("%s is not a member's name: %s", quote(cam.Node), nodeRule))
		}
	}
	validateUsers(d, "users", c.Users, cameraGrids(c.Cameras))
	validateWebhooks(d, "webhooks", c.Webhooks)
	validateMap(d, "map", &c.Map)
}

func validateServer(d *decoder, path string, s *Server) {
	if !validHostPort(s.Addr) {
		d.check(path+".addr", fmt.Sprintf("%s must be host:port, like :8080 or 127.0.0.1:8080", quote(s.Addr)))
	}
	switch {
	case !validHostPort(s.MetricsAddr):
		d.check(path+".metrics_addr", fmt.Sprintf("%s must be host:port, like 127.0.0.1:9090", quote(s.MetricsAddr)))
	case s.MetricsAddr == s.Addr:
		d.check(path+".metrics_addr", fmt.Sprintf("%s is the API's address too: metrics go on an address of their own", quote(s.MetricsAddr)))
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "" || s.TimeZone == "Local" {
		d.check(path+".time_zone", fmt.Sprintf("%s is not a time zone: give an IANA name, like Asia/Shanghai", quote(s.TimeZone)))
	}
	if u, err := url.Parse(s.PublicURL); err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		d.check(path+".public_url", "must be an absolute http:// or https:// URL, like https://video.example.org")
	}
}

func validHostPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

func validateRedis(d *decoder, path string, r *Redis) {
	// Redis URLs often carry a password: no message repeats the URL.
	scheme, _, _ := strings.Cut(strings.ToLower(r.URL), "://")
	u, err := url.Parse(r.URL)
	switch {
	case scheme != "redis" && scheme != "rediss" && scheme != "unix":
		d.check(path+".url", "must start with redis://, rediss:// or unix://")
	case err != nil:
		d.check(path+".url", "is not a valid URL")
	case scheme == "unix" && u.Path == "":
		d.check(path+".url", "needs a socket path, like unix:///run/redis/redis.sock")
	}
	if !strings.HasSuffix(r.Prefix, ":") {
		d.check(path+".prefix", fmt.Sprintf("%s must end with ':'", quote(r.Prefix)))
	}
	checkAddrs := func(p string, addrs []string) {
		for i, a := range addrs {
			if _, port, err := net.SplitHostPort(a); err != nil || port == "" || !validHostPort(a) {
				d.check(fmt.Sprintf("%s[%d]", p, i), fmt.Sprintf("%s must be host:port, like 10.0.0.5:6379", quote(a)))
			}
		}
	}
	checkAddrs(path+".addrs", r.Addrs)
	checkAddrs(path+".sentinel.addrs", r.Sentinel.Addrs)
	sentinel := r.Sentinel.Master != "" || len(r.Sentinel.Addrs) > 0
	switch {
	case len(r.Addrs) > 0 && sentinel:
		d.check(path+".sentinel", "cannot go with redis.addrs: give a Redis Cluster's nodes (addrs) or Sentinel (sentinel), not both")
	case sentinel && r.Sentinel.Master == "":
		d.check(path+".sentinel.master", "is required with sentinel.addrs: the primary's name in the sentinels' config, like mymaster")
	case sentinel && len(r.Sentinel.Addrs) == 0:
		d.check(path+".sentinel.addrs", "needs at least one sentinel, like [10.0.0.5:26379]")
	}
	if len(r.Addrs) > 0 && err == nil && strings.Trim(u.Path, "/") != "" && strings.Trim(u.Path, "/") != "0" {
		d.check(path+".url", "names a database other than 0, which a Redis Cluster (redis.addrs) does not have")
	}
	if r.WaitReplicas < 0 || r.WaitReplicas > 16 {
		d.check(path+".wait_replicas", fmt.Sprintf("%d is outside 0..16", r.WaitReplicas))
	}
}

var nodeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

const nodeRule = "1 to 64 of A-Z, a-z, 0-9, '.', '-' and '_', starting with a letter or digit"

func validateCluster(d *decoder, path string, c *Cluster) {
	switch {
	case c.Node == "":
		d.check(path+".node", "is required: the host has no name to default to")
	case !nodeName.MatchString(c.Node):
		d.check(path+".node", fmt.Sprintf("%s must be %s", quote(c.Node), nodeRule))
	}
	if c.Lease.D() < 100*time.Millisecond || c.Lease.D() > time.Minute {
		d.check(path+".lease", fmt.Sprintf("%s is outside 100ms..1m", c.Lease.text()))
	}
	if c.HoldDown < 0 {
		d.check(path+".hold_down", "must not be negative; 0 gives cameras back at once")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			d.check(path+".public_url", "must be an absolute http:// or https:// URL, like https://bridge2.example.org")
		}
	}
}

func validateWebRTC(d *decoder, path string, w *WebRTC) {
	if w.UDPPort < 1 || w.UDPPort > 65535 {
		d.check(path+".udp_port", fmt.Sprintf("%d is outside 1..65535", w.UDPPort))
	}
	if w.TCPPort < 0 || w.TCPPort > 65535 {
		d.check(path+".tcp_port", fmt.Sprintf("%d is outside 1..65535 (0 turns ICE-TCP off)", w.TCPPort))
	}
	for i, ip := range w.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			d.check(fmt.Sprintf("%s.public_ips[%d]", path, i), fmt.Sprintf("%s is not an IP address", quote(ip)))
		}
	}
	for i := range w.ICEServers {
		validateICEServer(d, fmt.Sprintf("%s.ice_servers[%d]", path, i), &w.ICEServers[i])
	}
	if w.MaxSessions < 1 || w.MaxSessions > 100000 {
		d.check(path+".max_sessions", fmt.Sprintf("%d is outside 1..100000", w.MaxSessions))
	} else if w.MaxSessionsPerClient < 1 || w.MaxSessionsPerClient > w.MaxSessions {
		d.check(path+".max_sessions_per_client", fmt.Sprintf("%d is outside 1..%d (max_sessions)", w.MaxSessionsPerClient, w.MaxSessions))
	}
}

func validateICEServer(d *decoder, path string, s *ICEServer) {
	if len(s.URLs) == 0 {
		d.check(path+".urls", "needs at least one URL, like stun:stun.example.org:3478")
	}
	turn := false
	for i, u := range s.URLs {
		p := fmt.Sprintf("%s.urls[%d]", path, i)
		scheme, rest, _ := strings.Cut(strings.ToLower(u), ":")
		switch {
		case !strings.Contains(u, ":") || scheme != "stun" && scheme != "turn" && scheme != "turns":
			d.check(p, "must start with stun:, turn: or turns:")
		case strings.Trim(rest, "/") == "":
			d.check(p, "needs a host after "+scheme+":")
		case scheme != "stun":
			turn = true
		}
	}
	if turn && s.Username == "" {
		d.check(path+".username", "is required for a TURN server")
	}
	if turn && s.Credential == "" {
		d.check(path+".credential", "is required for a TURN server")
	}
}

var transports = []string{"auto", "udp", "tcp"}

func validateDetect(d *decoder, path string, dt *Detect) {
	for _, r := range []struct {
		field string
		v     float64
	}{{"rate", dt.Rate}, {"watch_rate", dt.WatchRate}} {
		if r.v < 0.1 || r.v > 25 {
			d.check(path+"."+r.field, fmt.Sprintf("%g is outside 0.1..25 analyses per second", r.v))
		}
	}
	validateModel(d, path+".model", &dt.Model)
	if dt.StepDown <= 0 {
		d.check(path+".step_down", "must be more than zero, like 10s")
	}
	switch {
	case dt.PersonMinPx < 16 || dt.PersonMinPx > 2000:
		d.check(path+".person_min_px", fmt.Sprintf("%d is outside 16..2000 pixels", dt.PersonMinPx))
	case dt.PersonMaxPx >= 16 && dt.PersonMaxPx <= 4000 && dt.PersonMaxPx <= dt.PersonMinPx:
		d.check(path+".person_max_px", fmt.Sprintf("%d is not above person_min_px (%d)", dt.PersonMaxPx, dt.PersonMinPx))
	}
	if dt.PersonMaxPx < 16 || dt.PersonMaxPx > 4000 {
		d.check(path+".person_max_px", fmt.Sprintf("%d is outside 16..4000 pixels", dt.PersonMaxPx))
	}
	if dt.ZoneDiff < 1 || dt.ZoneDiff > 255 {
		d.check(path+".zone_diff", fmt.Sprintf("%g is outside 1..255", dt.ZoneDiff))
	}
	for _, h := range []struct {
		field string
		v     Duration
	}{{"calm_for", dt.CalmFor}, {"offline_after", dt.OfflineAfter}, {"zone_hold", dt.ZoneHold}, {"tamper_hold", dt.TamperHold}, {"loiter_after", dt.LoiterAfter}} {
		if h.v <= 0 {
			d.check(path+"."+h.field, "must be more than zero, like 5s")
		}
	}
}

func validateModel(d *decoder, path string, m *Model) {
	if m.Path == "" {
		if m.Config != "" {
			d.check(path+".config", "given without a path to the model")
		}
		return
	}
	ext := strings.ToLower(filepath.Ext(m.Path))
	switch {
	case ext != ".onnx" && ext != ".weights":
		d.check(path+".path", fmt.Sprintf("%s is neither an .onnx file nor Darknet .weights", quote(m.Path)))
	case ext == ".weights" && m.Config == "":
		d.check(path+".config", "Darknet .weights need their .cfg here")
	}
	for _, f := range []struct{ field, file string }{{"path", m.Path}, {"config", m.Config}} {
		if f.file == "" {
			continue
		}
		if _, err := os.Stat(f.file); err != nil {
			d.check(path+"."+f.field, fmt.Sprintf("%s cannot be read: %v", quote(f.file), errors.Unwrap(err)))
		}
	}
	if m.Size < 8 || m.Size > 4096 {
		d.check(path+".size", fmt.Sprintf("%d is outside 8..4096 pixels", m.Size))
	}
	if m.Person < 0 || m.Person > 10000 {
		d.check(path+".person", fmt.Sprintf("%d is not a class number", m.Person))
	}
	if m.Score < 0 || m.Score > 1 {
		d.check(path+".score", fmt.Sprintf("%g is outside 0..1", m.Score))
	}
}

func validateTasks(d *decoder, path string, t *Tasks) {
	for _, l := range []struct {
		field string
		v     Duration
	}{{"claim_within", t.ClaimWithin}, {"arrive_within", t.ArriveWithin}, {"resolve_within", t.ResolveWithin}} {
		if l.v < 0 {
			d.check(path+"."+l.field, "must not be negative; 0 turns the limit off")
		}
	}
	d.eachOnce(path+".auto_accept", t.AutoAccept, IncidentKinds)
	if !inRange(t.ArriveRadiusM, 1, 5000) {
		d.check(path+".arrive_radius_m", formatFloat(t.ArriveRadiusM)+" is outside 1..5000 metres")
	}
	if t.VerifyHold <= 0 {
		d.check(path+".verify_hold", "must be more than zero, like 10s")
	}
	if t.ReopenWithin < 0 {
		d.check(path+".reopen_within", "must not be negative; 0 never reopens a closed task")
	}
	if !slices.Contains(WorkerNameShows, t.WorkerNameForResidents) {
		d.check(path+".worker_name_for_residents", fmt.Sprintf("%s is not one of %s", quote(t.WorkerNameForResidents), strings.Join(WorkerNameShows, ", ")))
	}
	if t.TrackPoints < 10 || t.TrackPoints > 100000 {
		d.check(path+".track_points", fmt.Sprintf("%d is outside 10..100000", t.TrackPoints))
	}
}

// What a camera's record field may say.
const (
	RecordMain = "main" // the main stream (also when the field is left out)
	RecordSub  = "sub"  // the sub-stream
	RecordOff  = "off"  // nothing
)

// minQuota is the smallest record.max_bytes: below it a quota would remove
// a camera's segments as fast as they come.
const minQuota = 16 << 20

func validateRecord(d *decoder, path string, r *Record) {
	if r.Keep < Duration(time.Minute) || r.Keep > Duration(7*24*time.Hour) {
		d.check(path+".keep", fmt.Sprintf("%s is outside 1m..168h (7 days)", r.Keep.text()))
	}
	if r.MaxBytes != 0 && r.MaxBytes < minQuota {
		d.check(path+".max_bytes", fmt.Sprintf("%d is less than 16777216 (16 MiB); 0 sets no cap", r.MaxBytes))
	}
	if r.Before < 0 || r.Before > Duration(5*time.Minute) {
		d.check(path+".before", fmt.Sprintf("%s is outside 0s..5m", r.Before.text()))
	}
	if r.After < Duration(time.Second) || r.After > Duration(5*time.Minute) {
		d.check(path+".after", fmt.Sprintf("%s is outside 1s..5m", r.After.text()))
	}
	if r.EvidenceDays < 1 || r.EvidenceDays > 3650 {
		d.check(path+".evidence_days", fmt.Sprintf("%d is outside 1..3650 days", r.EvidenceDays))
	}
}

func validateIngest(d *decoder, path string, in *Ingest) {
	if !slices.Contains(transports, in.Transport) {
		d.check(path+".transport", fmt.Sprintf("%s is not one of auto, udp, tcp", quote(in.Transport)))
	}
	if in.StallTimeout <= 0 {
		d.check(path+".stall_timeout", "must be more than zero, like 5s")
	}
	if in.BackoffMin <= 0 {
		d.check(path+".backoff_min", "must be more than zero, like 1s")
	}
	if in.BackoffMax < in.BackoffMin {
		d.check(path+".backoff_max", fmt.Sprintf("%s is less than backoff_min (%s)", in.BackoffMax.text(), in.BackoffMin.text()))
	}
	if in.QueueLen < 1 || in.QueueLen > 100000 {
		d.check(path+".queue_len", fmt.Sprintf("%d is outside 1..100000", in.QueueLen))
	}
	if in.GOPMaxBytes < 65536 {
		d.check(path+".gop_max_bytes", fmt.Sprintf("%d is less than 65536 (64 KiB)", in.GOPMaxBytes))
	}
}

var cameraID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

func validateCamera(d *decoder, path string, c *Camera) {
	switch {
	case c.ID == "":
		d.check(path+".id", "is required")
	case !cameraID.MatchString(c.ID):
		d.check(path+".id", fmt.Sprintf("%s must be 1 to 32 of a-z, 0-9, '-' and '_', starting with a letter or digit", quote(c.ID)))
	}
	validateName(d, path+".name", c.Name)
	if strings.TrimSpace(c.Grid) == "" {
		d.check(path+".grid", "is required")
	}
	if !inRange(c.Location.Lat, -90, 90) {
		d.check(path+".location.lat", formatFloat(c.Location.Lat)+" is outside -90..90")
	}
	if !inRange(c.Location.Lng, -180, 180) {
		d.check(path+".location.lng", formatFloat(c.Location.Lng)+" is outside -180..180")
	}
	if c.URL == "" {
		d.check(path+".url", "is required")
	} else if msg := checkStreamURL(c.URL); msg != "" {
		d.check(path+".url", msg)
	}
	for _, u := range [...]struct{ field, url string }{{"sub_url", c.SubURL}, {"detect_url", c.DetectURL}} {
		if u.url != "" {
			if msg := checkStreamURL(u.url); msg != "" {
				d.check(path+"."+u.field, msg)
			}
		}
	}
	switch c.Record {
	case "", RecordMain, RecordOff:
	case RecordSub:
		if c.SubURL == "" {
			d.check(path+".record", "sub records the sub-stream, but this camera has no sub_url")
		}
	default:
		d.check(path+".record", fmt.Sprintf("%s is not one of main, sub, off", quote(c.Record)))
	}
	if c.Transport != "" && !slices.Contains(transports, c.Transport) {
		d.check(path+".transport", fmt.Sprintf("%s is not one of auto, udp, tcp (leave it out to use ingest.transport)", quote(c.Transport)))
	}

	first := map[string]string{} // zone name → path of the zone that has it first
	for i := range c.Zones {
		zp := fmt.Sprintf("%s.zones[%d]", path, i)
		z := &c.Zones[i]
		validateZone(d, zp, z)
		d.unique(first, z.Name, zp, "name", " in this camera")
	}
}

func validateName(d *decoder, path, name string) {
	switch n := utf8.RuneCountInString(name); {
	case strings.TrimSpace(name) == "":
		d.check(path, "is required")
	case n > 64:
		d.check(path, fmt.Sprintf("is %d characters long; at most 64 are allowed", n))
	case !utf8.ValidString(name):
		d.check(path, "is not valid UTF-8 text")
	}
}

// checkStreamURL checks a camera URL. The message never repeats the URL: it
// may hold the camera's password.
func checkStreamURL(s string) string {
	lower := strings.ToLower(s)
	if !strings.HasPrefix(lower, "rtsp://") && !strings.HasPrefix(lower, "rtsps://") {
		return "must start with rtsp:// or rtsps://"
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a valid URL (a password with @, / or # in it must be %-encoded)"
	case u.Hostname() == "":
		return "has no host; write it like rtsp://user:pass@192.168.1.20:554/stream1"
	}
	return ""
}

func validateZone(d *decoder, path string, z *Zone) {
	validateName(d, path+".name", z.Name)
	switch {
	case z.Kind == "":
		d.check(path+".kind", "is required (one of "+strings.Join(ZoneKinds, ", ")+")")
	case !slices.Contains(ZoneKinds, z.Kind):
		d.check(path+".kind", fmt.Sprintf("%s is not one of %s", quote(z.Kind), strings.Join(ZoneKinds, ", ")))
	}
	if z.Hold < 0 {
		d.check(path+".hold", "must not be negative; leave it out for detect.zone_hold, or write one like 1m")
	}
	if len(z.Polygon) < 3 {
		d.check(path+".polygon", "needs at least 3 points")
		return
	}
	inside := true
	for i, p := range z.Polygon {
		if !inRange(p.X, 0, 1) || !inRange(p.Y, 0, 1) {
			inside = false
			d.check(fmt.Sprintf("%s.polygon[%d]", path, i), p.text()+" is outside the picture; x and y go from 0 to 1")
		}
	}
	// A point that could not be read is zero here; its own problem says so.
	if inside && !d.badBelow(path+".polygon") && area(z.Polygon) == 0 {
		d.check(path+".polygon", "has no area: its points are on one line")
	}
}

// eachOnce checks that every entry of list (at path[i]) is one of known
// and is listed once.
func (d *decoder) eachOnce(path string, list, known []string) {
	first := map[string]string{} // name → path of the entry that lists it first
	for i, k := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !slices.Contains(known, k) {
			d.check(p, fmt.Sprintf("%s is not one of %s", quote(k), strings.Join(known, ", ")))
			continue
		}
		if fp, dup := first[k]; dup {
			line, _ := d.pos(fp)
			d.check(p, fmt.Sprintf("%s is listed twice (first at line %d)", quote(k), line))
			continue
		}
		first[k] = p
	}
}

// inRange is false for NaN too.
func inRange(f, lo, hi float64) bool {
	return f >= lo && f <= hi
}

// area is the polygon's area by the shoelace formula.
func area(poly []Point) float64 {
	var a float64
	for i, p := range poly {
		q := poly[(i+1)%len(poly)]
		a += p.X*q.Y - q.X*p.Y
	}
	if a < 0 {
		a = -a
	}
	return a / 2
}

// unique reports key (the value of field under path) when an earlier entry
// recorded in first already has it; where says in what scope ("" for all).
func (d *decoder) unique(first map[string]string, key, path, field, where string) {
	if key == "" {
		return
	}
	if fp, dup := first[key]; dup {
		line, _ := d.pos(fp + "." + field)
		d.check(path+"."+field, fmt.Sprintf("%s is used twice%s (first at line %d)", quote(key), where, line))
		return
	}
	first[key] = path
}
