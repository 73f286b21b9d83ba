package detect

import (
	"image"

	"gocv.io/x/gocv"
)

// Motion finds moving regions: pixels that MOG2's background model calls
// foreground and that also changed since the previous picture. MOG2 alone
// keeps calling a newly dropped object "foreground" until it learns it
// (minutes); the frame difference alone fires on noise and flicker.
type Motion struct {
	mog     gocv.BackgroundSubtractorMOG2
	mask    gocv.Mat
	prev    gocv.Mat
	hasPrev bool
	delta   gocv.Mat
	kernel  gocv.Mat
	minPx   int // the smallest person, pixels tall in the decoded picture
	maxPx   int
}

// frameDelta is the luma change between two analysed pictures that counts
// as movement: well above sensor noise and compression shimmer.
const frameDelta = 20

// NewMotion returns a motion analyzer; Close frees it.
func NewMotion(t Thresholds) *Motion {
	return &Motion{
		mog:    gocv.NewBackgroundSubtractorMOG2WithParams(500, t.MotionVarThreshold, true),
		mask:   gocv.NewMat(),
		prev:   gocv.NewMat(),
		delta:  gocv.NewMat(),
		kernel: gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(3, 3)),
		minPx:  t.PersonMinPx,
		maxPx:  t.PersonMaxPx,
	}
}

// Apply learns from gray, the picture scaled down from one picHeight pixels
// tall, and returns the regions that moved in it and are large enough to be
// part of a person there (see MinArea).
func (m *Motion) Apply(gray gocv.Mat, picHeight int) []image.Rectangle {
	m.mog.Apply(gray, &m.mask)
	// MOG2 marks shadows 127: they are not movement
	gocv.Threshold(m.mask, &m.mask, 200, 255, gocv.ThresholdBinary)
	if m.hasPrev {
		gocv.AbsDiff(gray, m.prev, &m.delta)
		gocv.Threshold(m.delta, &m.delta, frameDelta, 255, gocv.ThresholdBinary)
		gocv.Dilate(m.delta, &m.delta, m.kernel)
		gocv.BitwiseAnd(m.mask, m.delta, &m.mask)
	}
	gray.CopyTo(&m.prev)
	m.hasPrev = true
	gocv.MorphologyEx(m.mask, &m.mask, gocv.MorphOpen, m.kernel)
	gocv.Dilate(m.mask, &m.mask, m.kernel)
	contours := gocv.FindContours(m.mask, gocv.RetrievalExternal, gocv.ChainApproxSimple)
	defer contours.Close()
	var out []image.Rectangle
	for i := range contours.Size() {
		c := contours.At(i)
		r := gocv.BoundingRect(c)
		if gocv.ContourArea(c) >= m.MinArea(r.Max.Y, gray.Rows(), picHeight) {
			out = append(out, r)
		}
	}
	return out
}

// movingShareOfPerson is the part of the smallest expected person's box
// that must move for a region to count: a walker's legs and arms, well
// above compression shimmer.
const movingShareOfPerson = 0.08

// minMotionArea is the floor of the gate in analysis pixels: below it
// everything is noise, whatever the sizes configured.
const minMotionArea = 4

// MinArea is the motion gate in analysis pixels for a region whose bottom
// is at row y of rows: a share of the box (half as wide as tall) of the
// smallest person expected there. Perspective: the smallest person is
// PersonMinPx tall at the top of the picture and twice that at the bottom
// (capped at PersonMaxPx), in the decoded picture of picHeight rows.
func (m *Motion) MinArea(y, rows, picHeight int) float64 {
	if rows <= 0 || picHeight <= 0 {
		return minMotionArea
	}
	y = min(max(y, 0), rows)
	h := float64(m.minPx) * (1 + float64(y)/float64(rows))
	if m.maxPx > 0 {
		h = min(h, float64(m.maxPx))
	}
	h *= float64(rows) / float64(picHeight) // to analysis pixels
	return max(minMotionArea, movingShareOfPerson*h*h/2)
}

// Close frees the model.
func (m *Motion) Close() {
	m.mog.Close()
	m.mask.Close()
	m.prev.Close()
	m.delta.Close()
	m.kernel.Close()
}
