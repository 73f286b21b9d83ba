package relay_test

import (
	"math"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"qianliyan/internal/av"
	"qianliyan/internal/whepclient"
	"qianliyan/relay"
)

func TestCameraAudioArrivesAsPCMUPCMAAndOpus(t *testing.T) {
	for _, tc := range []struct {
		audio, mime, decoder string
		rate, channels       int
	}{
		{"pcmu", webrtc.MimeTypePCMU, "pcm_mulaw", 8000, 1},
		{"pcma", webrtc.MimeTypePCMA, "pcm_alaw", 8000, 1},
		{"aac", webrtc.MimeTypeOpus, "opus", 48000, 2},
	} {
		t.Run(tc.audio, func(t *testing.T) {
			r := newRig(t, map[string]string{"cam1": "cam/1"}, "-cameras", "1", "-size", "640x360", "-loop", "2s", "-audio", tc.audio)
			if h, _ := r.hub.Health("cam1"); string(h.AudioCodec) == "" {
				t.Fatalf("camera health has no audio codec")
			}
			v := r.watch(t, "cam1", 0)
			deadline := time.Now().Add(5 * time.Second)
			for v.AudioPackets.Load() < 10 {
				if time.Now().After(deadline) {
					t.Fatalf("got %d audio packets in 5 s (and %d video packets)", v.AudioPackets.Load(), v.Packets.Load())
				}
				time.Sleep(20 * time.Millisecond)
			}
			a0, p0 := v.AudioPackets.Load(), v.Packets.Load()
			const window = 3 * time.Second
			time.Sleep(window)
			rate := float64(v.AudioPackets.Load()-a0) / window.Seconds()
			mime, payloads := v.Audio()
			if mime != tc.mime {
				t.Fatalf("audio track is %q, want %q", mime, tc.mime)
			}
			if rate < 45 || rate > 55 {
				t.Errorf("audio at %.1f packets/s, want ~50 (20 ms each)", rate)
			}
			if v.Packets.Load()-p0 < 100 || v.KeyFrames.Load() < 1 {
				t.Errorf("video alongside: %d packets in %v, %d key frames", v.Packets.Load()-p0, window, v.KeyFrames.Load())
			}
			if lost := v.AudioLost.Load(); lost > 0 {
				t.Errorf("%d audio packets lost on loopback", lost)
			}
			sizes := map[int]int{}
			for _, p := range payloads {
				sizes[len(p)]++
			}
			if sizes[0] > 0 {
				t.Errorf("%d empty audio payloads", sizes[0])
			}
			if tc.mime != webrtc.MimeTypeOpus && (len(sizes) != 1 || sizes[160] == 0) {
				t.Errorf("G.711 payload sizes %v, want 160 bytes (20 ms) each", sizes)
			}
			if tc.mime == webrtc.MimeTypeOpus {
				for i, p := range payloads {
					// TOC: a 20 ms frame (CELT config 15/19/23/27/31 or SILK/hybrid 1/5/9/13/15...), code 0: one frame
					if p[0]&3 != 0 {
						t.Fatalf("Opus packet %d: TOC %08b, want one frame a packet", i, p[0])
					}
				}
			}
			samples, got, err := av.DecodeAudio(tc.decoder, tc.rate, tc.channels, payloads)
			if err != nil {
				t.Fatalf("decode %s: %v", tc.decoder, err)
			}
			if got != tc.rate || len(samples) < tc.rate {
				t.Fatalf("decoded %d samples at %d Hz from %d packets, want >= 1 s at %d Hz", len(samples), got, len(payloads), tc.rate)
			}
			// skip the codec's start; the tone is 0.3 of full scale (RMS 0.21)
			// at 440 Hz or 880 Hz, 0.8 s each
			rms, hz := av.ToneStats(samples[tc.rate/10:], got)
			if rms < 0.15 || rms > 0.27 || hz < 440*0.9 || hz > 880*1.1 {
				t.Errorf("decoded sound has RMS %.3f at %.0f Hz, want ~0.21 between 440 and 880 Hz", rms, hz)
			}
			st := v.session.Stats()
			if st.Audio != tc.mime || st.AudioPackets == 0 || st.AudioDropped != 0 {
				t.Errorf("session stats: audio %q, %d packets, %d dropped", st.Audio, st.AudioPackets, st.AudioDropped)
			}
			t.Logf("%s → %s: %.1f packets/s, payload sizes %d..%d, decoded RMS %.3f, %.0f Hz; video %d packets in %v",
				tc.audio, mime, rate, minKey(sizes), maxKey(sizes), rms, hz, v.Packets.Load()-p0, window)
		})
	}
}

func TestAudioCameraPlaysVideoOnlyToAnOfferWithoutAudio(t *testing.T) {
	r := newRig(t, map[string]string{"cam1": "cam/1"}, "-cameras", "1", "-size", "640x360", "-loop", "2s", "-audio", "pcmu")
	pc, offer, err := whepclient.Offer(webrtc.MimeTypeH264) // video only
	if err != nil {
		t.Fatal(err)
	}
	var ss *relay.Session
	v, err := whepclient.PlayWith(pc, offer, r.direct("cam1", &ss), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.WaitPackets(200, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if mime, _ := v.Audio(); mime != "" || v.AudioPackets.Load() != 0 || ss.Stats().Audio != "" {
		t.Fatalf("audio %q (%d packets) to an offer without audio", mime, v.AudioPackets.Load())
	}
}

func minKey(m map[int]int) int {
	k := math.MaxInt
	for x := range m {
		k = min(k, x)
	}
	return k
}

func maxKey(m map[int]int) int {
	k := 0
	for x := range m {
		k = max(k, x)
	}
	return k
}
