package detect

import (
	"image"
	"image/draw"
	"image/png"
	"math/rand/v2"
	"os"
	"testing"
)

// frameWithPerson makes a 1280x720 picture: a street-like gray background
// with noise, and camsim's cut-out person c0 (from a real photograph)
// pasted with its feet at foot and height h; foot = (-1,-1) for nobody.
func frameWithPerson(t testing.TB, foot image.Point, h int) *image.YCbCr {
	t.Helper()
	img := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(3, 4))
	for y := range 720 {
		for x := range 1280 {
			v := 150
			if y > 400 {
				v = 80 // road
			}
			if y < 380 && (x/97)%2 == 0 {
				v = 120 + (x/97)%5*10 // walls
			}
			img.Y[y*img.YStride+x] = uint8(v + r.IntN(9) - 4)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	if foot.X < 0 {
		return img
	}
	f, err := os.Open("../cmd/camsim/people/c0.png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	w := h * src.Bounds().Dx() / src.Bounds().Dy()
	scaled := image.NewNRGBA(image.Rect(0, 0, w, h))
	// nearest-neighbour is enough here: the detector sees edges
	for y := range h {
		for x := range w {
			scaled.Set(x, y, src.At(src.Bounds().Min.X+x*src.Bounds().Dx()/w, src.Bounds().Min.Y+y*src.Bounds().Dy()/h))
		}
	}
	rgba := image.NewRGBA(img.Rect)
	draw.Draw(rgba, rgba.Rect, img, image.Point{}, draw.Src)
	draw.Draw(rgba, image.Rect(foot.X-w/2, foot.Y-h, foot.X-w/2+w, foot.Y), scaled, image.Point{}, draw.Over)
	for y := range 720 {
		for x := range 1280 {
			c := rgba.RGBAAt(x, y)
			img.Y[y*img.YStride+x] = uint8((299*int(c.R) + 587*int(c.G) + 114*int(c.B)) / 1000)
		}
	}
	return img
}

func TestPeopleFindsARealPersonOnly(t *testing.T) {
	p, err := NewPeople()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	th := DefaultThresholds()
	foot := image.Pt(700, 600)
	img := frameWithPerson(t, foot, 220)
	// the motion region is only the person's legs: Find must widen it
	legs := image.Rect(670, 500, 730, 600)
	found := p.Find(img, []image.Rectangle{legs}, th.PersonScore)
	if len(found) != 1 {
		t.Fatalf("found %v, want the one person", found)
	}
	got := found[0]
	if d := got.Foot().Sub(foot); d.X*d.X+d.Y*d.Y > 40*40 {
		t.Errorf("the person's feet found at %v, want near %v (box %v, score %.2f)", got.Foot(), foot, got.Box, got.Score)
	}
	// where there is no person (a wall, the road, the same picture without
	// anyone), nothing
	empty := frameWithPerson(t, image.Pt(-1, -1), 0)
	for _, r := range []image.Rectangle{legs, image.Rect(600, 380, 800, 620), image.Rect(100, 100, 300, 380)} {
		if f := p.Find(empty, []image.Rectangle{r}, th.PersonScore); len(f) != 0 {
			t.Errorf("found %v in an empty picture, region %v", f, r)
		}
	}
	if f := p.Find(img, nil, th.PersonScore); len(f) != 0 {
		t.Errorf("no regions, yet found %v", f)
	}
}

// BenchmarkPeople is the people detector's cost per analysis with someone
// moving in view: one motion region (the legs) widened to the person, 720p.
func BenchmarkPeople(b *testing.B) {
	p, err := NewPeople()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	img := frameWithPerson(b, image.Pt(700, 600), 220)
	th := DefaultThresholds()
	for b.Loop() {
		if len(p.Find(img, []image.Rectangle{image.Rect(670, 500, 730, 600)}, th.PersonScore)) != 1 {
			b.Fatal("the person was not found")
		}
	}
}
