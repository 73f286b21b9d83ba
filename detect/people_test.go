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
	return frameOfSize(t, image.Pt(1280, 720), foot, h)
}

// frameOfSize is frameWithPerson for a picture of size (the road from 5/9
// of its height down).
func frameOfSize(t testing.TB, size image.Point, foot image.Point, h int) *image.YCbCr {
	t.Helper()
	if foot.X < 0 {
		return frameOfPeople(t, size)
	}
	return frameOfPeople(t, size, placed{"c0", foot, h})
}

// placed is a cut-out person of camsim's (c0, d3...) with their feet at
// foot, h pixels tall.
type placed struct {
	name string
	foot image.Point
	h    int
}

// frameOfPeople is frameOfSize with any number of people, pasted in order
// (the later ones in front).
func frameOfPeople(t testing.TB, size image.Point, people ...placed) *image.YCbCr {
	t.Helper()
	img := image.NewYCbCr(image.Rect(0, 0, size.X, size.Y), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(3, 4))
	for y := range size.Y {
		for x := range size.X {
			v := 150
			if y > size.Y*5/9 {
				v = 80 // road
			}
			if y < size.Y*19/36 && (x/97)%2 == 0 {
				v = 120 + (x/97)%5*10 // walls
			}
			img.Y[y*img.YStride+x] = uint8(v + r.IntN(9) - 4)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	if len(people) == 0 {
		return img
	}
	rgba := image.NewRGBA(img.Rect)
	draw.Draw(rgba, rgba.Rect, img, image.Point{}, draw.Src)
	for _, p := range people {
		f, err := os.Open("../cmd/camsim/people/" + p.name + ".png")
		if err != nil {
			t.Fatal(err)
		}
		src, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		foot, h := p.foot, p.h
		w := h * src.Bounds().Dx() / src.Bounds().Dy()
		scaled := image.NewNRGBA(image.Rect(0, 0, w, h))
		// nearest-neighbour is enough here: the detector sees edges
		for y := range h {
			for x := range w {
				scaled.Set(x, y, src.At(src.Bounds().Min.X+x*src.Bounds().Dx()/w, src.Bounds().Min.Y+y*src.Bounds().Dy()/h))
			}
		}
		draw.Draw(rgba, image.Rect(foot.X-w/2, foot.Y-h, foot.X-w/2+w, foot.Y), scaled, image.Point{}, draw.Over)
	}
	for y := range size.Y {
		for x := range size.X {
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

func TestPeopleFindsSmallAndLargePeople(t *testing.T) {
	p, err := NewPeople()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	th := DefaultThresholds()
	p.SetSizes(th.PersonMinPx, th.PersonMaxPx)
	size := image.Pt(1024, 576) // a PAL-sized picture, like street cameras' sub-streams
	for _, h := range []int{54, 60, 80, 160, 300} {
		foot := image.Pt(500, 100+h)
		img := frameOfSize(t, size, foot, h)
		// the motion region is only the lower half (legs moving)
		legs := image.Rect(foot.X-h/8, foot.Y-h/2, foot.X+h/8, foot.Y)
		found := p.Find(img, []image.Rectangle{legs}, th.PersonScore)
		if len(found) != 1 {
			t.Errorf("person %d px tall: found %v, want one", h, found)
			continue
		}
		if d := found[0].Foot().Sub(foot); d.X*d.X+d.Y*d.Y > (h/5)*(h/5) {
			t.Errorf("person %d px tall: feet found at %v, want near %v (box %v)", h, found[0].Foot(), foot, found[0].Box)
		}
	}
	// smaller than person_min_px: not looked for
	p.SetSizes(120, 400)
	if f := p.Find(frameOfSize(t, size, image.Pt(500, 160), 60), []image.Rectangle{image.Rect(490, 130, 510, 160)}, th.PersonScore); len(f) != 0 {
		t.Errorf("a 60 px person found with person_min_px 120: %v", f)
	}
}

func TestPeopleFindsEachPersonOfAGroup(t *testing.T) {
	p, err := NewPeople()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	th := DefaultThresholds()
	// four people side by side, a step apart and a little deeper each
	// (as eval-groups stands): their motion pieces touch and merge into
	// one region as tall as the nearest one's feet to the furthest one's
	// head
	var group []placed
	var moved []image.Rectangle
	for i, name := range []string{"c0", "d0", "b0", "d3"} {
		foot, h := image.Pt(450+110*i, 620-15*i), 150
		group = append(group, placed{name, foot, h})
		moved = append(moved, image.Rect(foot.X-h/4, foot.Y-h-h/20, foot.X+h/4, foot.Y+h/10))
	}
	img := frameOfPeople(t, image.Pt(1280, 720), group...)
	found := p.Find(img, moved, th.PersonScore)
	for _, g := range group {
		n := 0
		for _, f := range found {
			if d := f.Foot().Sub(g.foot); d.X*d.X+d.Y*d.Y <= 40*40 {
				n++
			}
		}
		if n != 1 {
			t.Errorf("person %s with feet at %v found %d times, want once (found %v)", g.name, g.foot, n, found)
		}
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
