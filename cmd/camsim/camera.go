package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/pion/rtp"
)

// camera is one simulated camera: an RTSP stream that plays a clip in a loop,
// with its own sequence numbers and timestamps that keep increasing across
// loops.
type camera struct {
	ID     int    // 1-based
	Path   string // "/cam/ID"
	clip   *clip
	fps    int
	phase  int // decode-order frame the camera starts at
	stream *gortsplib.ServerStream
	media  *description.Media
	// audio is the camera's sound (nil: none), sent on audioMedia.
	audio      *audioClip
	audioMedia *description.Media
	// readers counts the sessions playing the camera; with none, frames are
	// skipped (timestamps and sequence numbers still advance).
	readers atomic.Int32

	// Playback state, owned by the goroutine that sends.
	start  time.Time // when frame 0 of the playback is due
	epoch  time.Time // wall time of PTS 0 of the loop the playback started in
	sent   int64     // frames sent (or skipped) since start
	seq    uint16
	tsBase uint32
	pkt    rtp.Packet
	// audio playback, on its own RTP clock from the same start
	aSent   int64 // audio packets sent (or skipped) since start
	aSeq    uint16
	aTSBase uint32
	aPkt    rtp.Packet
}

func newCamera(srv *gortsplib.Server, id int, c *clip, fps, phase int, audio *audioClip) (*camera, error) {
	media := &description.Media{
		Type: description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{
			PayloadTyp:        payloadType,
			PacketizationMode: 1,
			SPS:               c.SPS,
			PPS:               c.PPS,
		}},
	}
	medias := []*description.Media{media}
	var audioMedia *description.Media
	if audio != nil {
		audioMedia = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{audio.format()}}
		medias = append(medias, audioMedia)
	}
	stream := &gortsplib.ServerStream{
		Server: srv,
		Desc:   &description.Session{Medias: medias},
	}
	if err := stream.Initialize(); err != nil {
		return nil, fmt.Errorf("camera %d: %w", id, err)
	}
	return &camera{
		ID:         id,
		Path:       fmt.Sprintf("/cam/%d", id),
		clip:       c,
		fps:        fps,
		phase:      phase,
		stream:     stream,
		media:      media,
		audio:      audio,
		audioMedia: audioMedia,
	}, nil
}

// frameTime is the duration of n frames.
func (c *camera) frameTime(n int64) time.Duration {
	return time.Duration(n * int64(time.Second) / int64(c.fps))
}

// begin resets the playback so that its first frame is due at start.
func (c *camera) begin(start time.Time) {
	var seed [12]byte
	_, _ = rand.Read(seed[:])
	c.seq = binary.BigEndian.Uint16(seed[0:])
	c.tsBase = binary.BigEndian.Uint32(seed[2:])
	c.aSeq = binary.BigEndian.Uint16(seed[6:])
	c.aTSBase = binary.BigEndian.Uint32(seed[8:])
	c.aSent = 0
	c.start = start
	// The NTP time of a frame is epoch plus its PTS, so RTCP sender reports
	// map RTP time to wall time the same way for every frame, B-frames too.
	c.epoch = start.Add(-c.frameTime(int64(c.phase)))
	c.sent = 0
	// The packet is reused: the stream copies it into its own buffer before
	// WritePacketRTPWithNTP returns and keeps no reference to it.
	c.pkt = rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: payloadType}}
	if c.audio != nil {
		c.aPkt = rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: c.audioMedia.Formats[0].PayloadType(), Marker: true}}
	}
}

// sendDue sends every frame due by now. After a stall the stream catches up
// instead of slowing down, so its timestamps keep matching wall time.
func (c *camera) sendDue(now time.Time) error {
	fps := int64(c.fps)
	loopLen := int64(len(c.clip.Frames))
	for !c.start.Add(c.frameTime(c.sent)).After(now) {
		n := int64(c.phase) + c.sent
		f := &c.clip.Frames[n%loopLen]
		c.sent++
		if c.readers.Load() == 0 {
			c.seq += uint16(len(f.Payloads))
			continue
		}
		pts := n/loopLen*loopLen + f.PTS
		c.pkt.Timestamp = c.tsBase + uint32(pts*90000/fps)
		ntp := c.epoch.Add(c.frameTime(pts))
		for i, payload := range f.Payloads {
			c.pkt.SequenceNumber = c.seq
			c.pkt.Marker = i == len(f.Payloads)-1
			c.pkt.Payload = payload
			c.seq++
			if err := c.stream.WritePacketRTPWithNTP(c.media, &c.pkt, ntp); err != nil {
				return err
			}
		}
	}
	return c.sendAudioDue(now)
}

// sendAudioDue sends every audio packet due by now. It runs on the video's
// ticker, so audio leaves in bursts of a frame interval (two 20 ms packets
// at 25 fps): receivers buffer that much anyway, and a timer of its own
// would double the wake-ups.
func (c *camera) sendAudioDue(now time.Time) error {
	if c.audio == nil {
		return nil
	}
	a := c.audio
	n := int64(len(a.Packets))
	for {
		p := &a.Packets[c.aSent%n]
		ticks := c.aSent/n*a.LoopTicks + p.TS
		at := c.start.Add(time.Duration(ticks * int64(time.Second) / int64(a.clockRate)))
		if at.After(now) {
			return nil
		}
		c.aSent++
		c.aSeq++
		if c.readers.Load() == 0 {
			continue
		}
		c.aPkt.SequenceNumber = c.aSeq
		c.aPkt.Timestamp = c.aTSBase + uint32(ticks)
		c.aPkt.Payload = p.Payload
		if err := c.stream.WritePacketRTPWithNTP(c.audioMedia, &c.aPkt, at); err != nil {
			return err
		}
	}
}

func (c *camera) close() {
	c.stream.Close()
}

// playCameras plays the cameras until ctx ends. The cameras are split into
// groups that share a goroutine and a ticker: one timer per camera costs more
// CPU in wake-ups than the sending itself. The groups start at different
// instants within a frame interval, so not all packets leave at once.
func playCameras(ctx context.Context, cams []*camera, groups int, log *slog.Logger) {
	if len(cams) == 0 {
		return
	}
	groups = max(1, min(groups, len(cams)))
	frame := cams[0].frameTime(1)
	t0 := time.Now().Add(10 * time.Millisecond)
	var wg sync.WaitGroup
	for g := range groups {
		var group []*camera
		for i := g; i < len(cams); i += groups {
			group = append(group, cams[i])
		}
		start := t0.Add(frame * time.Duration(g) / time.Duration(groups))
		wg.Go(func() { playGroup(ctx, group, start, frame, log) })
	}
	wg.Wait()
}

func playGroup(ctx context.Context, cams []*camera, start time.Time, frame time.Duration, log *slog.Logger) {
	for _, c := range cams {
		c.begin(start)
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Until(start)):
	}
	ticker := time.NewTicker(frame)
	defer ticker.Stop()
	for {
		now := time.Now()
		for i := 0; i < len(cams); i++ {
			if err := cams[i].sendDue(now); err != nil {
				var closed liberrors.ErrServerStreamClosed
				if !errors.As(err, &closed) {
					log.Error("camera stopped", "camera", cams[i].ID, "error", err)
				}
				cams = append(cams[:i], cams[i+1:]...)
				i--
			}
		}
		if len(cams) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
