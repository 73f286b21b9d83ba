package relay

import (
	"strings"
	"sync"

	"github.com/pion/webrtc/v4"

	"qianliyan/ingest"
)

// binding is what a track learns when the peer connection binds it.
type binding struct {
	out  webrtc.TrackLocalWriter
	ssrc uint32
	pt   uint8
}

// track is a TrackLocal for one viewer: unlike pion's TrackLocalStaticRTP,
// which writes every packet to all its peers at once, it hands its single
// binding to the viewer's own send loop. A video track carries the
// camera's codec; an audio track the WebRTC codec its audio is sent as.
type track struct {
	codec ingest.Codec
	id    string
	audio string // for an audio track: the mime type (audio/PCMU, audio/opus)

	once  sync.Once
	bound chan binding
}

func newTrack(codec ingest.Codec, camera string) *track {
	return &track{codec: codec, id: camera, bound: make(chan binding, 1)}
}

// newAudioTrack is the track of a camera's audio, sent as mime.
func newAudioTrack(mime, camera string) *track {
	return &track{id: camera, audio: mime, bound: make(chan binding, 1)}
}

// Bind picks our codec among the negotiated ones. H.264 profiles are not
// matched strictly: browsers decode High profile whatever they offered.
func (t *track) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	c, ok := webrtc.RTPCodecParameters{}, false
	if t.audio != "" {
		c, ok = pickAudioCodec(t.audio, ctx.CodecParameters())
	} else {
		c, ok = pickCodec(t.codec, ctx.CodecParameters())
	}
	if !ok {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	t.once.Do(func() {
		t.bound <- binding{out: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType)}
	})
	return c, nil
}

// Unbind is called when the peer connection stops the sender.
func (t *track) Unbind(webrtc.TrackLocalContext) error { return nil }

// ID returns the track id.
func (t *track) ID() string {
	if t.audio != "" {
		return "audio"
	}
	return "video"
}

// RID returns no simulcast id.
func (t *track) RID() string { return "" }

// StreamID names the media stream after the camera.
func (t *track) StreamID() string { return t.id }

// Kind is video or audio.
func (t *track) Kind() webrtc.RTPCodecType {
	if t.audio != "" {
		return webrtc.RTPCodecTypeAudio
	}
	return webrtc.RTPCodecTypeVideo
}

// pickAudioCodec finds mime among the negotiated audio codecs.
func pickAudioCodec(mime string, offered []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	for _, c := range offered {
		if strings.EqualFold(c.MimeType, mime) {
			return c, true
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// pickCodec chooses the codec to send: for H.264, packetization-mode 1,
// preferring the profiles closest to what cameras send (High, then Main,
// then Baseline).
func pickCodec(codec ingest.Codec, offered []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	mime := webrtc.MimeTypeH264
	if codec == ingest.H265 {
		mime = webrtc.MimeTypeH265
	}
	best, bestRank := webrtc.RTPCodecParameters{}, -1
	for _, c := range offered {
		if !strings.EqualFold(c.MimeType, mime) {
			continue
		}
		rank := 1
		if codec == ingest.H264 {
			fmtp := strings.ToLower(c.SDPFmtpLine)
			if !strings.Contains(fmtp, "packetization-mode=1") {
				continue
			}
			switch {
			case strings.Contains(fmtp, "profile-level-id=64"):
				rank = 4
			case strings.Contains(fmtp, "profile-level-id=4d"):
				rank = 3
			case strings.Contains(fmtp, "profile-level-id=42"):
				rank = 2
			}
		}
		if rank > bestRank {
			best, bestRank = c, rank
		}
	}
	return best, bestRank >= 0
}
