package detect

import (
	"image"

	"gocv.io/x/gocv"
)

// Motion finds moving regions with a MOG2 background model.
type Motion struct {
	mog     gocv.BackgroundSubtractorMOG2
	mask    gocv.Mat
	kernel  gocv.Mat
	minArea float64
}

// NewMotion returns a motion analyzer; Close frees it.
func NewMotion(t Thresholds) *Motion {
	return &Motion{
		mog:     gocv.NewBackgroundSubtractorMOG2WithParams(500, t.MotionVarThreshold, true),
		mask:    gocv.NewMat(),
		kernel:  gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(3, 3)),
		minArea: t.MotionMinArea,
	}
}

// Apply learns from gray and returns the regions that moved in it.
func (m *Motion) Apply(gray gocv.Mat) []image.Rectangle {
	m.mog.Apply(gray, &m.mask)
	// MOG2 marks shadows 127: they are not movement
	gocv.Threshold(m.mask, &m.mask, 200, 255, gocv.ThresholdBinary)
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
	m.kernel.Close()
}
