package detect

import (
	"image"
	"image/color"
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

	mask   gocv.Mat
	box    image.Rectangle
	ref    gocv.Mat
	hasRef bool // a zero Mat must not be touched
	diff   gocv.Mat

	changed     bool      // zone_changed is up
	differSince time.Time // zero while it matches
	matchSince  time.Time // zero while it differs
}

// NewZone makes the configured zone (its polygon in 0–1 picture
// coordinates) for pictures of size.
func NewZone(cz configs.Zone, size image.Point) *Zone {
	pts := make([]image.Point, len(cz.Polygon))
	for i, p := range cz.Polygon {
		pts[i] = image.Pt(int(p.X*float64(size.X)+0.5), int(p.Y*float64(size.Y)+0.5))
	}
	z := &Zone{Name: cz.Name, Kind: cz.Kind, mask: gocv.NewMatWithSize(size.Y, size.X, gocv.MatTypeCV8UC1), diff: gocv.NewMat()}
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
	z.changed, z.differSince, z.matchSince = false, time.Time{}, time.Time{}
}

// Diff is the mean luma difference from the reference inside the zone.
func (z *Zone) Diff(gray gocv.Mat) float64 {
	if !z.hasRef {
		return 0
	}
	gocv.AbsDiff(gray, z.ref, &z.diff)
	return z.diff.MeanWithMask(z.mask).Val1
}

// Changed reports whether zone_changed is up.
func (z *Zone) Changed() bool { return z.changed }

// Update judges gray at now: the zone must differ from its reference for
// ZoneHold with no motion in it to raise (someone walking through is not
// a change), and match it for ZoneHold to clear.
func (z *Zone) Update(gray gocv.Mat, motion []image.Rectangle, now time.Time, t Thresholds) (Change, float64) {
	d := z.Diff(gray)
	if !z.hasRef {
		return NoChange, d
	}
	moving := false
	for _, r := range motion {
		if r.Overlaps(z.box) {
			moving = true
			break
		}
	}
	if d >= t.ZoneDiff {
		z.matchSince = time.Time{}
		if moving || z.differSince.IsZero() {
			z.differSince = now // the hold counts from when things settle
		}
		if !z.changed && now.Sub(z.differSince) >= t.ZoneHold {
			z.changed = true
			return Raised, d
		}
		return NoChange, d
	}
	z.differSince = time.Time{}
	if z.matchSince.IsZero() {
		z.matchSince = now
	}
	if z.changed && now.Sub(z.matchSince) >= t.ZoneHold {
		z.changed = false
		return Cleared, d
	}
	return NoChange, d
}

// Close frees the zone.
func (z *Zone) Close() {
	z.mask.Close()
	z.diff.Close()
	if z.hasRef {
		z.ref.Close()
	}
}
