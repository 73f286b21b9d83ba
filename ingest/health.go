package ingest

import "time"

// Health is what the center needs to know about one camera, in words and
// figures. It is a snapshot: Reader.Health returns a fresh copy.
type Health struct {
	Camera string `json:"camera"`
	Online bool   `json:"online"`
	// Since is when Online last changed (or when the reader started).
	Since time.Time `json:"since"`
	// LastError says in words why the camera is (or last was) offline.
	LastError string `json:"last_error,omitempty"`
	// LastErrorCode and LastErrorParams are LastError as a message code
	// and its parameters, which the pages translate.
	LastErrorCode   string         `json:"last_error_code,omitempty"`
	LastErrorParams map[string]any `json:"last_error_params,omitempty"`
	// Warning says in words what is wrong while online, e.g. B-frames;
	// WarningCode is its message code.
	Warning     string `json:"warning,omitempty"`
	WarningCode string `json:"warning_code,omitempty"`
	// BFrames says the camera sends frames out of presentation order
	// (B-frames), which WebRTC cannot play.
	BFrames   bool    `json:"b_frames,omitempty"`
	Codec     Codec   `json:"codec,omitempty"`
	Width     int     `json:"width,omitempty"`
	Height    int     `json:"height,omitempty"`
	FPS       float64 `json:"fps"`
	Bitrate   float64 `json:"bitrate_bps"`
	Transport string  `json:"transport,omitempty"`
	// AudioCodec is the camera's audio (PCMU, PCMA, AAC), empty when it
	// sends none the bridge can use.
	AudioCodec Codec `json:"audio_codec"`
	// Counters since the bridge started.
	Reconnects  uint64 `json:"reconnects"`
	Bytes       uint64 `json:"bytes"`
	Frames      uint64 `json:"frames"`
	Dropped     uint64 `json:"dropped"`
	LostPackets uint64 `json:"lost_packets"`
	Subscribers int    `json:"subscribers"`
	// Viewers is how many WebRTC viewers the member reading the camera
	// relays it to, its sub-stream's included: ingest does not know them;
	// WithViewers fills them in for the health mirrored to Redis, so that
	// every member of a cluster can tell.
	Viewers int `json:"viewers,omitempty"`
	// Sub is the health of the camera's sub-stream (sub_url), nil when it
	// has none. While nobody needs it, it is not read: Online is false and
	// Idle true.
	Sub *Health `json:"sub,omitempty"`
	// Idle says the stream is not read because nobody needs it (a
	// sub-stream between viewers); it is not a fault.
	Idle bool `json:"idle,omitempty"`
}

// setReason records why the stream is not read or offline.
func (h *Health) setReason(r Reason) {
	h.LastError, h.LastErrorCode, h.LastErrorParams = r.Text, r.Code, r.Params
}
