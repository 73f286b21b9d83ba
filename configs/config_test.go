package configs

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
)

// oneCamera is a valid cameras section of five lines; cases that test other
// sections append to it, so their lines start at 6.
const oneCamera = `cameras:
  - id: cam1
    name: 花巷口
    grid: hexia-01
    url: rtsp://127.0.0.1:8554/cam/1
`

// testHash is a bcrypt hash (cost 10) of "staff-demo".
const testHash = "$2a$10$/vrds3WTwbduv4bCNhRSdOEXFdr.0UuozUbE1Rh//JxR5bOp5DWdq"

// user is a users section of one user with the given fields and testHash as
// password_hash; after oneCamera it starts at line 6, the user at line 7.
func user(fields string) string {
	return "users:\n  - {" + fields + ", password_hash: \"" + testHash + "\"}\n"
}

// defaults is what Parse gives for oneCamera.
func defaults() *Config {
	return &Config{
		Server: Server{Addr: ":8080", PublicURL: "http://localhost:8080", MetricsAddr: "127.0.0.1:9090", TimeZone: "Asia/Shanghai"},
		Auth:   Auth{TokenTTL: Duration(12 * time.Hour), DeviceTTL: Duration(8760 * time.Hour)},
		Redis:  Redis{URL: "redis://127.0.0.1:6379/0", Prefix: "qly:"},
		WebRTC: WebRTC{UDPPort: 8189, TCPPort: 8189, MaxSessions: 1000, MaxSessionsPerClient: 50},
		Ingest: Ingest{
			Transport:    "auto",
			StallTimeout: Duration(5 * time.Second),
			BackoffMin:   Duration(time.Second),
			BackoffMax:   Duration(30 * time.Second),
			QueueLen:     128,
			GOPMaxBytes:  8388608,
		},
		Detect: Detect{Mode: ModeAuto, StepDown: Duration(10 * time.Second), Rate: 2, WatchRate: 5, CalmFor: Duration(time.Minute), OfflineAfter: Duration(time.Minute),
			ZoneDiff: 18, ZoneHold: Duration(3 * time.Second), TamperHold: Duration(3 * time.Second), LoiterAfter: Duration(30 * time.Second), PersonMinPx: 50, PersonMaxPx: 400, Model: Model{Size: 320, Score: 0.5}},
		Tasks: Tasks{ClaimWithin: Duration(5 * time.Minute), ArriveWithin: Duration(30 * time.Minute), ResolveWithin: Duration(24 * time.Hour),
			ArriveRadiusM: 50, VerifyHold: Duration(10 * time.Second), ReopenWithin: Duration(time.Hour), WorkerNameForResidents: "surname", TrackPoints: 2880},
		Record:  Record{Keep: Duration(30 * time.Minute), Before: Duration(10 * time.Second), After: Duration(20 * time.Second), EvidenceDays: 180},
		Cluster: Cluster{Node: hostname(), Lease: Duration(5 * time.Second), HoldDown: Duration(30 * time.Second)},
		DataDir: "data",
		Cameras: []Camera{{ID: "cam1", Name: "花巷口", Grid: "hexia-01", URL: "rtsp://127.0.0.1:8554/cam/1"}},
		Map:     Map{Subdomains: "abc", MaxZoom: 18, NearbyM: 500},
	}
}

func TestGoodFilesLoad(t *testing.T) {
	zones := []Zone{
		{Name: "垃圾桶", Kind: "bin", Polygon: []Point{{0.1, 0.5}, {0.3, 0.5}, {0.3, 0.65}, {0.1, 0.65}}},
		{Name: "消防通道", Kind: "passage", Polygon: []Point{{0.4, 0.65}, {0.6, 0.65}, {0.8, 1}, {0.2, 1}}, Hold: Duration(2 * time.Minute)},
		{Name: "配电房", Kind: "restricted", Polygon: []Point{{0, 0}, {0.2, 0}, {0.2, 0.3}}},
	}
	loc := Location{Lat: 33.50012, Lng: 119.13921, Address: "淮安区河下古镇花巷口"}
	full := &Config{
		Server: Server{Addr: "127.0.0.1:9090", PublicURL: "https://video.example.org/qly", StaffToken: "s3cret-staff", MetricsAddr: "10.0.0.5:9191", TimeZone: "Asia/Urumqi"},
		Auth:   Auth{Secret: "0123456789abcdef0123456789abcdef", TokenTTL: Duration(8 * time.Hour), DeviceTTL: Duration(720 * time.Hour)},
		Users: []User{
			{Name: "wang.min", DisplayName: "值班员 王敏", Role: "staff", PasswordHash: testHash},
			{Name: "li_qiang", DisplayName: "网格员 李强", Role: "worker", PasswordHash: testHash, Grids: []string{"hexia-01"}, Phone: "+86 138-0000-0001"},
		},
		Redis: Redis{URL: "rediss://:redispass@redis.example.org:6380/2", Prefix: "qly-test:"},
		WebRTC: WebRTC{
			UDPPort:              50000,
			TCPPort:              0,
			PublicIPs:            []string{"203.0.113.7", "2001:db8::7"},
			MaxSessions:          200,
			MaxSessionsPerClient: 10,
			ICEServers: []ICEServer{
				{URLs: []string{"stun:stun.example.org:3478"}},
				{
					URLs:       []string{"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"},
					Username:   "qianliyan",
					Credential: "change-me",
				},
			},
		},
		Ingest: Ingest{
			Transport:    "tcp",
			StallTimeout: Duration(2500 * time.Millisecond),
			BackoffMin:   Duration(500 * time.Millisecond),
			BackoffMax:   Duration(90 * time.Second),
			QueueLen:     512,
			GOPMaxBytes:  65536,
		},
		Detect:  defaults().Detect,
		Tasks:   defaults().Tasks,
		Record:  defaults().Record,
		Cluster: defaults().Cluster,
		DataDir: "/var/lib/qianliyan",
		Map: Map{Tiles: "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY",
			Subdomains: "01234567", Attribution: "© 天地图", Center: LatLng{Lat: 33.5, Lng: 119.14}, Zoom: 16, MaxZoom: 18, NearbyM: 300},
		Cameras: []Camera{
			{
				ID: "cam-01", Name: "河下古镇·花巷口", Grid: "hexia-01", Location: loc,
				URL:       "rtsp://admin:p%40ss@192.168.1.20:554/Streaming/Channels/101",
				DetectURL: "rtsps://admin:p%40ss@192.168.1.20:322/Streaming/Channels/102",
				Public:    true, Transport: "udp", Zones: zones,
			},
			{
				ID: "cam_02", Name: "估衣街西段", Grid: "hexia-01", Location: loc,
				URL:    "rtsp://127.0.0.1:8554/cam/2",
				Public: true, Zones: zones,
			},
		},
	}

	withCam := func(change func(c *Camera)) *Config {
		c := defaults()
		change(&c.Cameras[0])
		return c
	}
	tests := []struct {
		name string
		file string // a file under testdata, or
		yaml string // the text of the file
		want *Config
	}{
		{name: "minimal file takes every default", file: "testdata/minimal.yaml", want: defaults()},
		{name: "every field set, anchors and merge keys", file: "testdata/full.yaml", want: full},
		{
			name: "credentials in the camera URL are allowed",
			yaml: strings.Replace(oneCamera, "rtsp://127.0.0.1", "rtsp://admin:Hik12345@127.0.0.1", 1),
			want: withCam(func(c *Camera) { c.URL = "rtsp://admin:Hik12345@127.0.0.1:8554/cam/1" }),
		},
		{
			name: "password with @ in it is allowed",
			yaml: strings.Replace(oneCamera, "rtsp://127.0.0.1", "rtsp://admin:p@ss@127.0.0.1", 1),
			want: withCam(func(c *Camera) { c.URL = "rtsp://admin:p@ss@127.0.0.1:8554/cam/1" }),
		},
		{
			name: "tcp_port 0 turns ICE-TCP off instead of taking the default",
			yaml: oneCamera + "webrtc:\n  tcp_port: 0\n",
			want: func() *Config { c := defaults(); c.WebRTC.TCPPort = 0; return c }(),
		},
		{
			name: "empty sections and fields keep their defaults",
			yaml: oneCamera + "server:\nredis:\n  url:\n  prefix: ~\nwebrtc: {}\ningest:\n  stall_timeout:\ndata_dir:\n",
			want: defaults(),
		},
		{
			name: "empty lists are fine where a list is optional",
			yaml: oneCamera + "    zones: []\nwebrtc:\n  public_ips: []\n  ice_servers: []\n",
			want: defaults(),
		},
		{
			name: "a camera may set its own transport and detect stream",
			yaml: oneCamera + "    transport: tcp\n    detect_url: rtsps://cam.example.org/sub\n    public: true\n",
			want: withCam(func(c *Camera) {
				c.Transport, c.DetectURL, c.Public = "tcp", "rtsps://cam.example.org/sub", true
			}),
		},
		{
			name: "tasks: limits turned off and kinds accepted automatically",
			yaml: oneCamera + "tasks:\n  claim_within: 0\n  resolve_within: 0s\n  auto_accept: [camera_offline, camera_tampered]\n  arrive_radius_m: 120.5\n",
			want: func() *Config {
				c := defaults()
				c.Tasks.ClaimWithin, c.Tasks.ResolveWithin = 0, 0
				c.Tasks.AutoAccept = []string{"camera_offline", "camera_tampered"}
				c.Tasks.ArriveRadiusM = 120.5
				return c
			}(),
		},
		{
			name: "users of every role; a worker's grids are camera grids",
			yaml: oneCamera + "users:\n" +
				"  - {name: admin, role: admin, password_hash: \"" + testHash + "\"}\n" +
				"  - {name: wang.min, display_name: 值班员 王敏, role: staff, password_hash: \"" + testHash + "\"}\n" +
				"  - {name: worker-1, role: worker, password_hash: \"" + testHash + "\", grids: [hexia-01], phone: \"13800000001\"}\n" +
				"  - {name: chen_ayi, role: resident, password_hash: \"" + testHash + "\"}\n" +
				"auth:\n  secret: \"" + strings.Repeat("k", 32) + "\"\n  token_ttl: 30m\n",
			want: func() *Config {
				c := defaults()
				c.Users = []User{
					{Name: "admin", Role: "admin", PasswordHash: testHash},
					{Name: "wang.min", DisplayName: "值班员 王敏", Role: "staff", PasswordHash: testHash},
					{Name: "worker-1", Role: "worker", PasswordHash: testHash, Grids: []string{"hexia-01"}, Phone: "13800000001"},
					{Name: "chen_ayi", Role: "resident", PasswordHash: testHash},
				}
				c.Auth.Secret, c.Auth.TokenTTL = strings.Repeat("k", 32), Duration(30*time.Minute)
				return c
			}(),
		},
		{
			name: "record: a quota, shorter clips, the sub-stream of one camera",
			yaml: oneCamera + "    sub_url: rtsp://127.0.0.1:8554/cam/1/sub\n    record: sub\n" +
				"record:\n  keep: 2h\n  max_bytes: 1073741824\n  before: 0s\n  after: 5s\n  evidence_days: 365\n",
			want: func() *Config {
				c := defaults()
				c.Cameras[0].SubURL, c.Cameras[0].Record = "rtsp://127.0.0.1:8554/cam/1/sub", "sub"
				c.Record = Record{Keep: Duration(2 * time.Hour), MaxBytes: 1 << 30, After: Duration(5 * time.Second), EvidenceDays: 365}
				return c
			}(),
		},
		{
			name: "a cluster member: its name, lease, hold-down and URL; a camera pinned to a member",
			yaml: oneCamera + "    node: bridge-2\ncluster:\n  node: bridge-1\n  lease: 600ms\n  hold_down: 0\n  public_url: http://10.0.0.5:8081\n",
			want: func() *Config {
				c := defaults()
				c.Cameras[0].Node = "bridge-2"
				c.Cluster = Cluster{Node: "bridge-1", Lease: Duration(600 * time.Millisecond), PublicURL: "http://10.0.0.5:8081"}
				return c
			}(),
		},
		{
			name: "redis cluster by its nodes",
			yaml: oneCamera + "redis:\n  url: redis://:pw@x:6379/0\n  addrs: [10.0.0.5:7000, \"[::1]:7001\"]\n",
			want: func() *Config {
				c := defaults()
				c.Redis.URL, c.Redis.Addrs = "redis://:pw@x:6379/0", []string{"10.0.0.5:7000", "[::1]:7001"}
				return c
			}(),
		},
		{
			name: "redis behind sentinel",
			yaml: oneCamera + "redis:\n  sentinel: {master: mymaster, addrs: [10.0.0.5:26379]}\n",
			want: func() *Config {
				c := defaults()
				c.Redis.Sentinel = Sentinel{Master: "mymaster", Addrs: []string{"10.0.0.5:26379"}}
				return c
			}(),
		},
		{
			name: "redis over a unix socket",
			yaml: oneCamera + "redis:\n  url: unix:///run/redis/redis.sock\n",
			want: func() *Config { c := defaults(); c.Redis.URL = "unix:///run/redis/redis.sock"; return c }(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Config
			var err error
			if tt.file != "" {
				got, err = Load(tt.file)
			} else {
				got, err = Parse("good.yaml", []byte(tt.yaml))
			}
			if err != nil {
				t.Fatalf("want no error, got:\n%v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config differs\n got: %+v\nwant: %+v", got, tt.want)
			}
		})
	}
}

func TestBadFilesGiveEveryProblemWithItsPlace(t *testing.T) {
	for _, tt := range badFiles {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("want error\n%s\ngot none, config %+v", tt.want, cfg)
			}
			if cfg != nil {
				t.Errorf("want no config with an error, got %+v", cfg)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *configs.Error, got %T: %v", err, err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("wrong message\n got: %s\nwant: %s", got, tt.want)
			}
			for _, p := range ce.Problems {
				if p.File != "bad.yaml" {
					t.Errorf("problem %q names file %q, want bad.yaml", p, p.File)
				}
			}
		})
	}
}

// badFiles are also seeds of FuzzParse.
var badFiles = []struct {
	name string
	yaml string
	want string
}{
	{
		name: "empty file",
		yaml: "",
		want: "bad.yaml: cameras: at least one camera is required",
	},
	{
		name: "only comments",
		yaml: "# nothing yet\n",
		want: "bad.yaml: cameras: at least one camera is required",
	},
	{
		name: "no cameras",
		yaml: "server:\n  addr: \":8080\"\n",
		want: "bad.yaml:1:1: cameras: at least one camera is required",
	},
	{
		name: "empty camera list",
		yaml: "cameras: []\n",
		want: "bad.yaml:1:10: cameras: at least one camera is required",
	},
	{
		name: "unknown field at the top",
		yaml: oneCamera + "servr:\n  addr: \":8080\"\n",
		want: "bad.yaml:6:1: servr: unknown field (known: server, auth, users, redis, webrtc, ingest, detect, tasks, record, cluster, data_dir, cameras, webhooks, map)",
	},
	{
		name: "cluster: bad name, lease, hold-down, URL (proxy_whep is fine); a camera pinned to a bad name",
		yaml: oneCamera + "    node: \"bridge 2\"\ncluster:\n  node: -x\n  lease: 50ms\n  hold_down: -1s\n  public_url: ftp://x\n  proxy_whep: true\n",
		want: `bad.yaml:6:11: cameras[0].node: "bridge 2" is not a member's name: 1 to 64 of A-Z, a-z, 0-9, '.', '-' and '_', starting with a letter or digit` + "\n" +
			`bad.yaml:8:9: cluster.node: "-x" must be 1 to 64 of A-Z, a-z, 0-9, '.', '-' and '_', starting with a letter or digit` + "\n" +
			"bad.yaml:9:10: cluster.lease: 50ms is outside 100ms..1m\n" +
			"bad.yaml:10:14: cluster.hold_down: must not be negative; 0 gives cameras back at once\n" +
			"bad.yaml:11:15: cluster.public_url: must be an absolute http:// or https:// URL, like https://bridge2.example.org",
	},
	{
		name: "map: a tile URL without {y}, no subdomains for {s}, a center off the map, zooms and nearby_m out of range; track_points",
		yaml: oneCamera + "map:\n  tiles: https://t{s}.example.org/{z}/{x}.png\n  subdomains: \"\"\n  center: {lat: 95, lng: 119}\n  zoom: 30\n  max_zoom: 0\n  nearby_m: 5\ntasks:\n  track_points: 5\n",
		want: "bad.yaml:7:10: map.tiles: has no {y}: a tile URL template names {z}, {x} and {y}, like https://tile.example.org/{z}/{x}/{y}.png\n" +
			"bad.yaml:8:15: map.subdomains: must not be empty when tiles uses {s}: the letters {s} stands for, like 01234567\n" +
			"bad.yaml:9:11: map.center: 95,119 is not a place on the map: lat -90..90, lng -180..180\n" +
			"bad.yaml:10:9: map.zoom: 30 is outside 0..max_zoom (0); 0 fits the cameras\n" +
			"bad.yaml:11:13: map.max_zoom: 0 is outside 1..22\n" +
			"bad.yaml:12:13: map.nearby_m: 5 is outside 10..5000 metres\n" +
			"bad.yaml:14:17: tasks.track_points: 5 is outside 10..100000",
	},
	{
		name: "map: a tile URL that is not http(s) or a path",
		yaml: oneCamera + "map:\n  tiles: ftp://x/{z}/{x}/{y}\n",
		want: "bad.yaml:7:10: map.tiles: must start with http://, https:// or / (a path on the bridge), like https://tile.example.org/{z}/{x}/{y}.png",
	},
	{
		name: "redis: cluster nodes and sentinel together, bad addresses, a database a cluster lacks",
		yaml: oneCamera + "redis:\n  url: redis://127.0.0.1:6379/3\n  addrs: [10.0.0.5, 10.0.0.6:7000]\n  sentinel: {addrs: [\"x:\"]}\n",
		want: "bad.yaml:7:8: redis.url: names a database other than 0, which a Redis Cluster (redis.addrs) does not have\n" +
			`bad.yaml:8:11: redis.addrs[0]: "10.0.0.5" must be host:port, like 10.0.0.5:6379` + "\n" +
			"bad.yaml:9:13: redis.sentinel: cannot go with redis.addrs: give a Redis Cluster's nodes (addrs) or Sentinel (sentinel), not both\n" +
			`bad.yaml:9:22: redis.sentinel.addrs[0]: "x:" must be host:port, like 10.0.0.5:6379`,
	},
	{
		name: "redis: wait_replicas out of range",
		yaml: oneCamera + "redis:\n  wait_replicas: 17\n",
		want: "bad.yaml:7:18: redis.wait_replicas: 17 is outside 0..16",
	},
	{
		name: "redis: sentinel without its primary's name",
		yaml: oneCamera + "redis:\n  sentinel:\n    addrs: [10.0.0.5:26379]\n",
		want: "bad.yaml:8:5: redis.sentinel.master: is required with sentinel.addrs: the primary's name in the sentinels' config, like mymaster",
	},
	{
		name: "unknown field in a section",
		yaml: "server:\n  addr: \":8080\"\n  public_url: http://localhost:8080\n  adress: \":9090\"\n" + oneCamera,
		want: "bad.yaml:4:3: server.adress: unknown field (known: addr, public_url, staff_token, metrics_addr, time_zone)",
	},
	{
		name: "unknown field in a camera, and the field it was meant to be",
		yaml: strings.Replace(oneCamera, "    url:", "    urll:", 1),
		want: "bad.yaml:2:5: cameras[0].url: is required\n" +
			"bad.yaml:5:5: cameras[0].urll: unknown field (known: id, name, grid, location, url, sub_url, detect_url, public, transport, record, zones, node)",
	},
	{
		name: "field set twice",
		yaml: oneCamera + "server:\n  addr: \":8080\"\n  addr: \":9090\"\n",
		want: "bad.yaml:8:3: server.addr: is set twice (first at line 7)",
	},
	{
		name: "text where a number goes",
		yaml: oneCamera + "webrtc:\n  udp_port: abc\n",
		want: `bad.yaml:7:13: webrtc.udp_port: "abc" is not a whole number`,
	},
	{
		name: "number in quotes",
		yaml: oneCamera + "webrtc:\n  udp_port: \"8189\"\n",
		want: `bad.yaml:7:13: webrtc.udp_port: "8189" is text because of the quotes; write it without them`,
	},
	{
		name: "fraction where a whole number goes",
		yaml: oneCamera + "ingest:\n  queue_len: 12.5\n",
		want: "bad.yaml:7:14: ingest.queue_len: 12.5 is not a whole number",
	},
	{
		name: "text where a coordinate goes",
		yaml: oneCamera + "    location:\n      lat: north\n",
		want: `bad.yaml:7:12: cameras[0].location.lat: "north" is not a number`,
	},
	{
		name: "mapping where the camera list goes",
		yaml: "cameras:\n  id: cam1\n",
		want: "bad.yaml:2:3: cameras: must be a list, not a mapping",
	},
	{
		name: "list where a section goes",
		yaml: oneCamera + "server: [\":8080\"]\n",
		want: "bad.yaml:6:9: server: must be a mapping of fields (addr, public_url, staff_token, metrics_addr, time_zone), not a list",
	},
	{
		name: "list where text goes",
		yaml: oneCamera + "    public: yes please\n",
		want: `bad.yaml:6:13: cameras[0].public: "yes please" is not true or false`,
	},
	{
		name: "whole file is a list",
		yaml: "- cam1\n- cam2\n",
		want: "bad.yaml:1:1: must be a mapping of fields (server, auth, users, redis, webrtc, ingest, detect, tasks, record, cluster, data_dir, cameras, webhooks, map), not a list",
	},
	{
		name: "syntax error",
		yaml: "server:\n  addr: \":8080\n" + oneCamera,
		want: "bad.yaml:2: not valid YAML: found unexpected end of stream",
	},
	{
		name: "tab indentation",
		yaml: "server:\n\taddr: \":8080\"\n",
		want: "bad.yaml:2: not valid YAML: found character that cannot start any token",
	},
	{
		name: "alias without anchor",
		yaml: oneCamera + "    zones: *shared\n",
		want: "bad.yaml:6:12: not valid YAML: alias *shared refers to no anchor &shared before it",
	},
	{
		name: "two documents",
		yaml: oneCamera + "---\n" + oneCamera,
		want: "bad.yaml:6:1: a second YAML document starts here; the config must be one document",
	},
	{
		name: "duplicate camera id",
		yaml: oneCamera + strings.TrimPrefix(oneCamera, "cameras:\n"),
		want: `bad.yaml:6:9: cameras[1].id: "cam1" is used twice (first at line 2)`,
	},
	{
		name: "bad camera id",
		yaml: strings.Replace(oneCamera, "id: cam1", "id: Cam 7", 1),
		want: `bad.yaml:2:9: cameras[0].id: "Cam 7" must be 1 to 32 of a-z, 0-9, '-' and '_', starting with a letter or digit`,
	},
	{
		name: "camera id too long",
		yaml: strings.Replace(oneCamera, "id: cam1", "id: hexia-huaxiangkou-east-corner-no-2", 1),
		want: `bad.yaml:2:9: cameras[0].id: "hexia-huaxiangkou-east-corner-no-2" must be 1 to 32 of a-z, 0-9, '-' and '_', starting with a letter or digit`,
	},
	{
		name: "missing name, grid and url point at the camera",
		yaml: "cameras:\n  - id: cam1\n    public: true\n",
		want: "bad.yaml:2:5: cameras[0].name: is required\n" +
			"bad.yaml:2:5: cameras[0].grid: is required\n" +
			"bad.yaml:2:5: cameras[0].url: is required",
	},
	{
		name: "name too long",
		yaml: strings.Replace(oneCamera, "花巷口", strings.Repeat("巷", 65), 1),
		want: "bad.yaml:3:11: cameras[0].name: is 65 characters long; at most 64 are allowed",
	},
	{
		name: "url with the wrong scheme does not show its password",
		yaml: strings.Replace(oneCamera, "rtsp://127.0.0.1", "http://admin:s3cret@127.0.0.1", 1),
		want: "bad.yaml:5:10: cameras[0].url: must start with rtsp:// or rtsps://",
	},
	{
		name: "detect_url without a host",
		yaml: oneCamera + "    detect_url: rtsp:///sub\n",
		want: "bad.yaml:6:17: cameras[0].detect_url: has no host; write it like rtsp://user:pass@192.168.1.20:554/stream1",
	},
	{
		name: "sub_url with the wrong scheme",
		yaml: oneCamera + "    sub_url: http://cam/sub\n",
		want: "bad.yaml:6:14: cameras[0].sub_url: must start with rtsp:// or rtsps://",
	},
	{
		name: "detect_url that is not a URL does not show its password",
		yaml: oneCamera + "    detect_url: rtsp://admin:pa/ss@cam:554/sub\n",
		want: "bad.yaml:6:17: cameras[0].detect_url: is not a valid URL (a password with @, / or # in it must be %-encoded)",
	},
	{
		name: "lat and lng out of range",
		yaml: oneCamera + "    location: {lat: 95, lng: -200.5}\n",
		want: "bad.yaml:6:21: cameras[0].location.lat: 95 is outside -90..90\n" +
			"bad.yaml:6:30: cameras[0].location.lng: -200.5 is outside -180..180",
	},
	{
		name: "lat that is not a number",
		yaml: oneCamera + "    location: {lat: .nan}\n",
		want: "bad.yaml:6:21: cameras[0].location.lat: NaN is outside -90..90",
	},
	{
		name: "bad camera transport",
		yaml: oneCamera + "    transport: rtmp\n",
		want: `bad.yaml:6:16: cameras[0].transport: "rtmp" is not one of auto, udp, tcp (leave it out to use ingest.transport)`,
	},
	{
		name: "zone kind unknown",
		yaml: oneCamera + "    zones:\n      - name: 路口\n        kind: fire\n        polygon: [[0, 0], [1, 0], [1, 1]]\n",
		want: `bad.yaml:8:15: cameras[0].zones[0].kind: "fire" is not one of bin, dumping, passage, restricted, watch`,
	},
	{
		name: "zone without name and kind",
		yaml: oneCamera + "    zones:\n      - polygon: [[0, 0], [1, 0], [1, 1]]\n",
		want: "bad.yaml:7:9: cameras[0].zones[0].name: is required\n" +
			"bad.yaml:7:9: cameras[0].zones[0].kind: is required (one of bin, dumping, passage, restricted, watch)",
	},
	{
		name: "polygon with 2 points",
		yaml: oneCamera + "    zones:\n      - name: 路口\n        kind: watch\n        polygon: [[0, 0], [1, 1]]\n",
		want: "bad.yaml:9:18: cameras[0].zones[0].polygon: needs at least 3 points",
	},
	{
		name: "zone hold negative",
		yaml: oneCamera + "    zones:\n      - name: 路口\n        kind: passage\n        hold: -1m\n        polygon: [[0, 0], [1, 0], [1, 1]]\n",
		want: "bad.yaml:9:15: cameras[0].zones[0].hold: must not be negative; leave it out for detect.zone_hold, or write one like 1m",
	},
	{
		name: "polygon missing",
		yaml: oneCamera + "    zones:\n      - name: 路口\n        kind: watch\n",
		want: "bad.yaml:7:9: cameras[0].zones[0].polygon: needs at least 3 points",
	},
	{
		name: "polygon on one line",
		yaml: oneCamera + "    zones:\n      - name: 路口\n        kind: watch\n        polygon: [[0, 0], [0.5, 0.5], [1, 1]]\n",
		want: "bad.yaml:9:18: cameras[0].zones[0].polygon: has no area: its points are on one line",
	},
	{
		name: "point outside the picture",
		yaml: oneCamera + "    zones:\n      - name: 路口\n        kind: bin\n        polygon: [[0, 0], [1.2, 0.5], [1, 1]]\n",
		want: "bad.yaml:9:27: cameras[0].zones[0].polygon[1]: [1.2, 0.5] is outside the picture; x and y go from 0 to 1",
	},
	{
		name: "point with 3 numbers",
		yaml: oneCamera + "    zones:\n      - name: 路口\n        kind: bin\n        polygon:\n          - [0, 0, 1]\n          - [1, 0]\n          - [1, 1]\n",
		want: "bad.yaml:10:13: cameras[0].zones[0].polygon[0]: must be two numbers [x, y], not a list of 3",
	},
	{
		name: "point that is not a list",
		yaml: oneCamera + "    zones:\n      - name: 路口\n        kind: bin\n        polygon: [[0, 0], \"1,0\", [1, x]]\n",
		want: "bad.yaml:9:27: cameras[0].zones[0].polygon[1]: must be two numbers [x, y], not \"1,0\"\n" +
			`bad.yaml:9:34: cameras[0].zones[0].polygon[2]: "x" is not a number`,
	},
	{
		name: "duplicate zone name",
		yaml: oneCamera + "    zones:\n" +
			"      - {name: 垃圾桶, kind: bin, polygon: [[0, 0], [1, 0], [1, 1]]}\n" +
			"      - {name: 垃圾桶, kind: dumping, polygon: [[0, 0], [1, 0], [1, 1]]}\n",
		want: `bad.yaml:8:16: cameras[0].zones[1].name: "垃圾桶" is used twice in this camera (first at line 7)`,
	},
	{
		name: "bad ingest transport",
		yaml: oneCamera + "ingest:\n  transport: quic\n",
		want: `bad.yaml:7:14: ingest.transport: "quic" is not one of auto, udp, tcp`,
	},
	{
		name: "duration in words",
		yaml: oneCamera + "ingest:\n  stall_timeout: 5 seconds\n",
		want: `bad.yaml:7:18: ingest.stall_timeout: "5 seconds" is not a duration; write it like 5s, 1m30s or 500ms`,
	},
	{
		name: "duration without unit",
		yaml: oneCamera + "ingest:\n  backoff_min: 5\n",
		want: "bad.yaml:7:16: ingest.backoff_min: 5 has no unit; write it like 5s or 5ms",
	},
	{
		name: "zero stall timeout",
		yaml: oneCamera + "ingest:\n  stall_timeout: 0s\n",
		want: "bad.yaml:7:18: ingest.stall_timeout: must be more than zero, like 5s",
	},
	{
		name: "backoff_max below backoff_min",
		yaml: oneCamera + "ingest:\n  backoff_min: 2h\n  backoff_max: 1m0s\n",
		want: "bad.yaml:8:16: ingest.backoff_max: 1m is less than backoff_min (2h)",
	},
	{
		name: "detect section out of range",
		yaml: oneCamera + "detect:\n  mode: sometimes\n  rate: 50\n  zone_diff: 0\n  zone_hold: 0s\n",
		want: "bad.yaml:7:9: detect.mode: \"sometimes\" is not one of auto, active, idle, off\n" +
			"bad.yaml:8:9: detect.rate: 50 is outside 0.1..25 analyses per second\n" +
			"bad.yaml:9:14: detect.zone_diff: 0 is outside 1..255\n" +
			"bad.yaml:10:14: detect.zone_hold: must be more than zero, like 5s",
	},
	{
		name: "person sizes out of range",
		yaml: oneCamera + "detect:\n  person_min_px: 8\n  person_max_px: 5000\n",
		want: "bad.yaml:7:18: detect.person_min_px: 8 is outside 16..2000 pixels\n" +
			"bad.yaml:8:18: detect.person_max_px: 5000 is outside 16..4000 pixels",
	},
	{
		name: "person_max_px not above person_min_px",
		yaml: oneCamera + "detect:\n  person_min_px: 120\n  person_max_px: 100\n",
		want: "bad.yaml:8:18: detect.person_max_px: 100 is not above person_min_px (120)",
	},
	{
		name: "detect model that cannot be used",
		yaml: oneCamera + "detect:\n  model:\n    path: /nonexistent/yolo.weights\n    size: 4\n    score: 2\n",
		want: "bad.yaml:8:5: detect.model.config: Darknet .weights need their .cfg here\n" +
			"bad.yaml:8:11: detect.model.path: \"/nonexistent/yolo.weights\" cannot be read: no such file or directory\n" +
			"bad.yaml:9:11: detect.model.size: 4 is outside 8..4096 pixels\n" +
			"bad.yaml:10:12: detect.model.score: 2 is outside 0..1",
	},
	{
		name: "detect model of an unknown kind",
		yaml: oneCamera + "detect:\n  model:\n    path: config.go\n",
		want: "bad.yaml:8:11: detect.model.path: \"config.go\" is neither an .onnx file nor Darknet .weights",
	},
	{
		name: "tasks section out of range",
		yaml: oneCamera + "tasks:\n  claim_within: -5m\n  arrive_within: -1s\n  auto_accept: [loitering, fire, loitering]\n  arrive_radius_m: 0.5\n  verify_hold: 0s\n",
		want: "bad.yaml:7:17: tasks.claim_within: must not be negative; 0 turns the limit off\n" +
			"bad.yaml:8:18: tasks.arrive_within: must not be negative; 0 turns the limit off\n" +
			`bad.yaml:9:28: tasks.auto_accept[1]: "fire" is not one of zone_changed, loitering, camera_tampered, camera_offline` + "\n" +
			`bad.yaml:9:34: tasks.auto_accept[2]: "loitering" is listed twice (first at line 9)` + "\n" +
			"bad.yaml:10:20: tasks.arrive_radius_m: 0.5 is outside 1..5000 metres\n" +
			"bad.yaml:11:16: tasks.verify_hold: must be more than zero, like 10s",
	},
	{
		name: "tasks limits that are not durations",
		yaml: oneCamera + "tasks:\n  resolve_within: 24\n  arrive_radius_m: 9000\n  auto_accept: zone_changed\n",
		want: "bad.yaml:7:19: tasks.resolve_within: 24 has no unit; write it like 24s or 24ms\n" +
			"bad.yaml:8:20: tasks.arrive_radius_m: 9000 is outside 1..5000 metres\n" +
			`bad.yaml:9:16: tasks.auto_accept: must be a list, not "zone_changed"`,
	},
	{
		name: "record section out of range",
		yaml: oneCamera + "record:\n  keep: 30s\n  max_bytes: 1000\n  before: -1s\n  after: 0s\n  evidence_days: 0\n",
		want: "bad.yaml:7:9: record.keep: 30s is outside 1m..168h (7 days)\n" +
			"bad.yaml:8:14: record.max_bytes: 1000 is less than 16777216 (16 MiB); 0 sets no cap\n" +
			"bad.yaml:9:11: record.before: -1s is outside 0s..5m\n" +
			"bad.yaml:10:10: record.after: 0s is outside 1s..5m\n" +
			"bad.yaml:11:18: record.evidence_days: 0 is outside 1..3650 days",
	},
	{
		name: "a camera records the sub-stream it does not have, or something else",
		yaml: oneCamera + "    record: sub\n  - {id: cam2, name: 二, grid: g, url: \"rtsp://h/2\", record: always}\n",
		want: "bad.yaml:6:13: cameras[0].record: sub records the sub-stream, but this camera has no sub_url\n" +
			`bad.yaml:7:61: cameras[1].record: "always" is not one of main, sub, off`,
	},
	{
		name: "queue_len and gop_max_bytes out of range",
		yaml: oneCamera + "ingest:\n  queue_len: 0\n  gop_max_bytes: 1000\n",
		want: "bad.yaml:7:14: ingest.queue_len: 0 is outside 1..100000\n" +
			"bad.yaml:8:18: ingest.gop_max_bytes: 1000 is less than 65536 (64 KiB)",
	},
	{
		name: "udp_port 0",
		yaml: oneCamera + "webrtc:\n  udp_port: 0\n",
		want: "bad.yaml:7:13: webrtc.udp_port: 0 is outside 1..65535",
	},
	{
		name: "udp_port 70000 and tcp_port -1",
		yaml: oneCamera + "webrtc:\n  udp_port: 70000\n  tcp_port: -1\n",
		want: "bad.yaml:7:13: webrtc.udp_port: 70000 is outside 1..65535\n" +
			"bad.yaml:8:13: webrtc.tcp_port: -1 is outside 1..65535 (0 turns ICE-TCP off)",
	},
	{
		name: "public_ips with a bad address",
		yaml: oneCamera + "webrtc:\n  public_ips: [\"203.0.113.7\", \"1.2.3\"]\n",
		want: `bad.yaml:7:31: webrtc.public_ips[1]: "1.2.3" is not an IP address`,
	},
	{
		name: "ice server url with the wrong scheme",
		yaml: oneCamera + "webrtc:\n  ice_servers:\n    - urls: [\"http://stun.example.org\", \"stun:\"]\n",
		want: "bad.yaml:8:14: webrtc.ice_servers[0].urls[0]: must start with stun:, turn: or turns:\n" +
			"bad.yaml:8:41: webrtc.ice_servers[0].urls[1]: needs a host after stun:",
	},
	{
		name: "ice server without urls",
		yaml: oneCamera + "webrtc:\n  ice_servers:\n    - username: u\n",
		want: "bad.yaml:8:7: webrtc.ice_servers[0].urls: needs at least one URL, like stun:stun.example.org:3478",
	},
	{
		name: "turn server without credential",
		yaml: oneCamera + "webrtc:\n  ice_servers:\n    - urls: [\"turn:turn.example.org:3478\"]\n      username: qly\n",
		want: "bad.yaml:8:7: webrtc.ice_servers[0].credential: is required for a TURN server",
	},
	{
		name: "redis url with a bad scheme",
		yaml: oneCamera + "redis:\n  url: http://:pass@127.0.0.1:6379\n",
		want: "bad.yaml:7:8: redis.url: must start with redis://, rediss:// or unix://",
	},
	{
		name: "redis prefix without colon",
		yaml: oneCamera + "redis:\n  prefix: qly\n",
		want: `bad.yaml:7:11: redis.prefix: "qly" must end with ':'`,
	},
	{
		name: "bad server addr and public_url",
		yaml: oneCamera + "server:\n  addr: \"8080\"\n  public_url: localhost:8080\n",
		want: `bad.yaml:7:9: server.addr: "8080" must be host:port, like :8080 or 127.0.0.1:8080` + "\n" +
			"bad.yaml:8:15: server.public_url: must be an absolute http:// or https:// URL, like https://video.example.org",
	},
	{
		name: "metrics_addr not host:port, then the API's own",
		yaml: oneCamera + "server:\n  metrics_addr: \"9090\"\n",
		want: `bad.yaml:7:17: server.metrics_addr: "9090" must be host:port, like 127.0.0.1:9090`,
	},
	{
		name: "metrics_addr the API's address",
		yaml: oneCamera + "server:\n  addr: \"127.0.0.1:8080\"\n  metrics_addr: \"127.0.0.1:8080\"\n",
		want: `bad.yaml:8:17: server.metrics_addr: "127.0.0.1:8080" is the API's address too: metrics go on an address of their own`,
	},
	{
		name: "time_zone not an IANA name",
		yaml: oneCamera + "server:\n  time_zone: Beijing\n",
		want: `bad.yaml:7:14: server.time_zone: "Beijing" is not a time zone: give an IANA name, like Asia/Shanghai`,
	},
	{
		name: "max_sessions 0",
		yaml: oneCamera + "webrtc:\n  max_sessions: 0\n",
		want: "bad.yaml:7:17: webrtc.max_sessions: 0 is outside 1..100000",
	},
	{
		name: "max_sessions_per_client above max_sessions",
		yaml: oneCamera + "webrtc:\n  max_sessions: 10\n  max_sessions_per_client: 11\n",
		want: "bad.yaml:8:28: webrtc.max_sessions_per_client: 11 is outside 1..10 (max_sessions)",
	},
	{
		name: "empty data_dir",
		yaml: oneCamera + "data_dir: \"\"\n",
		want: "bad.yaml:6:11: data_dir: must not be empty",
	},
	{
		name: "user without name, role and password_hash",
		yaml: oneCamera + "users:\n  - display_name: 王敏\n",
		want: "bad.yaml:7:5: users[0].name: is required\n" +
			"bad.yaml:7:5: users[0].role: is required (one of admin, staff, worker, resident)\n" +
			"bad.yaml:7:5: users[0].password_hash: is required: a bcrypt hash of the user's password; make one with: bin/bridge -hash-password",
	},
	{
		name: "bad login names",
		yaml: oneCamera + "users:\n" +
			"  - {name: Wang Min, role: staff, password_hash: \"" + testHash + "\"}\n" +
			"  - {name: dev-7f3a, role: resident, password_hash: \"" + testHash + "\"}\n",
		want: `bad.yaml:7:12: users[0].name: "Wang Min" must be 1 to 32 of a-z, 0-9, '.', '-' and '_', starting with a letter or digit` + "\n" +
			`bad.yaml:8:12: users[1].name: "dev-7f3a" starts with dev-, which is kept for residents' device tokens`,
	},
	{
		name: "duplicate login",
		yaml: oneCamera + "users:\n" +
			"  - {name: staff, role: staff, password_hash: \"" + testHash + "\"}\n" +
			"  - {name: staff, role: admin, password_hash: \"" + testHash + "\"}\n",
		want: `bad.yaml:8:12: users[1].name: "staff" is used twice (first at line 7)`,
	},
	{
		name: "unknown role and a display name too long",
		yaml: oneCamera + user("name: boss, display_name: "+strings.Repeat("王", 65)+", role: boss"),
		want: "bad.yaml:7:32: users[0].display_name: is 65 characters long; at most 64 are allowed\n" +
			`bad.yaml:7:105: users[0].role: "boss" is not one of admin, staff, worker, resident`,
	},
	{
		name: "a password where the hash goes is not repeated",
		yaml: oneCamera + "users:\n  - name: staff\n    role: staff\n    password_hash: staff-demo\n",
		want: "bad.yaml:9:20: users[0].password_hash: is not a bcrypt hash ($2a$, $2b$ or $2y$, the cost, then 53 characters); make one with: bin/bridge -hash-password",
	},
	{
		name: "bcrypt hash of another version, cut short, or of cost 3",
		yaml: oneCamera + "users:\n" +
			"  - {name: a, role: staff, password_hash: \"" + strings.Replace(testHash, "$2a$", "$2x$", 1) + "\"}\n" +
			"  - {name: b, role: staff, password_hash: \"" + testHash[:59] + "\"}\n" +
			"  - {name: c, role: staff, password_hash: \"" + strings.Replace(testHash, "$10$", "$03$", 1) + "\"}\n",
		want: "bad.yaml:7:43: users[0].password_hash: is not a bcrypt hash ($2a$, $2b$ or $2y$, the cost, then 53 characters); make one with: bin/bridge -hash-password\n" +
			"bad.yaml:8:43: users[1].password_hash: is not a bcrypt hash ($2a$, $2b$ or $2y$, the cost, then 53 characters); make one with: bin/bridge -hash-password\n" +
			"bad.yaml:9:43: users[2].password_hash: has cost 3; bcrypt's cost goes from 4 to 31 (10 is usual); make one with: bin/bridge -hash-password",
	},
	{
		name: "worker without grids",
		yaml: oneCamera + user("name: li, role: worker"),
		want: "bad.yaml:7:5: users[0].grids: a worker needs at least one grid: the grid of the cameras the worker looks after",
	},
	{
		name: "worker grid that no camera has",
		yaml: oneCamera + user("name: li, role: worker, grids: [hexia-01, hexia-1]"),
		want: `bad.yaml:7:48: users[0].grids[1]: "hexia-1" is not the grid of any camera (grids: hexia-01)`,
	},
	{
		name: "grids that are not a list",
		yaml: oneCamera + user("name: li, role: worker, grids: g1"),
		want: `bad.yaml:7:37: users[0].grids: must be a list, not "g1"`,
	},
	{
		name: "grids on a staff user",
		yaml: oneCamera + user("name: wang, role: staff, grids: [hexia-01]"),
		want: "bad.yaml:7:38: users[0].grids: only workers have grids; a staff user must leave them out",
	},
	{
		name: "phone that is not a number",
		yaml: oneCamera + user("name: li, role: resident, phone: call me"),
		want: `bad.yaml:7:39: users[0].phone: "call me" is not a phone number; write digits, like 13800000000 or +86 138-0000-0000`,
	},
	{
		name: "short secret is not repeated, zero ttls",
		yaml: oneCamera + "auth:\n  secret: tooshort\n  token_ttl: 0s\n  device_ttl: 0s\n",
		want: "bad.yaml:7:11: auth.secret: is 8 bytes long; at least 32 are needed (or leave it out and the bridge keeps a random one in Redis)\n" +
			"bad.yaml:8:14: auth.token_ttl: must be more than zero, like 12h\n" +
			"bad.yaml:9:15: auth.device_ttl: must be more than zero, like 8760h",
	},
	{
		name: "users that is not a list",
		yaml: oneCamera + "users:\n  name: staff\n",
		want: "bad.yaml:7:3: users: must be a list, not a mapping",
	},
	{
		name: "webhooks: bad url, short secret, unknown and repeated events, bounds",
		yaml: oneCamera + "webhooks:\n" +
			"  - url: ftp://sms.example.org/qly?key=s3cret\n" +
			"    secret: short\n" +
			"    events: [created, dispached, created]\n" +
			"    attempts: 50\n" +
			"    backoff: 2h\n" +
			"  - url: https://sms.example.org/qly\n" +
			"    timeout: 500ms\n" +
			"  - url: https://sms.example.org/qly\n" +
			"    secret: 0123456789abcdef\n" +
			"    events: [closed]\n",
		want: "bad.yaml:7:10: webhooks[0].url: must be an absolute http:// or https:// URL, like https://sms.example.org/qly\n" +
			"bad.yaml:8:13: webhooks[0].secret: is 5 bytes long; it must be 16 to 256\n" +
			`bad.yaml:9:23: webhooks[0].events[1]: "dispached" is not one of created, accepted, rejected, dispatched, claimed, arrived, submitted, verified, reworked, closed, merged, overdue, rated, recurred, reopened, proposed` + "\n" +
			`bad.yaml:9:34: webhooks[0].events[2]: "created" is listed twice (first at line 9)` + "\n" +
			"bad.yaml:10:15: webhooks[0].attempts: 50 is outside 1..20\n" +
			"bad.yaml:11:14: webhooks[0].backoff: 2h is outside 10ms..1h\n" +
			"bad.yaml:12:5: webhooks[1].secret: is required: 16 to 256 bytes the receiver checks X-Qly-Signature with\n" +
			"bad.yaml:12:5: webhooks[1].events: needs at least one of created, accepted, rejected, dispatched, claimed, arrived, submitted, verified, reworked, closed, merged, overdue, rated, recurred, reopened, proposed\n" +
			"bad.yaml:13:14: webhooks[1].timeout: 500ms is outside 1s..2m\n" +
			`bad.yaml:14:10: webhooks[2].url: "https://sms.example.org/qly" is used twice (first at line 12)`,
	},
	{
		name: "tasks.worker_name_for_residents is one of full, surname, none",
		yaml: oneCamera + "tasks:\n  worker_name_for_residents: login\n",
		want: `bad.yaml:7:30: tasks.worker_name_for_residents: "login" is not one of full, surname, none`,
	},
	{
		name: "several problems at once, all reported in file order",
		yaml: "server:\n" +
			"  addr: \":8080\"\n" +
			"  public_url: ftp://example.org\n" +
			"redis:\n" +
			"  prefix: qly\n" +
			"webrtc:\n" +
			"  udp_port: 0\n" +
			"cameras:\n" +
			"  - id: cam1\n" +
			"    name: 花巷口\n" +
			"    grid: hexia-01\n" +
			"    url: http://127.0.0.1/cam/1\n" +
			"    location: {lat: 95, lng: 119.1}\n" +
			"    colour: red\n" +
			"  - id: cam1\n" +
			"    url: rtsp://127.0.0.1:8554/cam/2\n" +
			"    zones:\n" +
			"      - {name: 巷口, kind: fire, polygon: [[0, 0], [1, 1]]}\n",
		want: "bad.yaml:3:15: server.public_url: must be an absolute http:// or https:// URL, like https://video.example.org\n" +
			`bad.yaml:5:11: redis.prefix: "qly" must end with ':'` + "\n" +
			"bad.yaml:7:13: webrtc.udp_port: 0 is outside 1..65535\n" +
			"bad.yaml:12:10: cameras[0].url: must start with rtsp:// or rtsps://\n" +
			"bad.yaml:13:21: cameras[0].location.lat: 95 is outside -90..90\n" +
			"bad.yaml:14:5: cameras[0].colour: unknown field (known: id, name, grid, location, url, sub_url, detect_url, public, transport, record, zones, node)\n" +
			"bad.yaml:15:5: cameras[1].name: is required\n" +
			"bad.yaml:15:5: cameras[1].grid: is required\n" +
			`bad.yaml:15:9: cameras[1].id: "cam1" is used twice (first at line 9)` + "\n" +
			`bad.yaml:18:26: cameras[1].zones[0].kind: "fire" is not one of bin, dumping, passage, restricted, watch` + "\n" +
			"bad.yaml:18:41: cameras[1].zones[0].polygon: needs at least 3 points",
	},
}

func TestAliasBombIsStopped(t *testing.T) {
	// A thousand cameras each naming the same hundred zones through an alias:
	// a few kilobytes that would decode to 300,000 points.
	zone := "{name: z, kind: bin, polygon: [[0, 0], [1, 0], [1, 1]]}"
	cam := "{id: c, name: n, grid: g, url: \"rtsp://h/\", zones: *zones}"
	bomb := "server:\n  staff_token: &zones [" + strings.Repeat(zone+", ", 99) + zone + "]\n" +
		"cameras: [" + strings.Repeat(cam+", ", 999) + cam + "]\n"
	_, err := Parse("bomb.yaml", []byte(bomb))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *Error, got %v", err)
	}
	found := false
	for _, p := range ce.Problems {
		if strings.Contains(p.Msg, "repeats too much") {
			found = true
		}
	}
	if !found {
		t.Errorf("want a problem saying the file repeats too much, got:\n%v", err)
	}
}

func TestDemoFileLoads(t *testing.T) {
	cfg, err := Load("demo.yaml")
	if err != nil {
		t.Fatalf("demo.yaml: %v", err)
	}
	if n := len(cfg.Cameras); n < 9 {
		t.Errorf("demo.yaml has %d cameras, want at least 9", n)
	}
	if cfg.Server.StaffToken != "demo-staff-token" || cfg.WebRTC.UDPPort != 8189 || cfg.Redis.URL != "redis://127.0.0.1:6379/0" {
		t.Errorf("demo.yaml server/webrtc/redis = %+v / %+v / %+v", cfg.Server, cfg.WebRTC, cfg.Redis)
	}
	want := defaults().Ingest
	want.BackoffMax = Duration(5 * time.Second) // the demo's camsim takes a while to start
	if cfg.Ingest != want || cfg.DataDir != "data" || cfg.Redis.Prefix != "qly:" {
		t.Errorf("defaults not filled: ingest %+v, data_dir %q, prefix %q", cfg.Ingest, cfg.DataDir, cfg.Redis.Prefix)
	}
	public := 0
	for i, c := range cfg.Cameras {
		if c.Public {
			public++
		}
		if want := "rtsp://127.0.0.1:8554/cam/" + string(rune('0'+i+1)); i < 9 && c.URL != want {
			t.Errorf("camera %s url %q, want %q", c.ID, c.URL, want)
		}
		if len(c.Zones) < 1 || len(c.Zones) > 3 {
			t.Errorf("camera %s has %d zones, want 1 to 3", c.ID, len(c.Zones))
		}
	}
	if public == 0 || public == len(cfg.Cameras) {
		t.Errorf("%d of %d demo cameras are public; want most but not all", public, len(cfg.Cameras))
	}
	if c := cfg.Camera("cam7"); c == nil || c.Zones[0].Kind != "bin" {
		t.Errorf("Camera(cam7) = %+v, want the story's camera with a bin zone first", c)
	}
	if c := cfg.Camera("nope"); c != nil {
		t.Errorf("Camera(nope) = %+v, want nil", c)
	}
	// make demo prints these logins and passwords.
	for name, want := range map[string]string{"admin": "admin", "staff": "staff", "worker1": "worker", "worker2": "worker", "resident": "resident"} {
		u := cfg.User(name)
		if u == nil {
			t.Errorf("demo.yaml has no user %s", name)
			continue
		}
		if u.Role != want {
			t.Errorf("demo user %s has the role %s, want %s", name, u.Role, want)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(name+"-demo")); err != nil {
			t.Errorf("demo user %s: password %s-demo does not match: %v", name, name, err)
		}
	}
	if w1, w2 := cfg.User("worker1"), cfg.User("worker2"); w1 != nil && w2 != nil &&
		(!slices.Equal(w1.Grids, []string{"hexia-01", "hexia-02"}) || !slices.Equal(w2.Grids, []string{"hexia-03"})) {
		t.Errorf("demo workers' grids = %v and %v, want [hexia-01 hexia-02] and [hexia-03]", w1.Grids, w2.Grids)
	}
	if cfg.Auth.Secret != "" || cfg.Auth.TokenTTL.D() != 12*time.Hour {
		t.Errorf("demo auth = %+v, want no secret (kept in Redis) and 12h logins", cfg.Auth)
	}
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

func TestOverridesAreAppliedBeforeValidation(t *testing.T) {
	setAddr := func(addr string) func(*Config) { return func(c *Config) { c.Server.Addr = addr } }
	cfg, err := Parse("good.yaml", []byte(oneCamera), setAddr("127.0.0.1:8081"), func(c *Config) { c.Cluster.Node = "b2" })
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	if cfg.Server.Addr != "127.0.0.1:8081" || cfg.Cluster.Node != "b2" {
		t.Errorf("overrides not applied: addr %q, node %q", cfg.Server.Addr, cfg.Cluster.Node)
	}
	_, err = Parse("good.yaml", []byte(oneCamera), setAddr("nowhere"))
	if err == nil || !strings.Contains(err.Error(), `server.addr: "nowhere" must be host:port`) {
		t.Errorf("a bad override: want the address refused, got %v", err)
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	_, err := Load("testdata/no-such-file.yaml")
	if err == nil {
		t.Fatal("want an error for a missing file")
	}
	if want := "testdata/no-such-file.yaml: cannot read the config file: no such file or directory"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("want errors.Is(err, fs.ErrNotExist), got %v", err)
	}
}

func TestLoadProblemsNameThePath(t *testing.T) {
	_, err := Load("testdata/several-problems.yaml")
	want := "testdata/several-problems.yaml:4:13: webrtc.udp_port: 0 is outside 1..65535\n" +
		"testdata/several-problems.yaml:6:5: cameras[0].grid: is required\n" +
		"testdata/several-problems.yaml:8:10: cameras[0].url: must start with rtsp:// or rtsps://"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{"a.yaml", 12, 7, "cameras[3].zones[0].polygon", "needs at least 3 points"}, "a.yaml:12:7: cameras[3].zones[0].polygon: needs at least 3 points"},
		{Problem{"a.yaml", 3, 0, "", "not valid YAML: x"}, "a.yaml:3: not valid YAML: x"},
		{Problem{"a.yaml", 0, 0, "cameras", "at least one camera is required"}, "a.yaml: cameras: at least one camera is required"},
		{Problem{"", 2, 5, "server", "m"}, "2:5: server: m"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestDurationAndPointRoundTrip(t *testing.T) {
	if got := Duration(90 * time.Second).D(); got != 90*time.Second {
		t.Errorf("D() = %v", got)
	}
	for d, want := range map[time.Duration]string{
		0: "0s", 1500 * time.Millisecond: "1.5s", time.Minute: "1m", 2 * time.Hour: "2h",
		90 * time.Minute: "1h30m", time.Hour + time.Second: "1h0m1s",
	} {
		if got, _ := Duration(d).MarshalYAML(); got != want {
			t.Errorf("Duration(%v).MarshalYAML() = %v, want %s", d, got, want)
		}
	}
	cfg, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"stall_timeout: 2.5s", "backoff_max: 1m30s", "- [0.1, 0.5]"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("marshalled config lacks %q:\n%s", want, out)
		}
	}
	again, err := Parse("again.yaml", out)
	if err != nil {
		t.Fatalf("marshalled config does not parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(again, cfg) {
		t.Errorf("round trip changed the config\n got: %+v\nwant: %+v", again, cfg)
	}
}

// TestScaleConfigIsADistrict: configs/scale.yaml loads: 128 cameras in 8
// grids, each with one or two zones, those of camsim's streets with a
// sub-stream, the scripted scenes among them, detection in auto mode.
func TestScaleConfigIsADistrict(t *testing.T) {
	cfg, err := Load("scale.yaml")
	if err != nil {
		t.Fatalf("scale.yaml: %v", err)
	}
	grids := map[string]int{}
	subs, scenes := 0, 0
	for _, c := range cfg.Cameras {
		grids[c.Grid]++
		if c.SubURL != "" {
			subs++
		}
		if strings.Contains(c.URL, "/scene/") {
			scenes++
		}
		if len(c.Zones) < 1 || len(c.Zones) > 2 {
			t.Errorf("camera %s has %d zones, want 1 or 2", c.ID, len(c.Zones))
		}
	}
	if len(cfg.Cameras) != 128 || len(grids) != 8 || subs != 126 || scenes != 2 || cfg.Detect.Mode != ModeAuto {
		t.Errorf("scale.yaml: %d cameras in %d grids, %d with a sub-stream, %d scenes, mode %s; want 128, 8, 126, 2, auto",
			len(cfg.Cameras), len(grids), subs, scenes, cfg.Detect.Mode)
	}
}

func TestWebhookTakesDefaultsAndKeepsWhatItSets(t *testing.T) {
	cfg, err := Parse("good.yaml", []byte(oneCamera+"webhooks:\n"+
		"  - {url: \"https://sms.example.org/qly?key=k\", secret: 0123456789abcdef, events: [created, overdue]}\n"+
		"  - {url: \"http://10.0.0.5:8080/12345\", secret: 0123456789abcdef, events: [closed], attempts: 3, backoff: 250ms, timeout: 30s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Webhook{
		{URL: "https://sms.example.org/qly?key=k", Secret: "0123456789abcdef", Events: []string{"created", "overdue"},
			Attempts: 6, Backoff: Duration(time.Second), Timeout: Duration(10 * time.Second)},
		{URL: "http://10.0.0.5:8080/12345", Secret: "0123456789abcdef", Events: []string{"closed"},
			Attempts: 3, Backoff: Duration(250 * time.Millisecond), Timeout: Duration(30 * time.Second)},
	}
	if !reflect.DeepEqual(cfg.Webhooks, want) {
		t.Errorf("webhooks\n got %+v\nwant %+v", cfg.Webhooks, want)
	}
}
