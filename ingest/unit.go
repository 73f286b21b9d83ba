// Package ingest pulls every camera once over RTSP and fans its access units
// out to any number of readers (relay, detection) through one Stream per
// camera, without ever letting a reader slow the camera down.
package ingest

import "time"

// Codec names a video or audio codec carried by a Stream.
type Codec string

// The video codecs a camera may send. Anything else is refused at connect.
const (
	H264 Codec = "H264"
	H265 Codec = "H265"
)

// The audio codecs a camera may send: G.711 µ-law and A-law, and AAC
// (MPEG-4 audio, RFC 3640). Any other audio is ignored.
const (
	PCMU Codec = "PCMU"
	PCMA Codec = "PCMA"
	AAC  Codec = "AAC"
)

// Unit is one access unit as it came from the camera: a picture, or for
// audio units (see Stream.PublishAudio) a piece of sound.
// Units are shared by every subscriber: never modify one.
type Unit struct {
	Codec Codec
	// PTS is the presentation time from the camera's RTP clock, relative to
	// the start of the session it came in (see Epoch).
	PTS time.Duration
	// Received is when the bridge finished receiving it (wall clock).
	Received time.Time
	// NALUs of the picture, without start codes. A key frame always carries
	// its parameter sets (SPS/PPS, and VPS for H.265) in front, taken from
	// the SDP or from earlier in-band ones, so a reader can start on it.
	NALUs [][]byte
	// Key is true for a random access point (IDR / IRAP).
	Key bool
	// Epoch counts the RTSP sessions of this camera: it changes when the
	// camera reconnects, where timestamps start again.
	Epoch uint32
	// Size is the sum of the NALU lengths (audio: of Audio).
	Size int

	// Audio is, for an audio unit, the G.711 samples of one RTP packet or
	// one AAC access unit (raw, without ADTS); NALUs is then nil.
	Audio []byte
	// SampleRate and Channels describe an audio unit's sound.
	SampleRate int
	Channels   int
}

// AudioInfo describes a camera's audio, as its SDP announced it.
type AudioInfo struct {
	Codec      Codec
	SampleRate int
	Channels   int
	// Config is the AAC AudioSpecificConfig (what a decoder needs to
	// start); nil for G.711.
	Config []byte
}
