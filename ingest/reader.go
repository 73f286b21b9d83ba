package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"qianliyan/configs"
)

// Reader pulls one camera over RTSP into its Stream, reconnecting with
// backoff, and keeps the camera's Health.
type Reader struct {
	id        string
	url       string
	transport string
	opts      configs.Ingest
	stream    *Stream
	log       *slog.Logger
	now       func() time.Time

	mu     sync.Mutex
	health Health // the parts not kept in atomics below
	// epoch numbers the sessions, across Runs too: a sub-stream's reader
	// is started again and again, and its stream's readers must see each
	// session as a new timeline. Only Run touches it, one Run at a time.
	epoch uint32

	bytes      atomic.Uint64
	frames     atomic.Uint64
	reconnects atomic.Uint64
	lost       atomic.Uint64
}

// NewReader returns the reader of camera cam publishing into stream. The
// camera's own transport setting wins over the ingest default.
func NewReader(cam configs.Camera, opts configs.Ingest, stream *Stream, log *slog.Logger) *Reader {
	tr := cam.Transport
	if tr == "" {
		tr = opts.Transport
	}
	r := &Reader{
		id:        cam.ID,
		url:       cam.URL,
		transport: tr,
		opts:      opts,
		stream:    stream,
		log:       log.With("camera", cam.ID),
		now:       time.Now,
	}
	r.health = Health{Camera: cam.ID, Since: r.now(), LastError: "connecting"}
	return r
}

// Stream returns the stream this reader publishes into.
func (r *Reader) Stream() *Stream { return r.stream }

// Health returns a snapshot of the camera's health.
func (r *Reader) Health() Health {
	r.mu.Lock()
	h := r.health
	r.mu.Unlock()
	h.Bytes = r.bytes.Load()
	h.Frames = r.frames.Load()
	h.Reconnects = r.reconnects.Load()
	h.LostPackets = r.lost.Load()
	st := r.stream.Stats()
	h.Dropped = st.Dropped
	h.Subscribers = st.Subscribers
	return h
}

// Run reads the camera until ctx ends, reconnecting after every failure
// with a backoff that doubles from BackoffMin to BackoffMax, with jitter.
func (r *Reader) Run(ctx context.Context) error {
	backoff := r.opts.BackoffMin.D()
	for {
		r.epoch++
		online, err := r.session(ctx, r.epoch)
		r.stream.Reset()
		if ctx.Err() != nil {
			r.stopped(ctx)
			return nil
		}
		r.setOffline(Why(err))
		if online {
			backoff = r.opts.BackoffMin.D()
		}
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		select {
		case <-ctx.Done():
			r.stopped(ctx)
			return nil
		case <-time.After(wait):
		}
		r.reconnects.Add(1)
		backoff = min(backoff*2, r.opts.BackoffMax.D())
	}
}

func (r *Reader) setOnline(codec Codec, width, height int, transport string, audio Codec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := &r.health
	if !h.Online {
		h.Online = true
		h.Since = r.now()
		r.log.Info("camera online", "codec", codec, "width", width, "height", height, "transport", transport, "audio", audio)
	}
	h.setReason(Reason{})
	h.Idle = false
	h.Codec, h.Width, h.Height, h.Transport, h.AudioCodec = codec, width, height, transport, audio
}

// errIdle is the cause of a sub-stream reader's stop when nobody needs it.
var errIdle = errors.New("nobody needs the stream")

// errReleased is the cause of a reader's stop when another member of the
// cluster reads the camera (Hub.Own).
var errReleased = errors.New("another member of the cluster reads the camera")

// idleReason is the health's LastError of a stream not read for want of
// readers.
var idleReason = reason(MsgIdle, "not read while nobody watches it (started on demand)")

// releasedReason is the health's LastError of a camera another member of
// the cluster reads.
var releasedReason = reason(MsgReleased, "not read by this bridge: another member of the cluster reads it")

// waitReason is the health's LastError of a camera of a gated hub before
// the cluster has said whether this bridge reads it.
var waitReason = reason(MsgWaiting, "not read by this bridge until the cluster says it owns it")

// stopped records why Run ends: nobody needs the stream (see demand),
// another member reads it (Hub.Own), or the bridge shuts down.
func (r *Reader) stopped(ctx context.Context) {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errIdle):
		r.setIdle(idleReason)
	case errors.Is(cause, errReleased):
		r.setIdle(releasedReason)
	default:
		r.setOffline(reason(MsgShuttingDown, "the bridge is shutting down"))
	}
}

// setIdle marks the stream as not read on purpose, saying why: not a
// fault, so no warning.
func (r *Reader) setIdle(why Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := &r.health
	if h.Online {
		h.Online = false
		h.Since = r.now()
	}
	if !h.Idle || h.LastError != why.Text {
		r.log.Info("stream idle", "reason", why.Text)
	}
	h.Idle = true
	h.setReason(why)
	h.FPS, h.Bitrate = 0, 0
}

// starting marks an idle stream as connecting again.
func (r *Reader) starting() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.health.Idle {
		r.health.Idle, r.health.Since = false, r.now()
		r.health.setReason(reason(MsgConnecting, "connecting"))
	}
}

func (r *Reader) setOffline(why Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := &r.health
	if h.Online || h.LastError != why.Text {
		r.log.Warn("camera offline", "reason", why.Text)
	}
	if h.Online {
		h.Online = false
		h.Since = r.now()
	}
	h.Idle = false
	h.setReason(why)
	h.FPS, h.Bitrate, h.Warning, h.WarningCode, h.BFrames = 0, 0, "", "", false
}

func (r *Reader) update(f func(h *Health)) {
	r.mu.Lock()
	f(&r.health)
	r.mu.Unlock()
}

// session runs one RTSP session; online tells whether video came at all.
func (r *Reader) session(ctx context.Context, epoch uint32) (online bool, err error) {
	u, err := base.ParseURL(r.url)
	if err != nil {
		return false, fmt.Errorf("the camera address is not a valid RTSP URL: %w", err)
	}
	stall := r.opts.StallTimeout.D()
	transport := "UDP"
	c := &gortsplib.Client{
		Scheme:      u.Scheme,
		Host:        u.Host,
		ReadTimeout: stall,
		// A key frame arrives as a burst of ~100 packets; the kernel's
		// default 208 KiB socket buffer overflows under load.
		UDPReadBufferSize: 4 << 20,
		WriteTimeout:      stall,
		OnPacketsLost:     func(n uint64) { r.lost.Add(n) },
		OnDecodeError:     func(error) {}, // counted as lost packets; not worth a log line each
	}
	switch r.transport {
	case "tcp":
		t := gortsplib.TransportTCP
		c.Transport = &t
		transport = "TCP"
	case "udp":
		t := gortsplib.TransportUDP
		c.Transport = &t
	}
	var switched atomic.Bool
	c.OnTransportSwitch = func(error) { switched.Store(true) }

	// Describe and Setup block; closing the client is how ctx stops them.
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()
	if err := c.Start2(); err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer c.Close()

	desc, _, err := c.Describe(u)
	if err != nil {
		return false, fmt.Errorf("describe: %w", err)
	}
	medi, forma, decode, ps, err := pickVideo(desc)
	if err != nil {
		return false, err
	}
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return false, fmt.Errorf("setup: %w", err)
	}
	audio := r.pickAudio(desc)
	r.stream.SetAudio(nil)
	var audioCodec Codec
	if audio != nil {
		if _, err := c.Setup(desc.BaseURL, audio.media, 0, 0); err != nil {
			return false, fmt.Errorf("setup audio: %w", err)
		}
		r.stream.SetAudio(&audio.info)
		audioCodec = audio.info.Codec
		r.readAudio(c, audio, epoch)
	}

	var lastUnit atomic.Int64
	lastUnit.Store(r.now().UnixNano())
	var seen atomic.Bool
	var lastPTS time.Duration
	var firstUnit, firstBytes atomic.Int64
	frames0 := r.frames.Load()
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		r.bytes.Add(uint64(len(pkt.Payload) + 12))
		// The time decoder must see every packet: it can only start on one
		// whose PTS equals its DTS, which is a key frame's first packet.
		ticks, ok := c.PacketPTS2(medi, pkt)
		if !ok {
			return
		}
		au, err := decode(pkt)
		if err != nil {
			return // fragments and losses: the depacketizer's normal answers
		}
		now := r.now()
		pts := time.Duration(ticks) * time.Second / time.Duration(forma.ClockRate())
		key := ps.isKey(au)
		au = ps.process(au, key)
		size := 0
		for _, n := range au {
			size += len(n)
		}
		if seen.Load() && pts < lastPTS {
			r.update(func(h *Health) {
				h.BFrames = true
				if h.Warning == "" {
					h.Warning = "the camera sends B-frames, which browsers cannot play over WebRTC: turn B-frames off in the camera's encoder settings"
					h.WarningCode = MsgBFrames
				}
			})
		}
		lastPTS = pts
		lastUnit.Store(now.UnixNano())
		r.frames.Add(1)
		if !seen.Load() {
			firstUnit.Store(now.UnixNano())
			firstBytes.Store(int64(r.bytes.Load()))
		}
		if !seen.Swap(true) {
			tr := transport
			if switched.Load() {
				tr = "TCP"
			}
			r.setOnline(ps.codec, ps.width, ps.height, tr, audioCodec)
		}
		r.stream.Publish(&Unit{Codec: ps.codec, PTS: pts, Received: now, NALUs: au, Key: key, Epoch: epoch, Size: size})
	})
	if _, err := c.Play(nil); err != nil {
		return false, fmt.Errorf("play: %w", err)
	}

	waitErr := make(chan error, 1)
	go func() { waitErr <- c.Wait() }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var rates rateMeter
	measuring := false
	for {
		select {
		case err := <-waitErr:
			return seen.Load(), err
		case <-tick.C:
			now := r.now()
			if now.Sub(time.Unix(0, lastUnit.Load())) > stall {
				c.Close()
				<-waitErr
				return seen.Load(), errStall{after: stall.String()}
			}
			if !seen.Load() {
				continue
			}
			if !measuring {
				// measure from the first picture, not from the handshake
				measuring = true
				rates = rateMeter{at: time.Unix(0, firstUnit.Load()), frames: frames0, bytes: uint64(firstBytes.Load())}
			}
			if fps, bps, ok := rates.sample(now, r.frames.Load(), r.bytes.Load()); ok {
				r.update(func(h *Health) {
					h.FPS, h.Bitrate = fps, bps
					h.Width, h.Height = ps.width, ps.height // in-band SPS may change them
					if switched.Load() {
						h.Transport = "TCP"
					}
				})
			}
		}
	}
}

// rateMeter turns counters into per-second rates over ~2 s windows.
type rateMeter struct {
	at            time.Time
	frames, bytes uint64
}

func (m *rateMeter) sample(now time.Time, frames, bytes uint64) (fps, bps float64, ok bool) {
	dt := now.Sub(m.at).Seconds()
	if dt < 2 {
		return 0, 0, false
	}
	fps = float64(frames-m.frames) / dt
	bps = float64(bytes-m.bytes) * 8 / dt
	m.at, m.frames, m.bytes = now, frames, bytes
	return fps, bps, true
}

// pickVideo finds the camera's H.264 (preferred) or H.265 video.
func pickVideo(desc *description.Session) (*description.Media, format.Format, func(*rtp.Packet) ([][]byte, error), *paramSets, error) {
	var f264 *format.H264
	if medi := desc.FindFormat(&f264); medi != nil {
		dec, err := f264.CreateDecoder()
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("H.264 depacketizer: %w", err)
		}
		sps, pps := f264.SafeParams()
		return medi, f264, dec.Decode, newParamSets(H264, nil, sps, pps), nil
	}
	var f265 *format.H265
	if medi := desc.FindFormat(&f265); medi != nil {
		dec, err := f265.CreateDecoder()
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("H.265 depacketizer: %w", err)
		}
		vps, sps, pps := f265.SafeParams()
		return medi, f265, dec.Decode, newParamSets(H265, vps, sps, pps), nil
	}
	var offered []string
	for _, m := range desc.Medias {
		for _, f := range m.Formats {
			offered = append(offered, f.Codec())
		}
	}
	if len(offered) == 0 {
		offered = []string{"nothing"}
	}
	return nil, nil, nil, nil, fmt.Errorf("the camera sends no H.264 or H.265 video (it offers %s)", strings.Join(offered, ", "))
}

// cameraAudio is the audio media of a camera's session that the bridge
// can use.
type cameraAudio struct {
	media  *description.Media
	format format.Format
	info   AudioInfo
	// decode returns the units of one RTP packet: the G.711 samples, or
	// the AAC access units it carries.
	decode func(*rtp.Packet) ([][]byte, error)
}

// pickAudio finds the camera's G.711 or AAC audio; other audio (and none)
// gives nil, and the camera plays without sound.
func (r *Reader) pickAudio(desc *description.Session) *cameraAudio {
	var g711 *format.G711
	if medi := desc.FindFormat(&g711); medi != nil {
		codec := PCMA
		if g711.MULaw {
			codec = PCMU
		}
		return &cameraAudio{media: medi, format: g711,
			info:   AudioInfo{Codec: codec, SampleRate: g711.SampleRate, Channels: g711.ChannelCount},
			decode: func(pkt *rtp.Packet) ([][]byte, error) { return [][]byte{pkt.Payload}, nil }}
	}
	var aac *format.MPEG4Audio
	if medi := desc.FindFormat(&aac); medi != nil && aac.Config != nil {
		conf, err := aac.Config.Marshal()
		if err != nil {
			r.log.Debug("camera audio ignored", "reason", "bad AAC config", "error", err)
			return nil
		}
		dec, err := aac.CreateDecoder()
		if err != nil {
			r.log.Debug("camera audio ignored", "reason", "AAC depacketizer", "error", err)
			return nil
		}
		return &cameraAudio{media: medi, format: aac,
			info:   AudioInfo{Codec: AAC, SampleRate: aac.Config.SampleRate, Channels: aac.Config.ChannelCount, Config: conf},
			decode: dec.Decode}
	}
	for _, m := range desc.Medias {
		if m.Type == description.MediaTypeAudio {
			for _, f := range m.Formats {
				r.log.Debug("camera audio ignored", "codec", f.Codec())
			}
		}
	}
	return nil
}

// readAudio publishes the camera's audio units into the stream's audio
// path, which never touches video's GOP cache and key frames.
func (r *Reader) readAudio(c *gortsplib.Client, a *cameraAudio, epoch uint32) {
	rate := time.Duration(a.format.ClockRate())
	c.OnPacketRTP(a.media, a.format, func(pkt *rtp.Packet) {
		ticks, ok := c.PacketPTS2(a.media, pkt)
		if !ok {
			return
		}
		units, err := a.decode(pkt)
		if err != nil {
			return // fragments and losses
		}
		now := r.now()
		for i, au := range units {
			if len(au) == 0 {
				continue
			}
			t := ticks
			if a.info.Codec == AAC {
				t += int64(i) * mpeg4audio.SamplesPerAccessUnit
			}
			r.stream.PublishAudio(&Unit{Codec: a.info.Codec, PTS: time.Duration(t) * time.Second / rate, Received: now,
				Epoch: epoch, Size: len(au), Audio: au, SampleRate: a.info.SampleRate, Channels: a.info.Channels})
		}
	})
}
