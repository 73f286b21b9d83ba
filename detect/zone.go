package detect

import (
	"image"
	"image/color"
	"slices"
	"time"

	"gocv.io/x/gocv"

	"qianliyan/configs"
)

// Change is what an analyzer's update reports.
type Change int

// The changes: nothing new, a condition raised, a condition cleared.
const (
	NoChange Change = iota
	Raised
	Cleared
)

// Zone watches one area of the picture against its reference look.
type Zone struct {
	Name, Kind string
	// Hold, when not zero, is this zone's own ZoneHold.
	Hold time.Duration

	mask   gocv.Mat
	box    image.Rectangle
	ref    gocv.Mat
	hasRef bool // a zero Mat must not be touched

	calmSince   time.Time // since when nothing has moved in the zone
	lastDiff    float64   // Diff at the last Update
	changed     bool      // zone_changed is up
	differSince time.Time // zero while it matches
	matchSince  time.Time // zero while it differs
	clearSince  time.Time // while changed: since when it matches with nobody left out and nothing moving
}

// NewZone makes the configured zone (its polygon in 0–1 picture
// coordinates) for pictures of size.
func NewZone(cz configs.Zone, size image.Point) *Zone {
	pts := make([]image.Point, len(cz.Polygon))
	for i, p := range cz.Polygon {
		pts[i] = image.Pt(int(p.X*float64(size.X)+0.5), int(p.Y*float64(size.Y)+0.5))
	}
	z := &Zone{Name: cz.Name, Kind: cz.Kind, Hold: cz.Hold.D(), mask: gocv.NewMatWithSize(size.Y, size.X, gocv.MatTypeCV8UC1)}
	pv := gocv.NewPointsVectorFromPoints([][]image.Point{pts})
	defer pv.Close()
	gocv.FillPoly(&z.mask, pv, color.RGBA{255, 255, 255, 0})
	z.box = gocv.BoundingRect(pv.At(0))
	return z
}

// HasReference reports whether the zone knows its normal look.
func (z *Zone) HasReference() bool { return z.hasRef }

// SetReference takes gray as the zone's normal look.
func (z *Zone) SetReference(gray gocv.Mat) {
	if z.hasRef {
		z.ref.Close()
	}
	z.ref = gray.Clone()
	z.hasRef = true
	z.changed, z.differSince, z.matchSince, z.clearSince = false, time.Time{}, time.Time{}, time.Time{}
}

// Diff is the mean luma difference from the reference inside the zone,
// once the difference in mean brightness of the whole pictures is taken
// away: clouds, dusk and street lights change everything a little, a bin
// lying down changes the zone a lot. The pixels of people (their boxes in
// analysis pixels) are left out of both pictures: someone standing there
// is not a change of the zone.
func (z *Zone) Diff(gray gocv.Mat, people ...image.Rectangle) float64 {
	var sum, n int
	z.eachDiff(gray, people, func(_, _, d int) {
		sum += d
		n++
	})
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}

// eachDiff calls fn with the absolute difference from the reference (less
// the pictures' brightness shift) of every pixel of the zone outside the
// people's boxes.
func (z *Zone) eachDiff(gray gocv.Mat, people []image.Rectangle, fn func(x, y, d int)) {
	if !z.hasRef {
		return
	}
	g, err1 := gray.DataPtrUint8()
	r, err2 := z.ref.DataPtrUint8()
	m, err3 := z.mask.DataPtrUint8()
	if err1 != nil || err2 != nil || err3 != nil || len(g) != len(r) || len(g) != len(m) || len(g) == 0 {
		return
	}
	var sg, sr int
	for i := range g {
		sg += int(g[i])
		sr += int(r[i])
	}
	shift := (sg - sr) / len(g)
	cols := gray.Cols()
	for y := z.box.Min.Y; y < z.box.Max.Y; y++ {
	pixels:
		for x := z.box.Min.X; x < z.box.Max.X; x++ {
			i := y*cols + x
			if i < 0 || i >= len(m) || m[i] == 0 {
				continue
			}
			for _, p := range people {
				if (image.Point{x, y}).In(p) {
					continue pixels
				}
			}
			d := int(g[i]) - int(r[i]) - shift
			if d < 0 {
				d = -d
			}
			fn(x, y, d)
		}
	}
}

// changedPixel is the difference (0–255) of one pixel that counts as
// changed when the snapshot outlines what changed.
const changedPixel = 30

// ChangedAreas returns boxes (analysis pixels) around the parts of the zone
// that differ from the reference, people's boxes left out, largest first:
// what a snapshot of zone_changed outlines.
func (z *Zone) ChangedAreas(gray gocv.Mat, people ...image.Rectangle) []image.Rectangle {
	changed := gocv.NewMatWithSize(gray.Rows(), gray.Cols(), gocv.MatTypeCV8UC1)
	defer changed.Close()
	b, err := changed.DataPtrUint8()
	if err != nil {
		return nil
	}
	cols := gray.Cols()
	z.eachDiff(gray, people, func(x, y, d int) {
		if d >= changedPixel {
			b[y*cols+x] = 255
		}
	})
	kernel := gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(3, 3))
	defer kernel.Close()
	gocv.MorphologyEx(changed, &changed, gocv.MorphOpen, kernel)
	contours := gocv.FindContours(changed, gocv.RetrievalExternal, gocv.ChainApproxSimple)
	defer contours.Close()
	var out []image.Rectangle
	for i := range contours.Size() {
		if c := contours.At(i); gocv.ContourArea(c) >= minMotionArea {
			out = append(out, gocv.BoundingRect(c))
		}
	}
	out = mergeRegions(out)
	slices.SortFunc(out, func(a, b image.Rectangle) int { return area(b) - area(a) })
	return out
}

// Contains reports whether p (analysis picture coordinates) is in the zone.
func (z *Zone) Contains(p image.Point) bool {
	if !p.In(z.box) {
		return false
	}
	return z.mask.GetUCharAt(p.Y, p.X) != 0
}

// Near reports whether r (analysis picture coordinates) is within its own
// height of the zone: someone there may be standing in it.
func (z *Zone) Near(r image.Rectangle) bool { return r.Inset(-r.Dy()).Overlaps(z.box) }

// Calm returns how long nothing has moved in the zone, motion being this
// picture's moving regions.
func (z *Zone) Calm(motion []image.Rectangle, now time.Time) time.Duration {
	for _, r := range motion {
		if r.Overlaps(z.box) {
			z.calmSince = time.Time{}
		}
	}
	if z.calmSince.IsZero() {
		z.calmSince = now
	}
	return now.Sub(z.calmSince)
}

// LastDiff is the difference from the reference at the last Update.
func (z *Zone) LastDiff() float64 { return z.lastDiff }

// MatchSince returns since when the zone has matched its reference (zero
// while it differs or has no reference).
func (z *Zone) MatchSince() time.Time { return z.matchSince }

// Changed reports whether zone_changed is up.
func (z *Zone) Changed() bool { return z.changed }

// Update judges gray at now, the boxes of the people tracked (analysis
// pixels) left out: the zone must differ from its reference for its hold
// (Hold, else t.ZoneHold) with no motion in it and nobody standing in it
// to raise (someone walking through is not a change). To clear, it must
// match as long with nothing moving and nobody left out: a person in front
// of a fallen bin hides it, and the rest of the zone matching then is no
// sign it is back.
func (z *Zone) Update(gray gocv.Mat, motion []image.Rectangle, now time.Time, t Thresholds, people ...image.Rectangle) (Change, float64) {
	d := z.Diff(gray, people...)
	z.lastDiff = d
	hold := t.ZoneHold
	if z.Hold > 0 {
		hold = z.Hold
	}
	if !z.hasRef {
		return NoChange, d
	}
	moving := false
	for _, p := range people {
		if foot := (Person{Box: p}).Foot(); z.Contains(foot) {
			moving = true // held while someone stands there
		}
	}
	for _, r := range motion {
		if r.Overlaps(z.box) {
			moving = true
			break
		}
	}
	if d >= t.ZoneDiff {
		z.matchSince, z.clearSince = time.Time{}, time.Time{}
		if moving || z.differSince.IsZero() {
			z.differSince = now // the hold counts from when things settle
		}
		if !z.changed && now.Sub(z.differSince) >= hold {
			z.changed = true
			return Raised, d
		}
		return NoChange, d
	}
	z.differSince = time.Time{}
	if z.matchSince.IsZero() {
		z.matchSince = now
	}
	if !z.changed {
		return NoChange, d
	}
	// A person over the change hides it from the comparison (their box is
	// left out): zone_changed is not cleared while anyone is in the zone,
	// something moves there, or the zone differs with their pixels counted,
	// else each visit would end the incident and raise a new one when they
	// leave.
	full := d
	if len(people) > 0 {
		full = z.Diff(gray)
	}
	if moving || full >= t.ZoneDiff {
		z.clearSince = time.Time{}
		return NoChange, d
	}
	if z.clearSince.IsZero() {
		z.clearSince = now
	}
	if now.Sub(z.clearSince) >= hold {
		z.changed, z.clearSince = false, time.Time{}
		return Cleared, d
	}
	return NoChange, d
}

// Close frees the zone.
func (z *Zone) Close() {
	z.mask.Close()
	if z.hasRef {
		z.ref.Close()
	}
}
