package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/pion/webrtc/v4"
	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/relay"
)

// Cameras is what the API needs from ingest.
type Cameras interface {
	Health(id string) (ingest.Health, bool)
	Healths() []ingest.Health
	Stream(id string) *ingest.Stream
}

// Relay is what the API needs from the WebRTC relay.
type Relay interface {
	Offer(ctx context.Context, camera, offer string) (*relay.Session, string, error)
	End(id string) error
	AddCandidates(id, frag string) error
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
	events  *events
	snaps   *snapshots

	detection Detection
	incidents *detect.Store
	snapDir   string
}

// New builds the API; Run must run for server-sent events to flow.
func New(d Deps) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{cfg: d.Config, cams: d.Cameras, relay: d.Relay, rdb: d.Redis, log: d.Log, started: time.Now()}
	s.detection, s.incidents, s.snapDir = d.Detection, d.Incidents, d.SnapshotDir
	s.events = newEvents()
	if s.incidents != nil {
		s.incidents.OnChange = s.events.publishIncident
	}
	s.snaps = newSnapshots()
	e := gin.New()
	e.Use(s.recovery())
	e.HandleMethodNotAllowed = true
	e.NoRoute(func(c *gin.Context) { writeError(c, http.StatusNotFound, "no such page or route: "+c.Request.URL.Path) })
	e.NoMethod(func(c *gin.Context) {
		writeError(c, http.StatusMethodNotAllowed, c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	})
	e.GET("/healthz", s.wrap(s.healthz))
	e.GET("/metrics", s.wrap(s.metrics))
	e.GET("/api/cameras", s.wrap(s.listCameras))
	e.GET("/api/cameras/:id", s.wrap(s.getCamera))
	e.GET("/api/cameras/:id/snapshot.jpg", s.wrap(s.snapshot))
	e.GET("/api/events", s.wrap(s.serveEvents))
	e.GET("/api/webrtc", s.wrap(s.webrtcConfig))
	e.GET("/api/incidents", s.wrap(s.listIncidents))
	e.GET("/api/incidents/:id", s.wrap(s.getIncident))
	e.GET("/api/incidents/:id/snapshot.jpg", s.wrap(s.incidentSnapshot))
	e.POST("/api/cameras/:id/zones/:zone/reference", s.wrap(s.takeReference))
	e.PUT("/api/cameras/:id/detect", s.wrap(s.setMode))
	e.OPTIONS("/whep/:camera", s.wrap(s.whepOptions))
	e.POST("/whep/:camera", s.wrap(s.whepOffer))
	e.PATCH("/whep/:camera/sessions/:id", s.wrap(s.whepPatch))
	e.DELETE("/whep/:camera/sessions/:id", s.wrap(s.whepDelete))
	s.pages(e)
	s.engine = e
	return s
}

// Run publishes camera changes to event subscribers until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		s.events.publishChanges(s.cameraList(true))
		select {
		case <-ctx.Done():
			s.events.closeAll()
			return nil
		case <-t.C:
		}
	}
}

// Handler returns the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.engine }

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
