package relay

import "errors"

// The errors Offer returns, wrapped with the details; the API maps them to
// status codes with errors.Is.
var (
	ErrUnknownCamera = errors.New("no such camera")
	ErrOffline       = errors.New("the camera is offline")
	ErrBadOffer      = errors.New("the SDP offer is malformed")
	ErrCodec         = errors.New("the browser cannot play this camera's codec")
	ErrBFrames       = errors.New("the camera sends B-frames, which cannot be played over WebRTC")
	ErrNoSession     = errors.New("no such session")
	ErrTooMany       = errors.New("too many viewers")
)
