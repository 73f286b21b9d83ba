package relay

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"qianliyan/ingest"
	"qianliyan/internal/av"
)

// g711Packet is 20 ms at 8 kHz: what browsers expect (ptime 20).
const g711Packet = 160

// audioQueue bounds what one viewer may lag behind, in 20 ms packets (1 s).
const audioQueue = 50

// AudioSource is what the relay needs of a camera's audio.
type AudioSource interface {
	SubscribeAudio(name string, queueLen int) *ingest.Subscription
}

// audioPacket is one 20 ms packet for every viewer: G.711 samples or Opus.
type audioPacket struct {
	ts      uint32
	payload []byte
}

// audioMime is the WebRTC codec a camera's audio is sent as: G.711 as it
// is, AAC transcoded to Opus. Empty: the relay cannot send it.
func audioMime(info *ingest.AudioInfo) string {
	if info == nil {
		return ""
	}
	switch info.Codec {
	case ingest.PCMU, ingest.PCMA:
		if info.SampleRate != 8000 || info.Channels != 1 {
			return "" // WebRTC's G.711 is 8 kHz mono only
		}
		if info.Codec == ingest.PCMU {
			return webrtc.MimeTypePCMU
		}
		return webrtc.MimeTypePCMA
	case ingest.AAC:
		if len(info.Config) == 0 {
			return ""
		}
		return webrtc.MimeTypeOpus
	}
	return ""
}

// audioFeed turns one camera's audio into 20 ms RTP payloads once, for all
// its viewers: G.711 is regrouped, AAC transcoded to Opus.
type audioFeed struct {
	camera string
	codec  ingest.Codec
	rate   uint32 // the RTP clock: 8000 or 48000
	sub    *ingest.Subscription
	opus   *av.OpusTranscoder
	log    *slog.Logger

	mu      sync.Mutex
	viewers map[*audioViewer]struct{}

	// used by run only: the timeline
	buf     []byte        // G.711 samples not sent yet
	ts      uint32        // timestamp of the next packet out
	next    time.Duration // PTS the next unit should have
	epoch   uint32
	started bool

	packets atomic.Uint64
	errors  atomic.Uint64
}

func newAudioFeed(camera string, info *ingest.AudioInfo, src AudioSource, log *slog.Logger) (*audioFeed, error) {
	f := &audioFeed{camera: camera, codec: info.Codec, rate: 8000, viewers: make(map[*audioViewer]struct{}), log: log}
	if info.Codec == ingest.AAC {
		t, err := av.NewOpusTranscoder(info.Config, info.SampleRate, info.Channels)
		if err != nil {
			return nil, err
		}
		f.opus, f.rate = t, 48000
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	f.ts = binary.BigEndian.Uint32(b[:])
	f.sub = src.SubscribeAudio("relay", 64)
	return f, nil
}

// run packetizes until the subscription closes.
func (f *audioFeed) run() {
	for u := range f.sub.C {
		f.handle(u)
	}
	if f.opus != nil {
		f.opus.Close()
	}
	f.mu.Lock()
	for v := range f.viewers {
		v.stop()
	}
	f.mu.Unlock()
}

func (f *audioFeed) handle(u *ingest.Unit) {
	if u.Codec != f.codec {
		return // the camera changed codec; viewers negotiated the old one
	}
	f.follow(u)
	if f.opus != nil {
		err := f.opus.Transcode(u.Audio, func(p []byte) {
			f.publish(p)
			f.ts += 960
		})
		if err != nil && f.errors.Add(1)%100 == 1 {
			f.log.Debug("camera audio", "camera", f.camera, "error", err, "errors", f.errors.Load())
		}
		return
	}
	f.buf = append(f.buf, u.Audio...)
	for len(f.buf) >= g711Packet {
		f.publish(append([]byte(nil), f.buf[:g711Packet]...))
		f.buf = f.buf[g711Packet:]
		f.ts += g711Packet
	}
	if len(f.buf) == 0 {
		f.buf = f.buf[:0:0] // let the backing array go
	}
}

// follow keeps the RTP timestamps on the camera's timeline: a unit that
// comes later than the previous one ended (lost packets, a reconnect)
// moves them forward by the gap, so the viewer's jitter buffer plays the
// sound on time instead of late.
func (f *audioFeed) follow(u *ingest.Unit) {
	rate := max(u.SampleRate, 1)
	dur := time.Duration(len(u.Audio)) * time.Second / time.Duration(rate) // G.711: one byte a sample
	if f.opus != nil {
		dur = 1024 * time.Second / time.Duration(rate)
	}
	if f.started && u.Epoch == f.epoch {
		if gap := u.PTS - f.next; gap > 60*time.Millisecond {
			f.ts += uint32(gap * time.Duration(f.rate) / time.Second)
			f.buf = f.buf[:0]
		}
	} else if f.started {
		f.ts += f.rate / 10 // a reconnect: a short pause
		f.buf = f.buf[:0]
	}
	f.started, f.epoch, f.next = true, u.Epoch, u.PTS+dur
}

func (f *audioFeed) publish(payload []byte) {
	p := &audioPacket{ts: f.ts, payload: payload}
	f.packets.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	for v := range f.viewers {
		v.offer(p)
	}
}

func (f *audioFeed) join(v *audioViewer) {
	f.mu.Lock()
	f.viewers[v] = struct{}{}
	f.mu.Unlock()
}

func (f *audioFeed) leave(v *audioViewer) {
	f.mu.Lock()
	delete(f.viewers, v)
	f.mu.Unlock()
}

func (f *audioFeed) close() { f.sub.Close() }

// audioViewer sends one camera's audio to one peer, with its own sequence
// numbers and a bounded queue: a viewer that lags loses packets (counted),
// and nobody else notices.
type audioViewer struct {
	feed  *audioFeed
	queue chan *audioPacket
	done  chan struct{}
	once  sync.Once

	bytes, packets, dropped atomic.Uint64
}

func newAudioViewer(f *audioFeed) *audioViewer {
	return &audioViewer{feed: f, queue: make(chan *audioPacket, audioQueue), done: make(chan struct{})}
}

// offer is called by the feed for every packet; it never blocks.
func (v *audioViewer) offer(p *audioPacket) {
	select {
	case v.queue <- p:
	default:
		v.dropped.Add(1)
	}
}

func (v *audioViewer) stop() { v.once.Do(func() { close(v.done) }) }

// run sends until stop, the feed closes or the peer is gone.
func (v *audioViewer) run(out webrtc.TrackLocalWriter, ssrc uint32, pt uint8) {
	v.feed.join(v)
	defer v.feed.leave(v)
	h := rtp.Header{Version: 2, PayloadType: pt, SSRC: ssrc, SequenceNumber: uint16(ssrc), Marker: true}
	for {
		select {
		case <-v.done:
			return
		case p := <-v.queue:
			h.Timestamp = p.ts
			if _, err := out.WriteRTP(&h, p.payload); errors.Is(err, io.ErrClosedPipe) {
				return // viewer gone
			}
			h.SequenceNumber++
			h.Marker = false // only the first packet starts a talkspurt
			v.packets.Add(1)
			v.bytes.Add(uint64(len(p.payload) + 12))
		}
	}
}

// offersAudio reports whether the offer has an audio section that can
// receive mime (e.g. "audio/PCMU").
func offersAudio(offer, mime string) bool {
	var d sdp.SessionDescription
	if d.UnmarshalString(offer) != nil {
		return false
	}
	want := strings.ToUpper(strings.TrimPrefix(mime, "audio/")) + "/"
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		if _, ok := m.Attribute("sendonly"); ok {
			continue
		}
		if _, ok := m.Attribute("inactive"); ok {
			continue
		}
		for _, a := range m.Attributes {
			if _, enc, ok := strings.Cut(a.Value, " "); a.Key == "rtpmap" && ok && strings.HasPrefix(strings.ToUpper(enc), want) {
				return true
			}
		}
	}
	return false
}
