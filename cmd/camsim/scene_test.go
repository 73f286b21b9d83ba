package main

import (
	"bytes"
	"image"
	"testing"
)

func TestSceneEveryFrameDiffersAndLoops(t *testing.T) {
	const w, h, fps, frames = 320, 240, 25, 50
	s := NewScene(2, w, h, fps, frames)
	prev := image.NewRGBA(image.Rect(0, 0, w, h))
	cur := image.NewRGBA(image.Rect(0, 0, w, h))
	s.Draw(prev, 0)
	first := bytes.Clone(prev.Pix)
	for f := 1; f <= frames; f++ {
		s.Draw(cur, f)
		if f < frames && bytes.Equal(cur.Pix, prev.Pix) {
			t.Fatalf("frame %d is the same as frame %d", f, f-1)
		}
		prev, cur = cur, prev
	}
	if !bytes.Equal(prev.Pix, first) {
		t.Errorf("frame %d (one loop later) differs from frame 0: the loop has a seam", frames)
	}
}

func TestVariantsLookDifferent(t *testing.T) {
	a := image.NewRGBA(image.Rect(0, 0, 320, 240))
	b := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for v := range 15 {
		NewScene(v, 320, 240, 25, 50).Draw(a, 0)
		NewScene(v+1, 320, 240, 25, 50).Draw(b, 0)
		if bytes.Equal(a.Pix, b.Pix) {
			t.Errorf("variants %d and %d draw the same picture", v, v+1)
		}
	}
	if s := NewScene(2, 320, 240, 25, 50); s.Label != "CAM 03" {
		t.Errorf("variant 2 is labelled %q, want CAM 03", s.Label)
	}
}

func BenchmarkSceneDraw720p(b *testing.B) {
	s := NewScene(0, 1280, 720, 25, 100)
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for i := 0; b.Loop(); i++ {
		s.Draw(img, i)
	}
}
