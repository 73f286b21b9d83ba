package relay

import (
	"github.com/pion/webrtc/v4"

	"qianliyan/internal/av"
)

// TranscodeAAC runs AAC access units through a fresh AAC-to-Opus
// transcoder and returns the number of Opus packets, for benchmarks.
func TranscodeAAC(config []byte, rate, channels int, aus [][]byte) (int, error) {
	t, err := av.NewOpusTranscoder(config, rate, channels)
	if err != nil {
		return 0, err
	}
	defer t.Close()
	n := 0
	for _, au := range aus {
		if err := t.Transcode(au, func([]byte) { n++ }); err != nil {
			return n, err
		}
	}
	return n, nil
}

// PeerConnection returns the session's peer, for tests of what is freed.
func (ss *Session) PeerConnection() *webrtc.PeerConnection { return ss.pc }
