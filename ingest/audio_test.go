package ingest_test

import (
	"testing"
	"time"

	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
)

func TestAudioUnitsArriveBesideVideo(t *testing.T) {
	for _, tc := range []struct {
		audio    string
		codec    ingest.Codec
		rate     int
		perSec   float64 // units per second
		unitSize int     // 0: varies
	}{
		{"pcmu", ingest.PCMU, 8000, 50, 160},
		{"pcma", ingest.PCMA, 8000, 50, 160},
		{"aac", ingest.AAC, 48000, 48000.0 / 1024, 0},
	} {
		t.Run(tc.audio, func(t *testing.T) {
			cam := camsimproc.Start(t, "-cameras", "1", "-size", "320x240", "-loop", "2s", "-audio", tc.audio)
			r := newReader(t, cam.URL(1), "tcp")
			waitHealth(t, r, 5*time.Second, "online", func(h ingest.Health) bool { return h.Online })
			if h := r.Health(); h.AudioCodec != tc.codec || h.Codec != ingest.H264 {
				t.Fatalf("health says video %q, audio %q; want H264 and %s", h.Codec, h.AudioCodec, tc.codec)
			}
			info := r.Stream().Audio()
			if info == nil || info.Codec != tc.codec || info.SampleRate != tc.rate || info.Channels != 1 {
				t.Fatalf("stream audio = %+v, want %s at %d Hz mono", info, tc.codec, tc.rate)
			}
			if tc.codec == ingest.AAC && len(info.Config) < 2 {
				t.Fatalf("AAC without its AudioSpecificConfig: %x", info.Config)
			}
			audio := r.Stream().SubscribeAudio("test", 512)
			defer audio.Close()
			video := r.Stream().Subscribe("test", 512, true) // the cached GOP, then live
			defer video.Close()

			const window = 3 * time.Second
			var units []*ingest.Unit
			frames := 0
			deadline := time.After(window)
		collect:
			for {
				select {
				case u := <-audio.C:
					units = append(units, u)
				case u := <-video.C:
					if u.Audio != nil || u.Codec != ingest.H264 {
						t.Fatalf("an audio unit (%s) on the video path", u.Codec)
					}
					frames++
				case <-deadline:
					break collect
				}
			}
			want := tc.perSec * window.Seconds()
			if n := float64(len(units)); n < want*0.85 || n > want*1.15 {
				t.Fatalf("got %d audio units in %v, want ~%.0f", len(units), window, want)
			}
			if frames < 60 {
				t.Errorf("got %d video frames beside the audio in %v, want >= 75 with the cached GOP", frames, window)
			}
			step := time.Duration(float64(time.Second) / tc.perSec)
			for i, u := range units {
				if u.Codec != tc.codec || u.SampleRate != tc.rate || u.Channels != 1 || len(u.Audio) == 0 || u.NALUs != nil {
					t.Fatalf("unit %d: %s %d Hz %d ch, %d bytes", i, u.Codec, u.SampleRate, u.Channels, len(u.Audio))
				}
				if tc.unitSize > 0 && len(u.Audio) != tc.unitSize {
					t.Fatalf("unit %d has %d bytes, want %d (20 ms)", i, len(u.Audio), tc.unitSize)
				}
				if i > 0 {
					if d := u.PTS - units[i-1].PTS; d < step-time.Millisecond || d > step+time.Millisecond {
						t.Fatalf("unit %d comes %v after the one before, want %v", i, d, step)
					}
				}
			}
			if st := r.Stream().Stats(); st.AudioSubscribers != 1 || st.AudioPublished < uint64(len(units)) || st.AudioDropped != 0 {
				t.Errorf("stream stats %+v", st)
			}
			t.Logf("%s: %d audio units (%.1f/s) and %d video frames in %v", tc.audio, len(units), float64(len(units))/window.Seconds(), frames, window)
		})
	}
}
