package detect

import (
	"bytes"
	"image"
	"image/jpeg"
	"sync"
	"time"

	"gocv.io/x/gocv"
)

// thumbWidth is the width of a camera's thumbnail: the wall's overview puts
// 128 cameras on a 1920x1080 screen at about 120 px each, and a 4K wall at
// twice that.
const thumbWidth = 320

// thumbnail is a camera's last analysed picture, shrunk, for the wall's
// overview of every camera. It is made from what detection decodes anyway
// (a key frame per GOP on a calm camera), so an overview of 128 cameras
// costs no decoding; the JPEG is made on the first request for a picture
// and kept until the next.
type thumbnail struct {
	mu   sync.Mutex
	img  *image.YCbCr // reused from picture to picture
	at   time.Time
	jpeg []byte
}

// keep takes the analysed picture src at at.
func (th *thumbnail) keep(src *image.YCbCr, at time.Time) {
	w := min(thumbWidth, src.Rect.Dx())
	h := max(2, src.Rect.Dy()*w/max(1, src.Rect.Dx())) &^ 1
	th.mu.Lock()
	defer th.mu.Unlock()
	if th.img == nil || th.img.Rect.Dx() != w || th.img.Rect.Dy() != h {
		th.img = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	}
	shrink(th.img, src)
	th.at, th.jpeg = at, nil
}

// get returns the thumbnail as a JPEG and when its picture was analysed;
// ErrNoPicture before the first.
func (th *thumbnail) get() ([]byte, time.Time, error) {
	th.mu.Lock()
	defer th.mu.Unlock()
	if th.img == nil {
		return nil, time.Time{}, ErrNoPicture
	}
	if th.jpeg == nil {
		b, err := EncodeJPEG(th.img, 70)
		if err != nil {
			return nil, time.Time{}, err
		}
		th.jpeg = b
	}
	return th.jpeg, th.at, nil
}

// shrink samples src into dst (4:2:0) by nearest neighbour: a thumbnail
// needs no better, and it costs a few hundred microseconds.
func shrink(dst, src *image.YCbCr) {
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	for y := range dh {
		sy := src.Rect.Min.Y + y*sh/dh
		row := dst.Y[y*dst.YStride:]
		for x := range dw {
			row[x] = src.Y[src.YOffset(src.Rect.Min.X+x*sw/dw, sy)]
		}
	}
	for y := range dh / 2 {
		sy := src.Rect.Min.Y + (2*y)*sh/dh
		for x := range dw / 2 {
			ci := src.COffset(src.Rect.Min.X+(2*x)*sw/dw, sy)
			di := y*dst.CStride + x
			dst.Cb[di], dst.Cr[di] = src.Cb[ci], src.Cr[ci]
		}
	}
}

// ThumbJPEG is src shrunk to the overview's width as a JPEG, as a
// watcher's Thumbnail makes it: for a camera detection does not watch.
func ThumbJPEG(src *image.YCbCr) ([]byte, error) {
	var th thumbnail
	th.keep(src, time.Time{})
	b, _, err := th.get()
	return b, err
}

// EncodeJPEG encodes a 4:2:0 picture at quality (1–100) with OpenCV's
// libjpeg-turbo: seven times as fast as image/jpeg here (0.27 against
// 1.9 ms for a 320x180 thumbnail), which the overview of 128 cameras pays
// on each refresh. A picture of odd size goes through image/jpeg.
func EncodeJPEG(img *image.YCbCr, quality int) ([]byte, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w%2 != 0 || h%2 != 0 || img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		var b bytes.Buffer
		err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality})
		return b.Bytes(), err
	}
	// I420: the Y rows, then the Cb rows, then the Cr rows, packed
	planes := make([]byte, 0, w*h*3/2)
	for y := range h {
		i := img.YOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
		planes = append(planes, img.Y[i:i+w]...)
	}
	for _, c := range [][]byte{img.Cb, img.Cr} {
		for y := 0; y < h; y += 2 {
			i := img.COffset(img.Rect.Min.X, img.Rect.Min.Y+y)
			planes = append(planes, c[i:i+w/2]...)
		}
	}
	yuv, err := gocv.NewMatFromBytes(h*3/2, w, gocv.MatTypeCV8UC1, planes)
	if err != nil {
		return nil, err
	}
	defer yuv.Close()
	bgr := gocv.NewMat()
	defer bgr.Close()
	gocv.CvtColor(yuv, &bgr, gocv.ColorYUVToBGRIYUV)
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, bgr, []int{gocv.IMWriteJpegQuality, quality})
	if err != nil {
		return nil, err
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes()), nil
}
