package relay

import "github.com/pion/webrtc/v4"

// DecodeAudio decodes what the relay sends, for the tests.
var DecodeAudio = decodeAudio

// TranscodeAAC runs AAC access units through a fresh AAC-to-Opus
// transcoder and returns the number of Opus packets, for benchmarks.
func TranscodeAAC(config []byte, rate, channels int, aus [][]byte) (int, error) {
	t, err := newOpusTranscoder(config, rate, channels)
	if err != nil {
		return 0, err
	}
	defer t.close()
	n := 0
	for _, au := range aus {
		if err := t.transcode(au, func([]byte) { n++ }); err != nil {
			return n, err
		}
	}
	return n, nil
}

// PeerConnection returns the session's peer, for tests of what is freed.
func (ss *Session) PeerConnection() *webrtc.PeerConnection { return ss.pc }
