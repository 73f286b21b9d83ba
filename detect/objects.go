package detect

// #include <stdlib.h>
// #include "dnn.h"
import "C"

import (
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// Object is something an object detector found: its class (the model's
// numbering), its box in picture pixels and its score (0–1).
type Object struct {
	Class int             `json:"class"`
	Box   image.Rectangle `json:"box"`
	Score float64         `json:"score"`
}

// ObjectDetector runs a detection model through OpenCV's DNN module, when
// one is configured: ONNX (model.onnx) or Darknet (model.weights with its
// .cfg). No model ships with the bridge. It reads the two common output
// layouts: SSD's [1, 1, N, 7] rows of (image, class, score, x1, y1, x2, y2)
// in 0–1 coordinates, and YOLO's [1, N, 5+classes] rows of (cx, cy, w, h,
// objectness, class scores...) in input pixels. It is not safe for
// concurrent use.
type ObjectDetector struct {
	d    *C.qly_dnn
	size int // the model's square input, pixels
	dims [8]C.int
	err  [512]C.char
}

// LoadObjectDetector loads the model at path (config: the Darknet .cfg,
// else ""), which takes size×size pictures.
func LoadObjectDetector(path, config string, size int) (*ObjectDetector, error) {
	if size < 8 || size > 4096 {
		return nil, fmt.Errorf("object model input size %d: want 8 to 4096 pixels", size)
	}
	for _, f := range []string{path, config} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("object model: %w", err)
		}
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".onnx" && !(ext == ".weights" && config != "") {
		return nil, fmt.Errorf("object model %s: want an .onnx file, or Darknet .weights with its .cfg", path)
	}
	o := &ObjectDetector{size: size}
	cpath, cconf := C.CString(path), C.CString(config)
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(cconf))
	o.d = C.qly_dnn_load(cpath, cconf, &o.err[0], C.int(len(o.err)))
	if o.d == nil {
		return nil, fmt.Errorf("object model %s: OpenCV could not load it: %s", path, firstLine(C.GoString(&o.err[0])))
	}
	return o, nil
}

// firstLine keeps the gist of OpenCV's multi-line exception text.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "error: "); i >= 0 {
		s = s[i+len("error: "):]
	}
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Close frees the model.
func (o *ObjectDetector) Close() {
	if o.d != nil {
		C.qly_dnn_free(o.d)
		o.d = nil
	}
}

// Detect runs the model over img and returns what scores at least
// minScore.
func (o *ObjectDetector) Detect(img *image.YCbCr, minScore float64) ([]Object, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	pix := i420(img)
	var ndims, count C.int
	p := C.qly_dnn_run(o.d, (*C.uint8_t)(unsafe.Pointer(&pix[0])), C.int(w), C.int(h), C.int(o.size),
		&o.dims[0], &ndims, &count, &o.err[0], C.int(len(o.err)))
	if p == nil {
		return nil, fmt.Errorf("object model: %s", firstLine(C.GoString(&o.err[0])))
	}
	shape := make([]int, int(ndims))
	for i := range shape {
		shape[i] = int(o.dims[i])
	}
	data := unsafe.Slice((*float32)(unsafe.Pointer(p)), int(count))
	return parseDetections(shape, data, w, h, o.size, minScore)
}

// SharedObjects is one object detector shared by every camera's watcher,
// one picture at a time, and what of its output counts as a person.
type SharedObjects struct {
	mu     sync.Mutex
	det    *ObjectDetector
	person int     // the model's class number of people
	score  float64 // the lowest score that counts
}

// NewSharedObjects shares det; person is the model's class of people
// (0 for COCO-trained YOLO, 1 for COCO-trained SSD), score the lowest
// score that counts.
func NewSharedObjects(det *ObjectDetector, person int, score float64) *SharedObjects {
	return &SharedObjects{det: det, person: person, score: score}
}

// People returns the people the model finds in img, best first.
func (s *SharedObjects) People(img *image.YCbCr) ([]Person, error) {
	s.mu.Lock()
	objs, err := s.det.Detect(img, s.score)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var out []Person
	for _, o := range objs {
		if o.Class == s.person {
			out = append(out, Person{Box: o.Box, Score: o.Score})
		}
	}
	return suppress(out), nil
}

// i420 packs img's planes one after the other, as OpenCV's I420 wants.
func i420(img *image.YCbCr) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := make([]byte, 0, w*h*3/2)
	for y := range h {
		out = append(out, img.Y[y*img.YStride:y*img.YStride+w]...)
	}
	for _, p := range [][]byte{img.Cb, img.Cr} {
		for y := range h / 2 {
			out = append(out, p[y*img.CStride:y*img.CStride+w/2]...)
		}
	}
	return out
}

// parseDetections reads a model's output (shape and data) into objects in
// picture pixels (w×h); input is the model's input size.
func parseDetections(shape []int, data []float32, w, h, input int, minScore float64) ([]Object, error) {
	n := 1
	for _, s := range shape {
		n *= s
	}
	if len(shape) < 2 || n != len(data) {
		return nil, fmt.Errorf("object model output of shape %v (%d values): want [1, 1, N, 7] or [1, N, 5+classes]", shape, len(data))
	}
	row := shape[len(shape)-1]
	var out []Object
	clip := func(r image.Rectangle) image.Rectangle { return r.Intersect(image.Rect(0, 0, w, h)) }
	switch {
	case len(shape) == 4 && row == 7: // SSD
		for i := 0; i+7 <= len(data); i += 7 {
			r := data[i : i+7]
			if float64(r[2]) < minScore {
				continue
			}
			box := image.Rect(int(r[3]*float32(w)), int(r[4]*float32(h)), int(r[5]*float32(w)), int(r[6]*float32(h)))
			out = append(out, Object{Class: int(r[1]), Box: clip(box), Score: float64(r[2])})
		}
	case len(shape) <= 3 && row > 5: // YOLO
		sx, sy := float32(w)/float32(input), float32(h)/float32(input)
		for i := 0; i+row <= len(data); i += row {
			r := data[i : i+row]
			best, cls := float32(0), 0
			for c, s := range r[5:] {
				if s > best {
					best, cls = s, c
				}
			}
			score := float64(r[4] * best)
			if score < minScore {
				continue
			}
			cx, cy, bw, bh := r[0]*sx, r[1]*sy, r[2]*sx, r[3]*sy
			box := image.Rect(int(cx-bw/2), int(cy-bh/2), int(cx+bw/2), int(cy+bh/2))
			out = append(out, Object{Class: cls, Box: clip(box), Score: score})
		}
	default:
		return nil, errors.New("object model output " + fmt.Sprint(shape) + ": want [1, 1, N, 7] (SSD) or [1, N, 5+classes] (YOLO)")
	}
	return out, nil
}
