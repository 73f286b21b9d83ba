package main

import (
	"context"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"qianliyan/internal/av"
)

func TestEncodeClipIsWholeGOPsOfHighProfile(t *testing.T) {
	for _, bframes := range []int{0, 2} {
		cfg := clipConfig{
			EncoderConfig: av.EncoderConfig{Width: 320, Height: 240, FPS: 25, GOPFrames: 25, BFrames: bframes, Bitrate: 500000, Threads: 1},
			Frames:        50,
		}
		c, err := encodeClip(context.Background(), NewScene(0, 320, 240, 25, 50), cfg)
		if err != nil {
			t.Fatalf("bframes %d: %v", bframes, err)
		}
		var sps h264.SPS
		if err := sps.Unmarshal(c.SPS); err != nil {
			t.Fatal(err)
		}
		if sps.ProfileIdc != 100 || sps.Width() != 320 || sps.Height() != 240 {
			t.Errorf("bframes %d: SPS says profile_idc %d, %dx%d; want 100, 320x240", bframes, sps.ProfileIdc, sps.Width(), sps.Height())
		}
		if len(c.Frames) != 50 {
			t.Fatalf("bframes %d: %d frames, want 50", bframes, len(c.Frames))
		}
		outOfOrder := false
		for i, f := range c.Frames {
			if f.IDR != (i%25 == 0) {
				t.Errorf("bframes %d: frame %d IDR is %v", bframes, i, f.IDR)
			}
			for _, p := range f.Payloads {
				if len(p)+rtpHeaderSize > maxPacketSize {
					t.Errorf("bframes %d: frame %d has a %d-byte payload", bframes, i, len(p))
				}
			}
			if i > 0 && f.PTS < c.Frames[i-1].PTS {
				outOfOrder = true
			}
		}
		if outOfOrder != (bframes > 0) {
			t.Errorf("bframes %d: PTS out of decode order is %v", bframes, outOfOrder)
		}
		// repeat-headers: the first payload of every IDR is a STAP-A (24)
		// starting with the SPS.
		for i := 0; i < len(c.Frames); i += 25 {
			p := c.Frames[i].Payloads[0]
			if p[0]&0x1f != 24 || h264.NALUType(p[3]&0x1f) != h264.NALUTypeSPS {
				t.Errorf("bframes %d: IDR %d does not start with SPS in a STAP-A", bframes, i)
			}
		}
	}
}
