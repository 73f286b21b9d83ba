package main

import (
	"context"
	"fmt"
	"image"
	"runtime"
	"sync"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"qianliyan/internal/av"
)

const (
	// payloadType is the RTP payload type of every camera's H.264 stream.
	payloadType = 96
	// maxPacketSize bounds an RTP packet, header included, so that it fits any
	// path MTU that a WebRTC relay would forward it on.
	maxPacketSize = 1200
	rtpHeaderSize = 12
)

// clip is one variant's loop, encoded and packetized once and then shared,
// read-only, by every camera that shows the variant.
type clip struct {
	Label    string
	SPS, PPS []byte
	// Frames are in decode order; a loop is len(Frames) frames long and made of
	// whole GOPs, each starting with an IDR.
	Frames []clipFrame
	// Bytes is the sum of all RTP payloads of the loop.
	Bytes int
}

// clipFrame is one access unit, ready to send.
type clipFrame struct {
	// PTS is the presentation time in frames from the start of the loop.
	PTS int64
	// Payloads are the RTP payloads of the access unit; the last one gets the
	// marker bit.
	Payloads [][]byte
	IDR      bool
}

// clipConfig says what to render and how to encode it.
type clipConfig struct {
	av.EncoderConfig
	Frames    int // loop length, a whole number of GOPs
	NoiseSeed uint64
}

// encodeClips renders and encodes scenes, several at a time (bounded by the
// number of CPUs), splitting the CPUs between them. Each scene's loop is
// scene.Frames long.
func encodeClips(ctx context.Context, cfg clipConfig, scenes []*Scene) ([]*clip, error) {
	workers := max(1, min(len(scenes), runtime.NumCPU()))
	enc := cfg
	enc.Threads = max(1, runtime.NumCPU()/workers)

	clips := make([]*clip, len(scenes))
	errs := make([]error, len(scenes))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for v := range next {
				cfg := enc
				cfg.NoiseSeed = uint64(v)
				cfg.Frames = scenes[v].Frames
				clips[v], errs[v] = encodeClip(ctx, scenes[v], cfg)
			}
		})
	}
	for v := range scenes {
		next <- v
	}
	close(next)
	wg.Wait()

	for v, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", scenes[v].Label, err)
		}
	}
	return clips, nil
}

// encodeClip renders every frame of scene's loop, encodes it and packetizes
// the result.
func encodeClip(ctx context.Context, scene *Scene, cfg clipConfig) (*clip, error) {
	enc, err := newH264Encoder(cfg.EncoderConfig, cfg.NoiseSeed)
	if err != nil {
		return nil, err
	}
	defer enc.close()

	img := image.NewRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
	var frames []av.EncodedFrame
	for f := range cfg.Frames {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		scene.Draw(img, f)
		out, err := enc.encode(img, int64(f))
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", f, err)
		}
		frames = append(frames, out...)
	}
	out, err := enc.flush()
	if err != nil {
		return nil, err
	}
	frames = append(frames, out...)

	if err := checkLoop(frames, cfg.Frames, cfg.GOPFrames); err != nil {
		return nil, err
	}
	c, err := packetize(frames)
	if err != nil {
		return nil, err
	}
	c.Label = scene.Label
	return c, nil
}

// checkLoop makes sure the encoder gave what looping needs: every frame once,
// and an IDR exactly where each GOP starts in decode order (and nowhere else),
// so that jumping from the last frame back to the first is a clean cut.
func checkLoop(frames []av.EncodedFrame, n, gop int) error {
	if len(frames) != n {
		return fmt.Errorf("encoder gave %d frames, want %d", len(frames), n)
	}
	for i, f := range frames {
		if want := i%gop == 0; f.IDR != want {
			return fmt.Errorf("frame %d in decode order (pts %d): IDR is %v, want %v", i, f.PTS, f.IDR, want)
		}
		if f.PTS < 0 || f.PTS >= int64(n) {
			return fmt.Errorf("frame %d in decode order has pts %d, outside the loop", i, f.PTS)
		}
	}
	return nil
}

// packetize turns access units into RTP payloads of at most
// maxPacketSize-rtpHeaderSize bytes (packetization mode 1: single NAL units,
// STAP-A for small ones such as SPS+PPS, FU-A for large ones), and picks SPS and
// PPS from the first IDR for the SDP.
func packetize(frames []av.EncodedFrame) (*clip, error) {
	pz := &rtph264.Encoder{
		PayloadType:       payloadType,
		PacketizationMode: 1,
		PayloadMaxSize:    maxPacketSize - rtpHeaderSize,
	}
	if err := pz.Init(); err != nil {
		return nil, err
	}
	c := &clip{Frames: make([]clipFrame, len(frames))}
	for _, nalu := range frames[0].AU {
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeSPS:
			c.SPS = nalu
		case h264.NALUTypePPS:
			c.PPS = nalu
		}
	}
	if c.SPS == nil || c.PPS == nil {
		return nil, fmt.Errorf("first IDR has no SPS or PPS")
	}
	for i, f := range frames {
		pkts, err := pz.Encode(f.AU)
		if err != nil {
			return nil, fmt.Errorf("packetize frame %d: %w", i, err)
		}
		cf := clipFrame{PTS: f.PTS, IDR: f.IDR, Payloads: make([][]byte, len(pkts))}
		for j, p := range pkts {
			cf.Payloads[j] = p.Payload
			c.Bytes += len(p.Payload)
		}
		c.Frames[i] = cf
	}
	return c, nil
}
