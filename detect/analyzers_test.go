package detect

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"qianliyan/configs"
)

// street draws a textured gray street-like picture at AnalysisSize: walls
// of different shades with windows, a road band. Same seed, same picture.
func street(seed uint64) gocv.Mat {
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 0, 0, 0), AnalysisSize.Y, AnalysisSize.X, gocv.MatTypeCV8UC1)
	r := rand.New(rand.NewPCG(seed, 7))
	for x := 0; x < AnalysisSize.X; {
		w := 20 + r.IntN(40)
		shade := uint8(60 + r.IntN(150))
		top := 10 + r.IntN(60)
		gocv.Rectangle(&m, image.Rect(x, top, x+w, 120), lum(shade), -1)
		for wy := top + 5; wy < 110; wy += 12 {
			for wx := x + 3; wx < x+w-6; wx += 9 {
				gocv.Rectangle(&m, image.Rect(wx, wy, wx+5, wy+6), lum(shade/3), -1)
			}
		}
		x += w
	}
	gocv.Rectangle(&m, image.Rect(0, 130, AnalysisSize.X, 180), lum(50), -1)
	for x := 0; x < AnalysisSize.X; x += 40 {
		gocv.Rectangle(&m, image.Rect(x, 153, x+20, 157), lum(220), -1)
	}
	return m
}

// noisy returns a copy of m with sensor noise of ±amp and a brightness shift.
func noisy(m gocv.Mat, amp int, shift int, r *rand.Rand) gocv.Mat {
	out := m.Clone()
	b, _ := out.DataPtrUint8()
	for i := range b {
		v := int(b[i]) + shift
		if amp > 0 {
			v += r.IntN(2*amp+1) - amp
		}
		b[i] = uint8(min(255, max(0, v)))
	}
	return out
}

func TestMotionFindsTheMovingThingOnly(t *testing.T) {
	th := DefaultThresholds()
	m := NewMotion(th)
	defer m.Close()
	bg := street(1)
	defer bg.Close()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 60 {
		f := noisy(bg, 4, 0, r)
		regions := m.Apply(f, 720)
		f.Close()
		if i >= 40 && len(regions) > 0 {
			t.Fatalf("frame %d of a still street: %d moving regions %v, want none", i, len(regions), regions)
		}
	}
	var last image.Rectangle
	var regions []image.Rectangle
	for i := range 10 {
		f := noisy(bg, 4, 0, r)
		last = image.Rect(100+6*i, 90, 120+6*i, 140) // a person-sized block walking
		gocv.Rectangle(&f, last, lum(240), -1)
		regions = m.Apply(f, 720)
		f.Close()
	}
	found := false
	for _, rg := range regions {
		if rg.Overlaps(last) {
			found = true
		} else {
			t.Errorf("moving region %v away from the walker at %v", rg, last)
		}
	}
	if !found {
		t.Errorf("no moving region over the walker at %v (got %v)", last, regions)
	}
}

func binZone() configs.Zone {
	return configs.Zone{Name: "垃圾桶", Kind: "bin", Polygon: []configs.Point{{X: 0.1, Y: 0.55}, {X: 0.3, Y: 0.55}, {X: 0.3, Y: 0.95}, {X: 0.1, Y: 0.95}}}
}

func TestZoneRaisesAfterHoldAndClearsWhenNormalAgain(t *testing.T) {
	own := binZone()
	own.Hold = configs.Duration(12 * time.Second) // like a passage's minutes
	for _, tc := range []struct {
		name string
		zone configs.Zone
		hold time.Duration
	}{{"detect's hold", binZone(), DefaultThresholds().ZoneHold}, {"the zone's own hold", own, 12 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) { zoneRaisesAfterHoldAndClears(t, tc.zone, tc.hold) })
	}
}

func zoneRaisesAfterHoldAndClears(t *testing.T, cz configs.Zone, hold time.Duration) {
	th := DefaultThresholds()
	z := NewZone(cz, AnalysisSize)
	defer z.Close()
	bg := street(3)
	defer bg.Close()
	r := rand.New(rand.NewPCG(3, 4))
	z.SetReference(bg)

	start := time.Date(2026, 11, 24, 17, 10, 0, 0, time.UTC)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	frame := func(binDown, outside bool, shift int) gocv.Mat {
		f := noisy(bg, 4, shift, r)
		if binDown { // a bin lying across the zone
			gocv.Rectangle(&f, image.Rect(40, 120, 90, 150), lum(230), -1)
		}
		if outside { // rubbish outside the zone must not count
			gocv.Rectangle(&f, image.Rect(200, 120, 260, 170), lum(250), -1)
		}
		return f
	}
	step := func(s float64, binDown, outside bool, shift int, motion []image.Rectangle) Change {
		f := frame(binDown, outside, shift)
		defer f.Close()
		c, _ := z.Update(f, motion, at(s), th)
		return c
	}

	// a quiet minute: lighting drifts by 10 levels, rubbish appears outside
	for s := 0.0; s < 60; s += 0.5 {
		if c := step(s, false, s > 30, int(s/6), nil); c != NoChange {
			t.Fatalf("t=%.1fs quiet scene: change %d, want none", s, c)
		}
	}
	// the bin goes down at t=60; someone stands in the zone until t=62
	raisedAt := -1.0
	for s := 60.0; s < 80; s += 0.5 {
		var motion []image.Rectangle
		if s < 62 {
			motion = []image.Rectangle{image.Rect(50, 100, 70, 150)}
		}
		if c := step(s, true, false, 0, motion); c == Raised {
			raisedAt = s
			break
		}
	}
	const lastMotion = 61.5 // the last frame with someone in the zone
	if want := lastMotion + hold.Seconds(); raisedAt != want {
		t.Fatalf("zone_changed raised at t=%.1fs, want %.1fs (hold counted from the last motion)", raisedAt, want)
	}
	if !z.Changed() {
		t.Fatal("zone not marked changed")
	}
	// the bin is put back at t=80
	clearedAt := -1.0
	for s := 80.0; s < 100; s += 0.5 {
		if c := step(s, false, false, 0, nil); c == Cleared {
			clearedAt = s
			break
		}
	}
	if want := 80 + hold.Seconds(); clearedAt != want {
		t.Fatalf("zone_changed cleared at t=%.1fs, want %.1fs", clearedAt, want)
	}
}

func TestTamperCoveredDefocusedTurned(t *testing.T) {
	th := DefaultThresholds()
	tp := NewTamper()
	defer tp.Close()
	bg := street(5)
	defer bg.Close()
	other := street(99)
	defer other.Close()
	r := rand.New(rand.NewPCG(5, 6))
	tp.SetReference(bg)
	start := time.Unix(0, 0)
	run := func(from float64, make func() gocv.Mat) (Change, string, float64) {
		for s := from; s < from+10; s += 0.5 {
			f := make()
			c, kind := tp.Update(f, start.Add(time.Duration(s*float64(time.Second))), th)
			f.Close()
			if c != NoChange {
				return c, kind, s - from
			}
		}
		return NoChange, "", 10
	}
	// "normal" is 15 levels brighter than the reference: dusk is not tampering
	normal := func() gocv.Mat { return noisy(bg, 4, 15, r) }
	for _, tc := range []struct {
		kind string
		pic  func() gocv.Mat
	}{
		{Covered, func() gocv.Mat {
			black := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(12, 0, 0, 0), AnalysisSize.Y, AnalysisSize.X, gocv.MatTypeCV8UC1)
			defer black.Close()
			return noisy(black, 3, 0, r)
		}},
		{Defocused, func() gocv.Mat {
			f := noisy(bg, 0, 0, r)
			gocv.GaussianBlur(f, &f, image.Pt(15, 15), 0, 0, gocv.BorderDefault)
			return f
		}},
		{Turned, func() gocv.Mat { return noisy(other, 4, 0, r) }},
	} {
		if c, _, _ := run(0, normal); c != NoChange {
			t.Fatalf("normal view raised something")
		}
		c, kind, after := run(100, tc.pic)
		if c != Raised || kind != tc.kind {
			t.Errorf("%s camera: change %d kind %q, want raised %q", tc.kind, c, kind, tc.kind)
		} else if after != th.TamperHold.Seconds() {
			t.Errorf("%s raised after %.1fs, want %.1fs", tc.kind, after, th.TamperHold.Seconds())
		}
		if c, kind, _ := run(200, normal); c != Cleared || kind != tc.kind {
			t.Errorf("back to normal after %s: change %d kind %q, want cleared", tc.kind, c, kind)
		}
	}
}

func TestGrayIsTheScaledLumaPlane(t *testing.T) {
	img := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = 100
	}
	for y := 0; y < 360; y++ { // top half brighter
		for x := 0; x < 1280; x++ {
			img.Y[y*img.YStride+x] = 200
		}
	}
	sub := img.SubImage(image.Rect(0, 0, 1280, 720)).(*image.YCbCr)
	g, err := Gray(sub, AnalysisSize)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Cols() != 320 || g.Rows() != 180 {
		t.Fatalf("gray is %dx%d, want 320x180", g.Cols(), g.Rows())
	}
	if top, bottom := g.GetUCharAt(10, 10), g.GetUCharAt(170, 10); top != 200 || bottom != 100 {
		t.Errorf("gray top %d bottom %d, want 200 and 100", top, bottom)
	}
}

func BenchmarkAnalyzers(b *testing.B) {
	th := DefaultThresholds()
	bg := street(1)
	defer bg.Close()
	r := rand.New(rand.NewPCG(1, 2))
	frames := make([]gocv.Mat, 8)
	for i := range frames {
		frames[i] = noisy(bg, 4, 0, r)
		defer frames[i].Close()
	}
	b.Run("motion", func(b *testing.B) {
		m := NewMotion(th)
		defer m.Close()
		i := 0
		for b.Loop() {
			m.Apply(frames[i%len(frames)], 720)
			i++
		}
	})
	b.Run("zone", func(b *testing.B) {
		z := NewZone(binZone(), AnalysisSize)
		defer z.Close()
		z.SetReference(bg)
		i := 0
		for b.Loop() {
			z.Update(frames[i%len(frames)], nil, time.Now(), th)
			i++
		}
	})
	b.Run("tamper", func(b *testing.B) {
		tp := NewTamper()
		defer tp.Close()
		tp.SetReference(bg)
		i := 0
		for b.Loop() {
			tp.Update(frames[i%len(frames)], time.Now(), th)
			i++
		}
	})
}

// lum is a gray level for drawing on one-channel Mats (gocv takes the
// blue component of a color there).
func lum(v uint8) color.RGBA { return color.RGBA{v, v, v, 0} }

func TestMotionGateLetsSmallFarPeopleThrough(t *testing.T) {
	th := DefaultThresholds()
	m := NewMotion(th)
	defer m.Close()
	// the gate follows perspective: larger at the bottom of the picture
	if top, bottom := m.MinArea(0, 180, 576), m.MinArea(180, 180, 576); top >= bottom {
		t.Errorf("gate %.1f px at the top, %.1f at the bottom: want smaller at the top", top, bottom)
	}
	bg := street(5)
	defer bg.Close()
	r := rand.New(rand.NewPCG(5, 6))
	for range 40 {
		f := noisy(bg, 4, 0, r)
		m.Apply(f, 576)
		f.Close()
	}
	// a person 52 px tall in a 576-line picture near the top of the street:
	// 16x6 analysis pixels, well under the old gate (0.002 of 320x180)
	var last image.Rectangle
	var regions []image.Rectangle
	for i := range 8 {
		f := noisy(bg, 4, 0, r)
		last = image.Rect(100+3*i, 50, 106+3*i, 66)
		gocv.Rectangle(&f, last, lum(240), -1)
		regions = m.Apply(f, 576)
		f.Close()
	}
	found := false
	for _, rg := range regions {
		found = found || rg.Overlaps(last)
	}
	if !found {
		t.Errorf("no moving region over the small walker at %v (got %v, gate %.1f px)", last, regions, m.MinArea(last.Max.Y, 180, 576))
	}
}

func TestZoneLeavesPeopleOutButSeesTheBin(t *testing.T) {
	th := DefaultThresholds()
	th.ZoneHold = 2 * time.Second
	zone := binZone() // x 0.1–0.3, y 0.55–0.95: 128–384, 396–684 of 1280x720
	start := time.Date(2026, 11, 24, 17, 10, 0, 0, time.UTC)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	gray := func(img *image.YCbCr) gocv.Mat {
		g, err := Gray(img, AnalysisSize)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	empty := gray(frameWithPerson(t, image.Pt(-1, -1), 0))
	defer empty.Close()
	// a real person (cut out of a photograph) standing in the zone, 300 px
	// tall; the box as the detector gives it (a margin all round), in
	// analysis pixels
	standing := gray(frameWithPerson(t, image.Pt(256, 660), 300))
	defer standing.Close()
	box := image.Rect(256-80, 660-300-38, 256+80, 660+38)
	personBox := image.Rect(box.Min.X/4, box.Min.Y/4, (box.Max.X+3)/4, (box.Max.Y+3)/4)

	t.Run("a person standing raises nothing", func(t *testing.T) {
		// a zone around where they stand: x 0.16–0.24, y 0.55–0.92
		z := NewZone(configs.Zone{Name: "门口", Kind: "bin", Polygon: []configs.Point{{X: 0.16, Y: 0.55}, {X: 0.24, Y: 0.55}, {X: 0.24, Y: 0.92}, {X: 0.16, Y: 0.92}}}, AnalysisSize)
		defer z.Close()
		z.SetReference(empty)
		if d := z.Diff(standing); d < th.ZoneDiff {
			t.Fatalf("the person changes the zone by only %.1f unmasked: the test shows nothing", d)
		}
		for s := 0.0; s < 30; s += 0.5 {
			if c, d := z.Update(standing, nil, at(s), th, personBox); c != NoChange || d >= th.ZoneDiff {
				t.Fatalf("t=%.1fs a person standing in the zone: change %d, diff %.1f; want none", s, c, d)
			}
		}
	})
	t.Run("a bin moved raises, a person beside it does not hide it", func(t *testing.T) {
		z := NewZone(zone, AnalysisSize)
		defer z.Close()
		z.SetReference(empty)
		bin := image.Rect(34, 125, 46, 165) // analysis pixels, in the zone, beside the person
		moved := standing.Clone()
		defer moved.Close()
		gocv.Rectangle(&moved, bin, lum(240), -1)
		raisedAt := -1.0
		for s := 0.0; s < 10; s += 0.5 {
			people := []image.Rectangle{personBox}
			if s >= 3 { // the person walks off
				people = nil
			}
			f := moved
			if s >= 3 {
				f = empty.Clone()
				defer f.Close()
				gocv.Rectangle(&f, bin, lum(240), -1)
			}
			if c, _ := z.Update(f, nil, at(s), th, people...); c == Raised {
				raisedAt = s
				break
			}
		}
		// held while the person stands there, raised ZoneHold after the
		// last analysis they stood there (t=2.5s)
		if want := 2.5 + th.ZoneHold.Seconds(); raisedAt != want {
			t.Fatalf("zone_changed raised at t=%.1fs, want %.1fs", raisedAt, want)
		}
		areas := z.ChangedAreas(moved, personBox)
		if len(areas) == 0 || !areas[0].Overlaps(bin) || areas[0].Overlaps(personBox.Inset(4)) {
			t.Errorf("changed areas %v, want the bin at %v first, not the person at %v", areas, bin, personBox)
		}
	})
	t.Run("a person standing over the change does not end it", func(t *testing.T) {
		z := NewZone(zone, AnalysisSize)
		defer z.Close()
		z.SetReference(empty)
		// the bin lies where the person will stand: their box hides it
		under := image.Rect(personBox.Min.X+2, personBox.Min.Y+personBox.Dy()/3, personBox.Max.X-2, personBox.Max.Y-2)
		down := empty.Clone()
		defer down.Close()
		gocv.Rectangle(&down, under, lum(240), -1)
		over := standing.Clone()
		defer over.Close()
		gocv.Rectangle(&over, under, lum(240), -1)
		s := 0.0
		for ; s < 5; s += 0.5 {
			if c, _ := z.Update(down, nil, at(s), th); c == Raised {
				break
			}
		}
		if !z.Changed() {
			t.Fatal("the bin down did not raise zone_changed")
		}
		// someone stands over it for 20 s, then walks off, the bin still down
		for end := s + 20; s < end; s += 0.5 {
			if c, _ := z.Update(over, nil, at(s), th, personBox); c != NoChange {
				t.Fatalf("t=%.1fs someone standing over the change: change %d, want none", s, c)
			}
		}
		for end := s + 10; s < end; s += 0.5 {
			if c, _ := z.Update(down, nil, at(s), th); c != NoChange {
				t.Fatalf("t=%.1fs after they left, the bin still down: change %d, want none", s, c)
			}
		}
		// a box reaching over it from someone whose feet are just outside the
		// zone (or kept after they went: a track outlives its last find),
		// hiding the bin, then gone: the bin still down all along
		front := image.Rect(under.Min.X-2, under.Min.Y-2, 160, 179)
		if foot := (Person{Box: front}).Foot(); z.Contains(foot) {
			t.Fatalf("the box's feet %v are in the zone: the test shows nothing", foot)
		}
		for end := s + 12; s < end; s += 0.5 {
			if c, _ := z.Update(down, nil, at(s), th, front); c != NoChange {
				t.Fatalf("t=%.1fs a box in front hides the change: change %d, want none", s, c)
			}
		}
		if c, _ := z.Update(down, nil, at(s), th); c != NoChange || !z.Changed() {
			t.Fatalf("t=%.1fs the box gone, the bin still down: change %d, changed %v; want it still up", s, c, z.Changed())
		}
		// the bin back, nobody there: cleared after the hold
		cleared := -1.0
		for end := s + 5; s < end; s += 0.5 {
			if c, _ := z.Update(empty, nil, at(s), th); c == Cleared {
				cleared = s
				break
			}
		}
		if cleared < 0 {
			t.Fatal("the bin back and nobody there: zone_changed not cleared within 5 s")
		}
	})
}
