// Package ingest pulls every camera once over RTSP and fans its access units
// out to any number of readers (relay, detection) through one Stream per
// camera, without ever letting a reader slow the camera down.
package ingest

import "time"

// Codec names a video codec carried by a Stream.
type Codec string

// The video codecs a camera may send. Anything else is refused at connect.
const (
	H264 Codec = "H264"
	H265 Codec = "H265"
)

// Unit is one access unit (one picture) as it came from the camera.
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
	// Size is the sum of the NALU lengths.
	Size int
}
