package detect

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
	"time"
)

// TestThumbnailIsTheLastPictureSmall: a 1280x720 picture, red on the left
// and blue on the right, becomes a 320x180 JPEG of the same halves; a new
// picture replaces it; nothing before the first.
func TestThumbnailIsTheLastPictureSmall(t *testing.T) {
	var th thumbnail
	if _, _, err := th.get(); !errors.Is(err, ErrNoPicture) {
		t.Fatalf("before any picture: %v, want ErrNoPicture", err)
	}
	red, blue := color.RGBA{220, 20, 20, 255}, color.RGBA{20, 20, 220, 255}
	src := halves(1280, 720, red, blue)
	at := time.Unix(1700000000, 0)
	th.keep(src, at)
	b, got, err := th.get()
	if err != nil || !got.Equal(at) {
		t.Fatalf("thumbnail: %v at %v", err, got)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 320 || img.Bounds().Dy() != 180 {
		t.Errorf("thumbnail is %v, want 320x180", img.Bounds())
	}
	for _, c := range []struct {
		x    int
		want color.RGBA
	}{{40, red}, {280, blue}} {
		r, g, bl, _ := img.At(c.x, 90).RGBA()
		if d := absDiff(r>>8, c.want.R) + absDiff(g>>8, c.want.G) + absDiff(bl>>8, c.want.B); d > 60 {
			t.Errorf("pixel at x=%d is %d,%d,%d, want about %v", c.x, r>>8, g>>8, bl>>8, c.want)
		}
	}
	th.keep(halves(1280, 720, blue, red), at.Add(time.Second))
	b2, _, _ := th.get()
	if bytes.Equal(b, b2) {
		t.Error("a new picture left the old thumbnail")
	}
}

// TestEncodeJPEGOfAnySize: even sizes go through OpenCV, odd ones through
// image/jpeg; both come back the size and colours they were.
func TestEncodeJPEGOfAnySize(t *testing.T) {
	red, blue := color.RGBA{220, 20, 20, 255}, color.RGBA{20, 20, 220, 255}
	for _, size := range []image.Point{{1920, 1080}, {321, 181}} {
		b, err := EncodeJPEG(halves(size.X, size.Y, red, blue), 75)
		if err != nil {
			t.Fatalf("%v: %v", size, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Size() != size {
			t.Fatalf("%v: decodes to %v, %v", size, img, err)
		}
		for _, c := range []struct {
			x    int
			want color.RGBA
		}{{size.X / 8, red}, {size.X * 7 / 8, blue}} {
			r, g, bl, _ := img.At(c.x, size.Y/2).RGBA()
			if d := absDiff(r>>8, c.want.R) + absDiff(g>>8, c.want.G) + absDiff(bl>>8, c.want.B); d > 60 {
				t.Errorf("%v: pixel at x=%d is %d,%d,%d, want about %v", size, c.x, r>>8, g>>8, bl>>8, c.want)
			}
		}
	}
}

func absDiff(a uint32, b uint8) uint32 {
	if a > uint32(b) {
		return a - uint32(b)
	}
	return uint32(b) - a
}

// halves is a 4:2:0 picture of w x h, left half in one colour, right in another.
func halves(w, h int, left, right color.RGBA) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			c := left
			if x >= w/2 {
				c = right
			}
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			img.Y[img.YOffset(x, y)] = yy
			ci := img.COffset(x, y)
			img.Cb[ci], img.Cr[ci] = cb, cr
		}
	}
	return img
}

func BenchmarkThumbnail(b *testing.B) {
	src := halves(1280, 720, color.RGBA{200, 0, 0, 255}, color.RGBA{0, 0, 200, 255})
	var th thumbnail
	for b.Loop() {
		th.keep(src, time.Now())
		if _, _, err := th.get(); err != nil {
			b.Fatal(err)
		}
	}
}
