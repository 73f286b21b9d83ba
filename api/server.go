package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
	"qianliyan/ingest"
)

// Cameras is what the API needs from ingest.
type Cameras interface {
	Health(id string) (ingest.Health, bool)
	Healths() []ingest.Health
}

// Server is the bridge's HTTP API.
type Server struct {
	cfg     *configs.Config
	cams    Cameras
	rdb     redis.UniversalClient
	log     *slog.Logger
	started time.Time
	engine  *gin.Engine
}

// New builds the API over the configured cameras.
func New(cfg *configs.Config, cams Cameras, rdb redis.UniversalClient, log *slog.Logger) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{cfg: cfg, cams: cams, rdb: rdb, log: log, started: time.Now()}
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
	s.engine = e
	return s
}

// Handler returns the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.engine }

// Engine gives later parts (relay, pages) a place to add their routes.
func (s *Server) Engine() *gin.Engine { return s.engine }

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
