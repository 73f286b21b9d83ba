// Command peoplecut cuts walking people out of vtest.avi, the pedestrian clip
// that Debian's opencv-doc package ships, and writes them as PNG images with an
// alpha mask for camsim's scripted scenes (cmd/camsim/people). camsim
// composites them over its street so that a real person detector finds real
// people, not stick figures.
//
// The clip is filmed from a fixed camera, so the background is the per-pixel
// median of frames spread over the clip; a person is a blob that differs from
// it. One person is followed over consecutive frames (nearest blob of a
// similar size) to get a short walk cycle.
//
//	apt-get install opencv-doc
//	go run ./internal/peoplecut -out cmd/camsim/people
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
	"path/filepath"
	"slices"

	"gocv.io/x/gocv"
)

const clipPath = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"

// walker is a person to follow: the frame and picture point where they are
// picked up, and how many frames of their walk to keep.
type walker struct {
	name  string
	frame int
	at    image.Point
	poses int
}

var walkers = []walker{
	{"b", 650, image.Pt(357, 443), 8},
	{"c", 50, image.Pt(691, 316), 8},
	{"d", 250, image.Pt(618, 305), 8},
}

func main() {
	src := flag.String("in", clipPath, "the pedestrian clip")
	out := flag.String("out", "cmd/camsim/people", "folder for the PNG cut-outs")
	list := flag.Bool("list", false, "print the person blobs of each 50th frame and stop")
	flag.Parse()
	frames, err := readFrames(*src)
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		for _, f := range frames {
			f.Close()
		}
	}()
	bg := median(frames)
	defer bg.Close()
	if *list {
		for i := 0; i < len(frames); i += 50 {
			fmt.Println(i, blobs(frames[i], bg))
		}
		return
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for _, w := range walkers {
		at := w.at
		var size image.Point
		n := w.frame
		for k := range w.poses {
			// A blob can merge with another for a frame or two: look a few
			// frames further before giving up.
			var box image.Rectangle
			ok := false
			for tries := 0; !ok && tries < 8 && n < len(frames); tries++ {
				box, ok = nearest(blobs(frames[n], bg), at, size)
				if !ok {
					n++
				}
			}
			if !ok {
				log.Fatalf("walker %s: lost at frame %d near %v", w.name, n, at)
			}
			at = center(box)
			size = box.Size()
			img := cutout(frames[n], bg, box)
			name := filepath.Join(*out, fmt.Sprintf("%s%d.png", w.name, k))
			if err := writePNG(name, img); err != nil {
				log.Fatal(err)
			}
			fmt.Println(name, n, box)
			n += 2
		}
	}
}

func readFrames(path string) ([]gocv.Mat, error) {
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (install opencv-doc)", path, err)
	}
	defer vc.Close()
	var frames []gocv.Mat
	for {
		m := gocv.NewMat()
		if !vc.Read(&m) || m.Empty() {
			m.Close()
			break
		}
		frames = append(frames, m)
	}
	if len(frames) < 200 {
		return nil, fmt.Errorf("%s: only %d frames", path, len(frames))
	}
	return frames, nil
}

// median is the per-pixel median of 31 frames spread over the clip.
func median(frames []gocv.Mat) gocv.Mat {
	const n = 31
	var pix [][]byte
	for i := range n {
		b, _ := frames[i*(len(frames)-1)/(n-1)].DataPtrUint8()
		pix = append(pix, b)
	}
	out := gocv.NewMatWithSize(frames[0].Rows(), frames[0].Cols(), frames[0].Type())
	dst, _ := out.DataPtrUint8()
	var v [n]byte
	for p := range dst {
		for i := range n {
			v[i] = pix[i][p]
		}
		s := v
		slices.Sort(s[:])
		dst[p] = s[n/2]
	}
	return out
}

// mask is 255 where the frame differs from the background, cleaned of specks.
func mask(frame, bg gocv.Mat) gocv.Mat {
	diff := gocv.NewMat()
	defer diff.Close()
	gocv.AbsDiff(frame, bg, &diff)
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(diff, &gray, gocv.ColorBGRToGray)
	m := gocv.NewMat()
	gocv.Threshold(gray, &m, 28, 255, gocv.ThresholdBinary)
	k := gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(5, 5))
	defer k.Close()
	gocv.MorphologyEx(m, &m, gocv.MorphOpen, k)
	gocv.MorphologyEx(m, &m, gocv.MorphClose, k)
	return m
}

// blobs are the boxes of person-shaped regions that differ from the background.
func blobs(frame, bg gocv.Mat) []image.Rectangle {
	m := mask(frame, bg)
	defer m.Close()
	cs := gocv.FindContours(m, gocv.RetrievalExternal, gocv.ChainApproxSimple)
	defer cs.Close()
	var out []image.Rectangle
	for i := range cs.Size() {
		r := gocv.BoundingRect(cs.At(i))
		if r.Dy() < 50 || r.Dy() > 160 || r.Dy() < 2*r.Dx() || r.Dy() > 5*r.Dx() {
			continue
		}
		out = append(out, r)
	}
	return out
}

func center(r image.Rectangle) image.Point {
	return image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
}

// nearest picks the blob closest to at, of a size close to size when size is known.
func nearest(boxes []image.Rectangle, at, size image.Point) (image.Rectangle, bool) {
	best, bestD := image.Rectangle{}, 40*40
	for _, b := range boxes {
		c := center(b)
		d := (c.X-at.X)*(c.X-at.X) + (c.Y-at.Y)*(c.Y-at.Y)
		if size != (image.Point{}) && (b.Dy() < size.Y*3/4 || b.Dy() > size.Y*4/3) {
			continue
		}
		if d < bestD {
			best, bestD = b, d
		}
	}
	return best, best != image.Rectangle{}
}

// cutout copies the box (with a margin) from the frame, with the person's mask
// as alpha, softened at the edge.
func cutout(frame, bg gocv.Mat, box image.Rectangle) *image.NRGBA {
	box = box.Inset(-4).Intersect(image.Rect(0, 0, frame.Cols(), frame.Rows()))
	m := mask(frame, bg)
	defer m.Close()
	k := gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(3, 3))
	defer k.Close()
	gocv.Dilate(m, &m, k)
	gocv.GaussianBlur(m, &m, image.Pt(3, 3), 0, 0, gocv.BorderDefault)
	img := image.NewNRGBA(image.Rect(0, 0, box.Dx(), box.Dy()))
	for y := range box.Dy() {
		for x := range box.Dx() {
			fx, fy := box.Min.X+x, box.Min.Y+y
			v := frame.GetVecbAt(fy, fx)
			img.SetNRGBA(x, y, color.NRGBA{v[2], v[1], v[0], m.GetUCharAt(fy, fx)})
		}
	}
	return img
}

func writePNG(name string, img image.Image) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
