package main

import (
	"bytes"
	"image"
	"testing"
)

func TestYUVUpdateMatchesFullConversion(t *testing.T) {
	const w, h = 320, 240
	s := NewScene(1, w, h, 25, 50)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	inc := newYUVPicture(w, h)
	for _, f := range []int{0, 1, 17, 30} {
		s.Draw(img, f)
		inc.update(img)
		full := newYUVPicture(w, h)
		full.update(img)
		if !bytes.Equal(inc.y, full.y) || !bytes.Equal(inc.u, full.u) || !bytes.Equal(inc.v, full.v) {
			t.Fatalf("frame %d: converting only the changes gives another picture than converting it all", f)
		}
	}
}

func TestSensorNoiseAddRowMatchesBytewise(t *testing.T) {
	n := newSensorNoise(7, 1000)
	src := make([]byte, 1003) // not a multiple of 8: the tail is done bytewise
	for i := range src {
		src[i] = byte(16 + i%220) // limited-range luma
	}
	dst := make([]byte, len(src))
	n.addRow(dst, src, 12, 34)
	changed := 0
	for i := range src {
		d := int(dst[i]) - int(src[i])
		if d < -noiseAmp || d > noiseAmp {
			t.Fatalf("pixel %d: %d became %d, more than ±%d", i, src[i], dst[i], noiseAmp)
		}
		if d != 0 {
			changed++
		}
	}
	if changed < len(src)/2 {
		t.Errorf("only %d of %d pixels got noise", changed, len(src))
	}
	again := make([]byte, len(src))
	n.addRow(again, src, 13, 34)
	if bytes.Equal(dst, again) {
		t.Error("two frames got the same noise")
	}
}
