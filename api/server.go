package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/pion/webrtc/v4"
	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/record"
	"qianliyan/relay"
	"qianliyan/task"
)

// Cameras is what the API needs from ingest.
type Cameras interface {
	Health(id string) (ingest.Health, bool)
	Healths() []ingest.Health
	Stream(id string) *ingest.Stream
	// WantSub starts the camera's sub-stream and waits until it is online
	// (ok false: the camera has none).
	WantSub(ctx context.Context, camera string, within time.Duration) (h ingest.Health, ok bool)
}

// Relay is what the API needs from the WebRTC relay.
type Relay interface {
	Offer(ctx context.Context, camera, offer string, client netip.Addr) (*relay.Session, string, error)
	End(camera, key string) error
	AddCandidates(camera, key, frag string) error
	Viewers() map[string]int
	Sessions() []relay.SessionStats
	ICEServers() []webrtc.ICEServer
}

// Deps are the parts the API serves.
type Deps struct {
	Config  *configs.Config
	Cameras Cameras
	Relay   Relay
	Redis   redis.UniversalClient
	Log     *slog.Logger
	// Detection and Incidents may be nil: the incident routes then say
	// detection is not running.
	Detection Detection
	Incidents *detect.Store
	// SnapshotDir holds the incidents' pictures.
	SnapshotDir string
	// Tasks keeps the work orders; nil: the task routes answer 503. Uploaded
	// photos go to <Config.DataDir>/uploads.
	Tasks *task.Store
	// Recorder keeps the cameras' recordings and the clips of tasks; nil:
	// the recording routes answer 404 and steps keep no clips.
	Recorder *record.Recorder
	// Now is the clock tokens are issued and checked by; nil is time.Now.
	Now func() time.Time
	// Webhooks is the outbound webhooks' dead-letter list; nil: its routes
	// answer 503.
	Webhooks Webhooks
	// HTTP bounds what one client may hold of the HTTP servers; zero
	// fields take their defaults (see HTTPLimits).
	HTTP HTTPLimits
	// Cluster says which member owns each camera; nil: this bridge reads
	// every camera itself.
	Cluster Cluster
}

// Server is the bridge's HTTP API.
type Server struct {
	cfg     *configs.Config
	cams    Cameras
	relay   Relay
	rdb     redis.UniversalClient
	log     *slog.Logger
	started time.Time
	engine  *gin.Engine
	metricz *gin.Engine
	http    HTTPLimits // the HTTP server's timeouts and sizes
	events  *events
	snaps   *snapshots

	detection Detection
	incidents *detect.Store
	snapDir   string
	tasks     *task.Store
	center    *task.Center // where tasks land, who sees what of them
	uploadDir string
	rec       *record.Recorder
	webhooks  Webhooks

	secret  *secret
	revoked *revocations
	limits  *limiter
	now     func() time.Time
	cluster Cluster
	bus     *bus // nil without a cluster: events stay on this member
}

// New builds the API; Run must run for server-sent events to flow.
func New(d Deps) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{cfg: d.Config, cams: d.Cameras, relay: d.Relay, rdb: d.Redis, log: d.Log, started: time.Now()}
	s.detection, s.incidents, s.snapDir = d.Detection, d.Incidents, d.SnapshotDir
	s.tasks, s.uploadDir = d.Tasks, filepath.Join(d.Config.DataDir, "uploads")
	s.center = task.NewCenter(d.Config)
	s.rec = d.Recorder
	s.webhooks = d.Webhooks
	s.secret, s.now = newSecret(d.Config, d.Redis), d.Now
	s.revoked, s.limits = newRevocations(d.Redis, d.Config.Redis.Prefix), newLimiter(d.Redis, d.Config.Redis.Prefix, d.Log)
	s.http = d.HTTP.withDefaults()
	s.cluster = d.Cluster
	if s.now == nil {
		s.now = time.Now
	}
	s.events = newEvents()
	s.events.center = s.center
	if s.incidents != nil {
		s.incidents.OnChange(s.events.publishIncident)
	}
	if s.tasks != nil {
		s.tasks.OnChange(s.events.publishTask)
	}
	if s.cluster != nil && s.rdb != nil {
		s.bus = newBus(s.rdb, d.Config.Redis.Prefix, s.cluster.Node(), s.events, s.log)
		if s.incidents != nil {
			s.incidents.OnChange(s.bus.sendIncident)
		}
		if s.tasks != nil {
			s.tasks.OnChange(s.bus.sendTask)
		}
	}
	s.snaps = newSnapshots()
	e := gin.New()
	e.Use(s.recovery())
	// The pages show every time in the center's zone: each answer names it.
	zone := d.Config.Server.Location().String()
	e.Use(func(c *gin.Context) { c.Header("X-Time-Zone", zone) })
	e.HandleMethodNotAllowed = true
	e.NoRoute(func(c *gin.Context) { writeError(c, http.StatusNotFound, "no such page or route: "+c.Request.URL.Path) })
	e.NoMethod(func(c *gin.Context) {
		writeError(c, http.StatusMethodNotAllowed, c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	})
	e.GET("/healthz", s.wrap(s.healthz))
	// Logging in works whatever stale token the client still sends.
	e.POST("/api/login", s.wrap(s.login))
	e.POST("/api/device", s.wrap(s.device))
	e.GET("/api/openapi.json", s.wrap(s.openAPI))
	// Every other API route knows its caller (see auth.go); a bad token is a 401.
	a := e.Group("", s.wrap(s.authenticate))
	center := s.requireRole(RoleStaff, RoleAdmin)
	a.GET("/api/me", s.wrap(s.me))
	a.POST("/api/logout", s.wrap(s.logout))
	a.GET("/api/cameras", s.wrap(s.listCameras))
	a.GET("/api/cameras/:id", s.wrap(s.getCamera))
	a.GET("/api/cameras/:id/snapshot.jpg", s.wrap(s.snapshot))
	a.GET("/api/cameras/:id/thumb.jpg", s.wrap(s.thumbnail))
	a.GET("/api/thumbs", s.wrap(s.thumbs))
	a.GET("/api/events", s.longLived, s.wrap(s.serveEvents))
	a.GET("/api/webrtc", s.wrap(s.webrtcConfig))
	a.GET("/api/incidents", center, s.wrap(s.listIncidents))
	a.GET("/api/incidents/:id", center, s.wrap(s.getIncident))
	a.GET("/api/incidents/:id/snapshot.jpg", center, s.wrap(s.incidentSnapshot))
	a.POST("/api/cameras/:id/zones/:zone/reference", center, s.wrap(s.takeReference))
	a.GET("/api/cameras/:id/detect", center, s.wrap(s.detectState))
	a.PUT("/api/cameras/:id/detect", center, s.wrap(s.setMode))
	// Tasks: who sees and may do what is in tasks.go.
	t := a.Group("", s.wrap(s.taskGate))
	t.GET("/api/tasks", s.wrap(s.listTasks))
	t.POST("/api/tasks", center, s.wrap(s.createTask))
	t.GET("/api/tasks/counts", center, s.wrap(s.taskCounts))
	t.POST("/api/tasks/bulk", center, s.wrap(s.bulk))
	t.GET("/api/tasks/:id", s.wrap(s.getTask))
	t.GET("/api/tasks/:id/dossier", center, s.wrap(s.dossier))
	t.POST("/api/tasks/:id/rating", s.wrap(s.rate))
	t.POST("/api/tasks/:id/track", s.wrap(s.postTrack))
	t.GET("/api/tasks/:id/track", s.wrap(s.getTrack))
	t.POST("/api/tasks/:id/:action", s.wrap(s.transition))
	t.POST("/api/reports", s.wrap(s.report))
	a.POST("/api/uploads", s.wrap(s.upload))
	a.GET("/api/uploads/:name", s.wrap(s.serveUpload))
	a.GET("/api/snapshots/:name", s.requireRole(RoleStaff, RoleAdmin, RoleWorker), s.wrap(s.serveSnapshot))
	a.GET("/api/clips/:name", s.wrap(s.clip))
	a.GET("/api/cameras/:id/recording", center, s.wrap(s.recording))
	a.GET("/api/cameras/:id/recording/:name", center, s.wrap(s.recordingSegment))
	t.GET("/api/workers", center, s.wrap(s.listWorkers))
	t.GET("/api/workers/positions", center, s.wrap(s.listPositions))
	a.GET("/api/map", s.wrap(s.mapSettings))
	t.GET("/api/stats", center, s.wrap(s.stats))
	t.GET("/api/stats/export", center, s.wrap(s.statsExport))
	a.GET("/api/webhooks/dead", center, s.wrap(s.deadWebhooks))
	a.POST("/api/webhooks/dead/:id/retry", center, s.wrap(s.retryWebhook))
	a.GET("/api/cluster", center, s.wrap(s.getCluster))
	a.POST("/api/cluster/clips", s.wrap(s.keepClipForMember))
	a.POST("/whep/:camera", s.wrap(s.whepOffer))
	// The rest of WHEP needs no token: the session's URL is its secret, and
	// a viewer whose token expired while watching must still be able to leave.
	e.OPTIONS("/whep/:camera", s.wrap(s.whepOptions))
	e.PATCH("/whep/:camera/sessions/:id", s.wrap(s.whepPatch))
	e.DELETE("/whep/:camera/sessions/:id", s.wrap(s.whepDelete))
	s.pages(e)
	s.engine = e
	// Metrics name every camera, private ones too: they have an engine
	// (and an address, server.metrics_addr) of their own.
	m := gin.New()
	m.Use(s.recovery())
	m.NoRoute(func(c *gin.Context) {
		writeError(c, http.StatusNotFound, "no such route: "+c.Request.URL.Path+" (only /metrics here)")
	})
	m.GET("/metrics", s.wrap(s.metrics))
	s.metricz = m
	return s
}

// Run publishes camera changes to event subscribers, and the other
// members' incidents and task changes (see bus), and removes the uploads
// no task uses a day after they came (at start, then hourly), until ctx
// ends.
func (s *Server) Run(ctx context.Context) error {
	if s.bus != nil {
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() { s.bus.run(ctx) })
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	var nextSweep time.Time
	for {
		s.events.publishChanges(s.cameraList(bridgeItself))
		if now := s.now(); !now.Before(nextSweep) {
			s.sweepUploads(ctx, now)
			nextSweep = now.Add(sweepEvery)
		}
		select {
		case <-ctx.Done():
			s.events.closeAll()
			return nil
		case <-t.C:
		}
	}
}

// Handler returns the HTTP handler of every public route.
func (s *Server) Handler() http.Handler { return s.engine }

// MetricsHandler returns the HTTP handler of GET /metrics, for an
// operators' address only.
func (s *Server) MetricsHandler() http.Handler { return s.metricz }

func (s *Server) healthz(c *gin.Context) error {
	online := 0
	hs := s.cams.Healths()
	for _, h := range hs {
		if h.Online {
			online++
		}
	}
	body := gin.H{"status": "ok", "cameras": len(hs), "cameras_online": online, "redis": "ok",
		"uptime_s": int(time.Since(s.started).Seconds())}
	ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		body["status"] = "degraded"
		body["redis"] = "unreachable: " + err.Error()
		c.JSON(http.StatusServiceUnavailable, body)
		return nil
	}
	c.JSON(http.StatusOK, body)
	return nil
}
