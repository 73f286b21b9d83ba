package detect

import (
	"image"
	"math"
)

// look is how a tracked person looked: the mean luma of a grid of cells
// over the person inside the detector's box. The tracker compares it with
// the same place later to tell someone standing still, whom the detector
// misses as often as it finds, from a place they left unseen.
type look struct {
	box   image.Rectangle // where, in picture pixels: the detector's box
	cells [lookCols * lookRows]float64
	ok    bool
}

// The grid: fine enough to tell a person from the street behind them,
// coarse enough that a sway or a box a few pixels off still matches.
const (
	lookCols = 6
	lookRows = 12
)

// lookAlike is the lowest correlation of two looks of the same person
// standing still (a sway, compression). The street behind someone who left
// can correlate fairly well with them (0.66 measured: a walker against a
// doorway's frame, the outline of a dark door), hence the high bar.
// Correlation ignores the light's slow changes (a gain and an offset).
const lookAlike = 0.8

// lookOf samples img's luma inside box: the person in the detector's box,
// which has a margin of an eighth of its height and a quarter of its width
// on each side.
func lookOf(img *image.YCbCr, box image.Rectangle) look {
	r := image.Rect(box.Min.X+box.Dx()/4, box.Min.Y+box.Dy()/8, box.Max.X-box.Dx()/4, box.Max.Y-box.Dy()/8).Intersect(img.Rect)
	l := look{box: box}
	if r.Dx() < lookCols || r.Dy() < lookRows {
		return l
	}
	// up to 4x4 samples a cell: a few hundred pixel reads a track
	for cy := range lookRows {
		y0, y1 := r.Min.Y+cy*r.Dy()/lookRows, r.Min.Y+(cy+1)*r.Dy()/lookRows
		sy := max(1, (y1-y0)/4)
		for cx := range lookCols {
			x0, x1 := r.Min.X+cx*r.Dx()/lookCols, r.Min.X+(cx+1)*r.Dx()/lookCols
			sx := max(1, (x1-x0)/4)
			sum, n := 0, 0
			for y := y0; y < y1; y += sy {
				row := (y - img.Rect.Min.Y) * img.YStride
				for x := x0; x < x1; x += sx {
					sum += int(img.Y[row+x-img.Rect.Min.X])
					n++
				}
			}
			l.cells[cy*lookCols+cx] = float64(sum) / float64(n)
		}
	}
	l.ok = true
	return l
}

// alike reports whether o is the same look as l: correlated at least
// lookAlike, and with a contrast within a factor of two of l's (a plain
// wall correlates by chance with anything).
func (l look) alike(o look) bool {
	if !l.ok || !o.ok {
		return false
	}
	c, sl, so := correlation(l.cells[:], o.cells[:])
	return c >= lookAlike && so >= sl/2 && so <= 2*sl
}

// correlation returns the Pearson correlation of a and b (same length)
// and their standard deviations.
func correlation(a, b []float64) (c, sa, sb float64) {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var ab, aa, bb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		ab += da * db
		aa += da * da
		bb += db * db
	}
	sa, sb = math.Sqrt(aa/float64(len(a))), math.Sqrt(bb/float64(len(b)))
	if aa == 0 || bb == 0 {
		return 0, sa, sb
	}
	return ab / math.Sqrt(aa*bb), sa, sb
}
