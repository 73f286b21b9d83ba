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
	minArea float64
}

// frameDelta is the luma change between two analysed pictures that counts
// as movement: well above sensor noise and compression shimmer.
const frameDelta = 20

// NewMotion returns a motion analyzer; Close frees it.
func NewMotion(t Thresholds) *Motion {
	return &Motion{
		mog:     gocv.NewBackgroundSubtractorMOG2WithParams(500, t.MotionVarThreshold, true),
		mask:    gocv.NewMat(),
		prev:    gocv.NewMat(),
		delta:   gocv.NewMat(),
		kernel:  gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(3, 3)),
		minArea: t.MotionMinArea,
	}
}

// Apply learns from gray and returns the regions that moved in it.
func (m *Motion) Apply(gray gocv.Mat) []image.Rectangle {
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
	min := m.minArea * float64(gray.Rows()*gray.Cols())
	var out []image.Rectangle
	for i := range contours.Size() {
		c := contours.At(i)
		if gocv.ContourArea(c) >= min {
			out = append(out, gocv.BoundingRect(c))
		}
	}
	return out
}

// Close frees the model.
func (m *Motion) Close() {
	m.mog.Close()
	m.mask.Close()
	m.prev.Close()
	m.delta.Close()
	m.kernel.Close()
}
