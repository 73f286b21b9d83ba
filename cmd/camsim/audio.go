package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/g711"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"qianliyan/internal/av"
)

// The audio a camera may send (-audio).
const (
	audioNone = "none"
	audioPCMU = "pcmu"
	audioPCMA = "pcma"
	audioAAC  = "aac"
)

const (
	// aacPayloadType is the dynamic RTP payload type of AAC; G.711 uses its
	// static ones (0 and 8).
	aacPayloadType = 97
	// toneLoop is the length of the generated sound: 0.8 s of 440 Hz, then
	// 0.8 s of 880 Hz, a whole number of periods each, so the loop joins
	// without a click. It is never silent, so a test can tell it from
	// nothing.
	toneLoop = 1.6
	// g711Samples is 20 ms at 8 kHz, what most cameras put in a packet.
	g711Samples = 160
)

// audioClip is one loop of a camera's audio, encoded and packetized once
// and shared, read-only, by every camera.
type audioClip struct {
	codec     string // audioPCMU, audioPCMA or audioAAC
	clockRate int
	// Packets are the RTP payloads of one loop; TS is each one's timestamp
	// from the start of the loop, in clockRate ticks.
	Packets []audioPacket
	// LoopTicks is the loop's length in clockRate ticks.
	LoopTicks int64
}

type audioPacket struct {
	TS      int64
	Payload []byte
}

// format returns a fresh RTP format of the clip, for one camera's SDP.
func (a *audioClip) format() format.Format {
	switch a.codec {
	case audioAAC:
		return &format.MPEG4Audio{
			PayloadTyp:       aacPayloadType,
			ProfileLevelID:   1,
			Config:           &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: a.clockRate, ChannelCount: 1},
			SizeLength:       13,
			IndexLength:      3,
			IndexDeltaLength: 3,
		}
	case audioPCMA:
		return &format.G711{PayloadTyp: 8, MULaw: false, SampleRate: 8000, ChannelCount: 1}
	default:
		return &format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}
	}
}

// tone returns toneLoop seconds of the camera's sound at rate, as samples
// from -1 to 1.
func tone(rate int) []float32 {
	n := int(toneLoop * float64(rate))
	out := make([]float32, n)
	for i := range out {
		hz := 440.0
		if i >= n/2 {
			hz = 880
		}
		out[i] = float32(0.3 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return out
}

// newAudioClip makes the loop for codec (audioPCMU, audioPCMA, audioAAC).
func newAudioClip(codec string) (*audioClip, error) {
	switch codec {
	case audioPCMU, audioPCMA:
		return g711Clip(codec)
	case audioAAC:
		return aacClip()
	}
	return nil, fmt.Errorf("unknown audio %q", codec)
}

// g711Clip encodes the tone at 8 kHz with µ-law or A-law, 20 ms a packet.
func g711Clip(codec string) (*audioClip, error) {
	samples := tone(8000)
	lpcm := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.BigEndian.PutUint16(lpcm[2*i:], uint16(int16(s*32767)))
	}
	var enc []byte
	var err error
	if codec == audioPCMA {
		enc, err = g711.Alaw(lpcm).Marshal()
	} else {
		enc, err = g711.Mulaw(lpcm).Marshal()
	}
	if err != nil {
		return nil, err
	}
	a := &audioClip{codec: codec, clockRate: 8000, LoopTicks: int64(len(samples))}
	for i := 0; i+g711Samples <= len(enc); i += g711Samples {
		a.Packets = append(a.Packets, audioPacket{TS: int64(i), Payload: enc[i : i+g711Samples]})
	}
	return a, nil
}

// encodeAACLoop encodes a looping sound with internal/av's AAC encoder and
// returns one loop of access units. The sound is encoded three times over
// and the middle pass kept, so the encoder's start-up delay is behind it
// and its last access unit leads into its first as the sound itself does.
// len(pcm) must be a multiple of 1024.
func encodeAACLoop(pcm []float32, rate int) ([][]byte, error) {
	frames := len(pcm) / av.AACFrame
	out, err := av.EncodeAAC(slices.Concat(pcm, pcm, pcm), rate)
	if err != nil {
		return nil, err
	}
	if len(out) < 2*frames {
		return nil, fmt.Errorf("aac encoder gave %d access units for %d frames", len(out), 3*frames)
	}
	return out[frames : 2*frames], nil
}

// aacClip encodes the tone once with libavcodec's AAC encoder (LC, 48 kHz,
// mono), one access unit (1024 samples) per RTP packet (RFC 3640).
func aacClip() (*audioClip, error) {
	const rate = 48000
	aus, err := encodeAACLoop(tone(rate), rate)
	if err != nil {
		return nil, err
	}
	a := &audioClip{codec: audioAAC, clockRate: rate, LoopTicks: int64(len(aus)) * mpeg4audio.SamplesPerAccessUnit}
	enc, err := a.format().(*format.MPEG4Audio).CreateEncoder()
	if err != nil {
		return nil, err
	}
	for i, au := range aus {
		pkts, err := enc.Encode([][]byte{au})
		if err != nil {
			return nil, fmt.Errorf("packetize AAC: %w", err)
		}
		if len(pkts) != 1 {
			return nil, fmt.Errorf("AAC access unit of %d bytes took %d packets", len(au), len(pkts))
		}
		a.Packets = append(a.Packets, audioPacket{TS: int64(i) * mpeg4audio.SamplesPerAccessUnit, Payload: pkts[0].Payload})
	}
	return a, nil
}
