// Command camsim is an RTSP server of simulated street cameras, for the demo,
// tests and benchmarks.
//
// It renders a few street scenes, encodes each once at start with libx264 (High
// profile, SPS/PPS before every IDR and in the SDP), packetizes the result once,
// and then plays the encoded loop on every camera with timestamps that keep
// increasing, so a hundred cameras cost little CPU. Cameras are /cam/1 … /cam/N;
// camera i shows scene (i-1) % variants.
//
// With -audio pcmu, pcma or aac every camera also sends sound: a tone (0.8 s
// of 440 Hz, 0.8 s of 880 Hz) as G.711 at 8 kHz in 20 ms packets, or as
// AAC-LC at 48 kHz mono (encoded once at start with libavcodec's AAC encoder,
// one access unit per RTP packet). The default is none, as many cameras.
//
// With -sub WxH every camera also has a sub-stream at /cam/N/sub, as IP
// cameras offer: the same scene rendered and encoded once at that size
// (-sub-bitrate, 400 kbit/s by default), looped in step with the main one.
//
// When encoding is done and the server listens it prints one line on stdout:
//
//	camsim ready: N cameras at rtsp://HOST:PORT/cam/1..N
//
// SIGINT or SIGTERM closes the server and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"qianliyan/internal/av"
)

// camerasPerGroup is how many cameras share a sending goroutine and its
// ticker. Measured with 128 cameras at 720p, 2 Mbit/s: a ticker per camera
// cost 6% of a core with no reader and 0.33 core with a TCP reader each; 8 or 2
// groups cost 1–3% and 0.27 core.
const camerasPerGroup = 32

// config is the command line.
type config struct {
	Addr             string
	UDPRTP, UDPRTCP  string
	Cameras          int
	Width, Height    int
	SubWidth         int // 0: no sub-streams
	SubHeight        int
	SubBitrate       int
	FPS              int
	GOP, Loop        time.Duration
	Bitrate          int
	Variants         int
	BFrames          int
	Audio            string
	Scripts          []*Script
	User, Pass       string
	LogLevel         slog.Level
	gopFrames, loopN int // derived
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "camsim:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if os.Getenv("GOGC") == "" {
		// gortsplib allocates a buffer for every packet it sends; collecting
		// less often saved about 15% of the CPU with 128 readers (0.27 to 0.22
		// core) for 25 MB more memory.
		debug.SetGCPercent(400)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, os.Stdout); err != nil {
		log.Error("camsim failed", "error", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, errOut io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("camsim", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&cfg.Addr, "addr", ":8554", "RTSP (TCP) listen address")
	fs.StringVar(&cfg.UDPRTP, "udp-rtp", ":8000", `UDP address for RTP (even port); "" disables UDP, then readers must use TCP`)
	fs.StringVar(&cfg.UDPRTCP, "udp-rtcp", ":8001", "UDP address for RTCP (the RTP port + 1)")
	fs.IntVar(&cfg.Cameras, "cameras", 9, "number of cameras, served at /cam/1 … /cam/N")
	size := fs.String("size", "1280x720", "picture size WxH (even numbers)")
	sub := fs.String("sub", "", "also serve a sub-stream of every camera at /cam/N/sub, of this size WxH (e.g. 640x360)")
	fs.IntVar(&cfg.SubBitrate, "sub-bitrate", 400000, "target bitrate of each sub-stream, bits/s")
	fs.IntVar(&cfg.FPS, "fps", 25, "frames per second")
	fs.DurationVar(&cfg.GOP, "gop", 2*time.Second, "IDR interval")
	fs.DurationVar(&cfg.Loop, "loop", 4*time.Second, "length of the encoded loop, rounded up to whole GOPs")
	fs.IntVar(&cfg.Bitrate, "bitrate", 2000000, "target bitrate of each camera, bits/s")
	fs.IntVar(&cfg.Variants, "variants", 0, "number of distinct scenes (default min(cameras, 16)); camera i shows scene (i-1) % variants")
	fs.IntVar(&cfg.BFrames, "bframes", 0, "number of B-frames between references (frames are then sent in decode order, RTP time is the PTS)")
	fs.StringVar(&cfg.Audio, "audio", audioNone, "audio of every camera: none, pcmu or pcma (G.711, 8 kHz, 20 ms packets), aac (AAC-LC, 48 kHz mono); a tone of 440 Hz then 880 Hz")
	fs.StringVar(&cfg.User, "user", "", "RTSP user; with -pass, readers must authenticate (digest)")
	fs.StringVar(&cfg.Pass, "pass", "", "RTSP password")
	fs.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "log level: DEBUG, INFO, WARN, ERROR")
	var sceneErrs []string
	fs.Func("scene", "a scripted scene, served at /scene/NAME: a built-in one ("+builtinScenes()+") or a YAML file; repeat for more", func(ref string) error {
		sc, err := loadScript(ref)
		if err != nil {
			sceneErrs = append(sceneErrs, err.Error())
			return nil
		}
		for _, have := range cfg.Scripts {
			if have.Name == sc.Name {
				sceneErrs = append(sceneErrs, fmt.Sprintf("-scene %s: a scene named %s is already given", ref, sc.Name))
				return nil
			}
		}
		cfg.Scripts = append(cfg.Scripts, sc)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	problems := sceneErrs
	var ok bool
	if cfg.Width, cfg.Height, ok = parseSize(*size); !ok {
		problems = append(problems, fmt.Sprintf("-size %q: want WxH with even numbers from 64 to 8192, e.g. 1280x720", *size))
	}
	if *sub != "" {
		if cfg.SubWidth, cfg.SubHeight, ok = parseSize(*sub); !ok {
			problems = append(problems, fmt.Sprintf("-sub %q: want WxH with even numbers from 64 to 8192, e.g. 640x360", *sub))
		}
		if cfg.SubBitrate < 10000 {
			problems = append(problems, fmt.Sprintf("-sub-bitrate %d: want at least 10000 bits/s", cfg.SubBitrate))
		}
	}
	if cfg.Cameras < 1 {
		problems = append(problems, fmt.Sprintf("-cameras %d: want at least 1", cfg.Cameras))
	}
	if cfg.FPS < 1 || cfg.FPS > 120 {
		problems = append(problems, fmt.Sprintf("-fps %d: want 1 to 120", cfg.FPS))
	}
	cfg.gopFrames = int(math.Round(cfg.GOP.Seconds() * float64(cfg.FPS)))
	if cfg.gopFrames < 1 {
		problems = append(problems, fmt.Sprintf("-gop %v: want at least one frame", cfg.GOP))
	}
	if cfg.Loop <= 0 {
		problems = append(problems, fmt.Sprintf("-loop %v: want more than 0", cfg.Loop))
	}
	if cfg.gopFrames >= 1 && cfg.Loop > 0 {
		gops := int(math.Ceil(cfg.Loop.Seconds()*float64(cfg.FPS)/float64(cfg.gopFrames) - 1e-9))
		cfg.loopN = max(1, gops) * cfg.gopFrames
	}
	if cfg.Bitrate < 10000 {
		problems = append(problems, fmt.Sprintf("-bitrate %d: want at least 10000 bits/s", cfg.Bitrate))
	}
	if cfg.Variants == 0 {
		cfg.Variants = min(cfg.Cameras, 16)
	}
	if cfg.Variants < 1 {
		problems = append(problems, fmt.Sprintf("-variants %d: want at least 1", cfg.Variants))
	}
	cfg.Variants = min(cfg.Variants, max(cfg.Cameras, 1))
	if cfg.BFrames < 0 || cfg.BFrames > 16 {
		problems = append(problems, fmt.Sprintf("-bframes %d: want 0 to 16", cfg.BFrames))
	}
	switch cfg.Audio {
	case audioNone, audioPCMU, audioPCMA, audioAAC:
	default:
		problems = append(problems, fmt.Sprintf("-audio %q: want none, pcmu, pcma or aac", cfg.Audio))
	}
	if (cfg.User == "") != (cfg.Pass == "") {
		problems = append(problems, "-user and -pass: give both or neither")
	}
	if (cfg.UDPRTP == "") != (cfg.UDPRTCP == "") && cfg.UDPRTP != "" {
		problems = append(problems, `-udp-rtcp: needed with -udp-rtp (or set -udp-rtp "" to disable UDP)`)
	}
	if len(problems) > 0 {
		return cfg, errors.New(strings.Join(problems, "; "))
	}
	return cfg, nil
}

// parseSize reads WxH with even numbers from 64 to 8192.
func parseSize(s string) (w, h int, ok bool) {
	ws, hs, ok := strings.Cut(s, "x")
	w, _ = strconv.Atoi(ws)
	h, _ = strconv.Atoi(hs)
	return w, h, ok && w >= 64 && h >= 64 && w%2 == 0 && h%2 == 0 && w <= 8192 && h <= 8192
}

// run encodes the scenes, serves the cameras and returns when ctx ends.
func run(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	// Listen first, so a port in use fails at once rather than after the
	// encoding; until the cameras exist every request gets 503.
	h := &handler{log: log, user: cfg.User, pass: cfg.Pass}
	var listenAddr net.Addr
	srv := newRTSPServer(cfg, h, &listenAddr)
	h.server = srv
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start RTSP server: %w", err)
	}
	defer srv.Close()

	t0, cpu0 := time.Now(), cpuTime()
	var scenes []*Scene
	for v := range cfg.Variants {
		scenes = append(scenes, NewScene(v, cfg.Width, cfg.Height, cfg.FPS, cfg.loopN))
	}
	for _, sc := range cfg.Scripts {
		gops := int(math.Ceil(sc.Length.Seconds()*float64(cfg.FPS)/float64(cfg.gopFrames) - 1e-9))
		scenes = append(scenes, NewScriptedScene(sc, cfg.Width, cfg.Height, cfg.FPS, gops*cfg.gopFrames))
	}
	all, err := encodeClips(ctx, clipConfig{
		EncoderConfig: av.EncoderConfig{
			Width:     cfg.Width,
			Height:    cfg.Height,
			FPS:       cfg.FPS,
			GOPFrames: cfg.gopFrames,
			BFrames:   cfg.BFrames,
			Bitrate:   cfg.Bitrate,
		},
	}, scenes)
	if ctx.Err() != nil {
		log.Info("shutting down")
		return nil
	}
	if err != nil {
		return fmt.Errorf("encode scenes: %w", err)
	}
	clips, scripted := all[:cfg.Variants], all[cfg.Variants:]
	var subClips []*clip
	if cfg.SubWidth > 0 {
		t0 := time.Now()
		if subClips, err = encodeSubClips(ctx, cfg); err != nil {
			if ctx.Err() != nil {
				log.Info("shutting down")
				return nil
			}
			return fmt.Errorf("encode sub-streams: %w", err)
		}
		log.Info("sub-streams encoded", "size", fmt.Sprintf("%dx%d", cfg.SubWidth, cfg.SubHeight), "took", time.Since(t0).Round(time.Millisecond))
	}
	var bytes int
	for _, c := range clips {
		bytes += c.Bytes
	}
	loopSec := float64(cfg.loopN) / float64(cfg.FPS)
	log.Info("scenes encoded", "variants", len(clips), "scripted", len(scripted), "frames", cfg.loopN, "size", fmt.Sprintf("%dx%d", cfg.Width, cfg.Height),
		"took", time.Since(t0).Round(time.Millisecond), "cpu", (cpuTime() - cpu0).Round(time.Millisecond),
		"bitrate", int(float64(bytes*8)/float64(len(clips))/loopSec))

	var audio *audioClip
	if cfg.Audio != audioNone {
		if audio, err = newAudioClip(cfg.Audio); err != nil {
			return fmt.Errorf("encode audio: %w", err)
		}
	}

	cams := make([]*camera, 0, cfg.Cameras)
	byPath := make(map[string]*camera, cfg.Cameras)
	defer func() {
		for _, c := range cams {
			c.close()
		}
	}()
	for i := range cfg.Cameras {
		// Spread the cameras over the loop, so their IDRs do not all come at
		// once.
		phase := i * cfg.loopN / cfg.Cameras
		cam, err := newCamera(srv, i+1, clips[i%len(clips)], cfg.FPS, phase, audio)
		if err != nil {
			return err
		}
		cams = append(cams, cam)
		byPath[cam.Path] = cam
		if subClips != nil {
			// the same phase: the sub-stream shows what the main one shows
			sub, err := newCamera(srv, i+1, subClips[i%len(subClips)], cfg.FPS, phase, audio)
			if err != nil {
				return err
			}
			sub.Path += "/sub"
			cams = append(cams, sub)
			byPath[sub.Path] = sub
		}
	}
	for i, c := range scripted {
		// Scripted scenes start together at their time 0, when the ready
		// line is printed.
		cam, err := newCamera(srv, cfg.Cameras+i+1, c, cfg.FPS, 0, audio)
		if err != nil {
			return err
		}
		cam.Path = "/scene/" + cfg.Scripts[i].Name
		cams = append(cams, cam)
		byPath[cam.Path] = cam
	}
	h.cams.Store(&byPath)

	camCtx, cancel := context.WithCancel(ctx)
	played := make(chan struct{})
	defer func() {
		cancel()
		<-played
	}()
	go func() {
		defer close(played)
		playCameras(camCtx, cams, (len(cams)+camerasPerGroup-1)/camerasPerGroup, log)
	}()

	if subClips != nil {
		fmt.Fprintf(stdout, "sub-streams (%dx%d) at rtsp://%s/cam/1..%d/sub\n", cfg.SubWidth, cfg.SubHeight, displayAddr(listenAddr), cfg.Cameras)
	}
	for _, sc := range cfg.Scripts {
		fmt.Fprintf(stdout, "scene %s at rtsp://%s/scene/%s, a %v loop from now\n", sc.Name, displayAddr(listenAddr), sc.Name, sc.Length)
	}
	fmt.Fprintf(stdout, "camsim ready: %d cameras at rtsp://%s/cam/1..%d\n", cfg.Cameras, displayAddr(listenAddr), cfg.Cameras)
	log.Info("serving", "addr", listenAddr.String(), "cameras", cfg.Cameras, "sub_streams", subClips != nil, "udp", cfg.UDPRTP != "", "auth", cfg.User != "", "audio", cfg.Audio)

	errc := make(chan error, 1)
	go func() { errc <- srv.Wait() }()
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-errc:
		return fmt.Errorf("RTSP server: %w", err)
	}
}

// displayAddr is the listen address as a reader would dial it: a wildcard
// address becomes the loopback one.
func displayAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := ta.IP.String()
	if ta.IP == nil || ta.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(ta.Port))
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
