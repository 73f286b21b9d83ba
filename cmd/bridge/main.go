// Command bridge is Qianliyan: it pulls every configured camera once over
// RTSP, serves the center's API and keeps camera health in Redis.
//
//	bridge -config configs/demo.yaml
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with -debug-addr, on its own address
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"

	"qianliyan/api"
	"qianliyan/configs"
	"qianliyan/confirm"
	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/internal/redislog"
	"qianliyan/notify"
	"qianliyan/record"
	"qianliyan/relay"
	"qianliyan/task"
)

// gcPercent is the bridge's GOGC unless the environment sets one. Its live
// heap is small (15-20 MB at 100 viewers) and, once viewers are
// playing, it allocates little, so collecting at half the live heap
// instead of all of it costs no measurable CPU and keeps about 10 MB less
// resident at 100 viewers (README, "Relay").
const gcPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bridge:", err)
		os.Exit(1)
	}
}

func run() error {
	cfgPath := flag.String("config", "configs/demo.yaml", "configuration file")
	verbose := flag.Bool("v", false, "log debug events")
	debugAddr := flag.String("debug-addr", "", "serve Go's pprof profiles on this address (e.g. 127.0.0.1:6060)")
	hashPassword := flag.Bool("hash-password", false, "read a password on stdin, print its bcrypt hash (for users[].password_hash) and exit")
	overrides := addMemberFlags(flag.CommandLine)
	flag.Parse()
	if *hashPassword {
		return printHash(os.Stdin, os.Stdout)
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	redislog.Route(log)

	if *debugAddr != "" {
		go func() { log.Warn("pprof server stopped", "err", http.ListenAndServe(*debugAddr, nil)) }()
	}

	// 1. configuration
	cfg, err := configs.Load(*cfgPath, overrides.apply)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// 2. the store
	rdb, redisAt, err := newRedis(*cfgPath, cfg.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		// Video keeps flowing without Redis; health writes retry every second.
		log.Warn("redis unreachable; continuing, will retry", "redis", redisAt, "err", err)
	}
	cancel()

	// 3. ingest: one reader and one stream per camera
	hub := ingest.NewHub(cfg, log)
	member := joinCluster(cfg, rdb, hub, log)

	// 4. the WebRTC relay
	rl, err := relay.NewServer(hub, relayOptions(cfg, log))
	if err != nil {
		return err
	}
	defer rl.Close()
	// the health of the cameras read here, with their viewers, for the
	// other members and processes
	mirror := &ingest.HealthMirror{RDB: rdb, Prefix: cfg.Redis.Prefix, Every: time.Second, Source: ingest.WithViewers(hub.ReadHealths, rl.Viewers)}

	// 5. recording: rolling fMP4 segments per camera, clips of tasks
	rec, err := record.New(cfg, hub, log)
	if err != nil {
		return err
	}

	// 6. detection: every camera analysed, incidents into Redis
	deps := api.Deps{Config: cfg, Cameras: hub, Relay: rl, Redis: rdb, Log: log, Recorder: rec, Cluster: member}
	var detector *detect.Detector
	if cfg.Detect.Mode != configs.ModeOff {
		deps.Incidents = detect.NewStore(rdb, cfg.Redis.Prefix)
		deps.SnapshotDir = filepath.Join(cfg.DataDir, "snapshots")
		opts := detectOptions(cfg, deps.SnapshotDir, log)
		if m := cfg.Detect.Model; m.Path != "" {
			od, err := detect.LoadObjectDetector(m.Path, m.Config, m.Size)
			if err != nil {
				return err
			}
			defer od.Close()
			opts.Objects = detect.NewSharedObjects(od, m.Person, m.Score)
			log.Info("object model loaded", "path", m.Path, "size", m.Size)
		}
		detector = detect.NewDetector(cfg, hub, deps.Incidents, opts, cfg.Detect.OfflineAfter.D())
		deps.Detection = detector
	}

	// 7. tasks: work orders in Redis; Run marks the overdue ones
	tasks := task.NewStore(rdb, cfg.Redis.Prefix, cfg.Tasks, time.Now)
	tasks.ScanOnlyWhen(overdueDuty(cfg, rdb).Held) // one member scans
	tasks.WaitForReplicas(cfg.Redis.WaitReplicas, time.Second)
	deps.Tasks = tasks
	// their events go out to the configured webhooks (SMS gateway, 12345),
	// queued in Redis
	hooks := notify.New(cfg, rdb, notify.Options{Log: log})
	tasks.OnChange(hooks.OnEvent)
	deps.Webhooks = hooks

	// 8. confirmed on camera: incidents become tasks, cameras watch the
	// zones of their tasks and confirm arrival and the fix, each with a clip
	var conf *confirm.Confirmer
	if detector != nil {
		conf = confirm.New(cfg, tasks, confirm.DetectorCameras(detector), log)
		conf.KeepClips(rec)
		conf.Attach(deps.Incidents)
	}

	// 9. the API and the pages
	apiSrv := api.New(deps)
	if conf != nil {
		apiSrv.OnOtherMembersTask(conf.TaskChanged) // a claim made through another member
	}
	srv := apiSrv.HTTPServer(cfg.Server.Addr)
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	msrv := apiSrv.MetricsServer(cfg.Server.MetricsAddr)
	mln, err := net.Listen("tcp", cfg.Server.MetricsAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listen on %s (server.metrics_addr): %w", cfg.Server.MetricsAddr, err)
	}
	log.Info("bridge started", "config", *cfgPath, "node", cfg.Cluster.Node, "cameras", len(cfg.Cameras), "http", ln.Addr().String(),
		"metrics", mln.Addr().String(), "webrtc_udp", rl.UDPAddrs())

	var wg sync.WaitGroup
	wg.Go(func() { _ = member.Run(ctx) })
	wg.Go(func() { _ = hub.Run(ctx) })
	wg.Go(func() { _ = rec.Run(ctx) })
	wg.Go(func() { _ = mirror.Run(ctx) })
	wg.Go(func() { _ = apiSrv.Run(ctx) })
	wg.Go(func() { _ = tasks.Run(ctx) })
	wg.Go(func() { _ = hooks.Run(ctx) })
	if detector != nil {
		wg.Go(func() { _ = detector.Run(ctx) })
		wg.Go(func() { _ = conf.Run(ctx) })
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	go func() { serveErr <- msrv.Serve(mln) }()

	// run until a signal or the HTTP server fails, then stop in reverse
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		stop()
	}
	shutCtx, cancelShut := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShut()
	_ = srv.Shutdown(shutCtx)
	_ = msrv.Shutdown(shutCtx)
	wg.Wait()
	log.Info("bridge stopped")
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// relayOptions turns the webrtc section of the config into relay options.
func relayOptions(cfg *configs.Config, log *slog.Logger) relay.Options {
	o := relay.Options{UDPPort: cfg.WebRTC.UDPPort, TCPPort: cfg.WebRTC.TCPPort, PublicIPs: cfg.WebRTC.PublicIPs,
		MaxSessions: cfg.WebRTC.MaxSessions, MaxSessionsPerClient: cfg.WebRTC.MaxSessionsPerClient, Log: log}
	if o.TCPPort == 0 {
		o.TCPPort = -1 // 0 turns ICE-TCP off in the config
	}
	for _, is := range cfg.WebRTC.ICEServers {
		o.ICEServers = append(o.ICEServers, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	return o
}

// detectOptions turns the detect section of the config into detection options.
func detectOptions(cfg *configs.Config, snapDir string, log *slog.Logger) detect.Options {
	th := detect.DefaultThresholds()
	th.ZoneDiff = cfg.Detect.ZoneDiff
	th.ZoneHold = cfg.Detect.ZoneHold.D()
	th.TamperHold = cfg.Detect.TamperHold.D()
	th.LoiterAfter = cfg.Detect.LoiterAfter.D()
	th.PersonMinPx, th.PersonMaxPx = cfg.Detect.PersonMinPx, cfg.Detect.PersonMaxPx
	return detect.Options{Thresholds: th, Rate: cfg.Detect.Rate, WatchRate: cfg.Detect.WatchRate,
		CalmFor: cfg.Detect.CalmFor.D(), StepDown: cfg.Detect.StepDown.D(), Mode: cfg.Detect.Mode, SnapDir: snapDir, Log: log}
}
