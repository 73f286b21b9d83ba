package configs

import (
	"os"
	"time"
)

// setDefaults fills a fresh Config with the default of every field. Parse
// calls it before decoding the file over it, so a field the file leaves out (or
// leaves empty) keeps its default and one it sets wins, even when it sets a
// zero such as tcp_port: 0.
func setDefaults(c *Config) {
	c.Server.Addr = ":8080"
	c.Server.PublicURL = "http://localhost:8080"
	c.Server.MetricsAddr = "127.0.0.1:9090"
	c.Server.TimeZone = "Asia/Shanghai"

	c.Auth.TokenTTL = Duration(12 * time.Hour)
	c.Auth.DeviceTTL = Duration(365 * 24 * time.Hour)

	c.Redis.URL = "redis://127.0.0.1:6379/0"
	c.Redis.Prefix = "qly:"

	c.WebRTC.UDPPort = 8189
	c.WebRTC.TCPPort = 8189
	c.WebRTC.MaxSessions = 1000
	c.WebRTC.MaxSessionsPerClient = 50

	c.Detect = Detect{Mode: ModeAuto, StepDown: Duration(10 * time.Second), Rate: 2, WatchRate: 5, CalmFor: Duration(time.Minute), OfflineAfter: Duration(time.Minute),
		ZoneDiff: 18, ZoneHold: Duration(3 * time.Second), TamperHold: Duration(3 * time.Second),
		LoiterAfter: Duration(30 * time.Second), PersonMinPx: 50, PersonMaxPx: 400, Model: Model{Size: 320, Score: 0.5}}
	c.Tasks = Tasks{ClaimWithin: Duration(5 * time.Minute), ArriveWithin: Duration(30 * time.Minute), ResolveWithin: Duration(24 * time.Hour),
		ArriveRadiusM: 50, VerifyHold: Duration(10 * time.Second), ReopenWithin: Duration(time.Hour), WorkerNameForResidents: "surname", TrackPoints: 2880}
	c.Record = Record{Keep: Duration(30 * time.Minute), Before: Duration(10 * time.Second), After: Duration(20 * time.Second), EvidenceDays: 180}
	c.Ingest.Transport = "auto"
	c.Ingest.StallTimeout = Duration(5 * time.Second)
	c.Ingest.BackoffMin = Duration(time.Second)
	c.Ingest.BackoffMax = Duration(30 * time.Second)
	c.Ingest.QueueLen = 128
	c.Ingest.GOPMaxBytes = 8 << 20

	c.Cluster.Node, _ = os.Hostname() // validation says so when there is none
	c.Cluster.Lease = Duration(5 * time.Second)
	c.Cluster.HoldDown = Duration(30 * time.Second)

	c.DataDir = "data"
	mapDefaults(&c.Map)
}
