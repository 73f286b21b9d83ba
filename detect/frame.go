package detect

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// AnalysisSize is the picture size analyzers work at: small enough for
// 128 cameras on a few cores, large enough for a bin or a person.
var AnalysisSize = image.Pt(320, 180)

// Gray returns the luma of img scaled to size as an 8-bit Mat; the
// caller closes it. Luma needs no color conversion: it is the Y plane.
func Gray(img *image.YCbCr, size image.Point) (gocv.Mat, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	y := img.Y
	if img.YStride != w {
		y = make([]byte, w*h)
		for r := range h {
			copy(y[r*w:(r+1)*w], img.Y[r*img.YStride:r*img.YStride+w])
		}
	}
	full, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC1, y)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("luma plane: %w", err)
	}
	defer full.Close()
	out := gocv.NewMat()
	gocv.Resize(full, &out, size, 0, 0, gocv.InterpolationArea)
	return out, nil
}
