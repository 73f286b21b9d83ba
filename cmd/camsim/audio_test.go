package main

import (
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/g711"
)

func TestAudioClipsAreWholeLoopsOf20msOrOneAccessUnitPerPacket(t *testing.T) {
	for _, tc := range []struct {
		codec   string
		rate    int
		packets int
	}{
		{audioPCMU, 8000, 80}, // 1.6 s of 20 ms
		{audioPCMA, 8000, 80},
		{audioAAC, 48000, 75}, // 1.6 s of 1024 samples
	} {
		a, err := newAudioClip(tc.codec)
		if err != nil {
			t.Fatalf("%s: %v", tc.codec, err)
		}
		if a.clockRate != tc.rate || len(a.Packets) != tc.packets || a.LoopTicks != int64(toneLoop*float64(tc.rate)) {
			t.Fatalf("%s: %d Hz, %d packets, loop of %d ticks; want %d Hz, %d packets, %v s", tc.codec, a.clockRate, len(a.Packets), a.LoopTicks, tc.rate, tc.packets, toneLoop)
		}
		sizes := map[int]bool{}
		for _, p := range a.Packets {
			sizes[len(p.Payload)] = true
		}
		if f, ok := a.format().(*format.MPEG4Audio); ok {
			if f.Config.SampleRate != 48000 || f.Config.ChannelCount != 1 {
				t.Errorf("aac config %+v", f.Config)
			}
			if len(sizes) < 3 {
				t.Errorf("aac packets have %d distinct sizes, want an encoder's variety", len(sizes))
			}
			continue
		}
		if len(sizes) != 1 || !sizes[160] {
			t.Errorf("%s packet sizes %v, want 160 only", tc.codec, sizes)
		}
		// the tone is loud: about 0.3 of full scale, RMS 0.21
		var lpcm []byte
		if tc.codec == audioPCMU {
			var m g711.Mulaw
			m.Unmarshal(a.Packets[3].Payload)
			lpcm = m
		} else {
			var m g711.Alaw
			m.Unmarshal(a.Packets[3].Payload)
			lpcm = m
		}
		var sum float64
		for i := 0; i < len(lpcm); i += 2 {
			s := float64(int16(uint16(lpcm[i])<<8|uint16(lpcm[i+1]))) / 32768
			sum += s * s
		}
		if rms := sum / float64(len(lpcm)/2); rms < 0.03 || rms > 0.06 {
			t.Errorf("%s: mean square %.3f, want ~0.045", tc.codec, rms)
		}
	}
}
