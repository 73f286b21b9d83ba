package detect

// #cgo CXXFLAGS: -std=c++17
// #cgo pkg-config: opencv4
// #include <stdlib.h>
// #include "hog.h"
import "C"

import (
	"errors"
	"image"
	"slices"
	"unsafe"
)

// Person is someone the people detector found: a box in full picture
// coordinates and the detector's score (higher is surer; 0 is its border).
type Person struct {
	Box   image.Rectangle
	Score float64
}

// Foot is where the person stands: the middle of the box's bottom edge,
// less the detector's margin (its window is an eighth taller than the person
// at each end). A person is in a zone when their feet are.
func (p Person) Foot() image.Point {
	return image.Pt((p.Box.Min.X+p.Box.Max.X)/2, p.Box.Max.Y-p.Box.Dy()/8)
}

// People finds people with OpenCV's HOG people detector (Dalal and Triggs),
// only where something moved or where someone was last seen, so a quiet
// camera costs nothing. It is not safe for concurrent use.
type People struct {
	minPx  int // the people looked for, pixels tall (SetSizes)
	maxPx  int
	h      *C.qly_hog
	boxes  [4 * maxPeople]C.int
	scores [maxPeople]C.double
}

// maxPeople caps what one region may report.
const maxPeople = 16

// maxRegions caps the regions searched per picture, largest first, so a
// busy scene (rain, a crowd) has a bounded cost.
const maxRegions = 6

// personHeight is the height in pixels the detector sees people best at:
// its window is 64x128 with the person about 96 pixels tall inside.
const personHeight = 100

// NewPeople returns a people detector; Close frees it.
func NewPeople() (*People, error) {
	h := C.qly_hog_new()
	if h == nil {
		return nil, errors.New("the HOG people detector could not be made")
	}
	th := DefaultThresholds()
	return &People{h: h, minPx: th.PersonMinPx, maxPx: th.PersonMaxPx}, nil
}

// SetSizes sets the heights in pixels of the smallest and the largest
// person looked for (DefaultThresholds' until then): each region is scaled
// so that the detector's window, made for people about 96 pixels tall, fits
// someone of that size, up for small people and down for large ones.
func (p *People) SetSizes(minPx, maxPx int) {
	if minPx > 0 && maxPx > minPx {
		p.minPx, p.maxPx = minPx, maxPx
	}
}

// height is how tall the person moving in r probably is: the region's
// height, or twice its width if only part of someone moved (an arm, the
// legs), but not a wide region's (a group walking side by side), within
// the sizes looked for.
func (p *People) height(r image.Rectangle) int {
	h := r.Dy()
	if r.Dx() <= r.Dy() {
		h = max(h, 2*r.Dx())
	}
	return min(max(h, p.minPx), p.maxPx)
}

// Close frees the detector.
func (p *People) Close() {
	if p.h != nil {
		C.qly_hog_free(p.h)
		p.h = nil
	}
}

// Find looks for people in regions of img (full picture coordinates, each
// about the size of one person or group) and returns those scoring at least
// minScore, best first, with overlapping finds merged.
func (p *People) Find(img *image.YCbCr, regions []image.Rectangle, minScore float64) []Person {
	merged := mergePieces(regions)
	if len(merged) > maxRegions {
		slices.SortFunc(merged, func(a, b region) int { return area(b.box) - area(a.box) })
		merged = merged[:maxRegions]
	}
	bounds := image.Rect(0, 0, img.Rect.Dx(), img.Rect.Dy())
	var out []Person
	for _, m := range merged {
		// A person is at least twice as tall as wide; search a window
		// with room around them.
		r := m.box
		h := p.height(r)
		if r.Dx() > r.Dy() && m.piece < r.Dy() {
			// People side by side (a group): the union of their motion
			// is as tall as the nearest one's feet and the furthest
			// one's head; scaled for that, the detector would see each
			// of them smaller than its window and find nobody. Each is
			// about as tall as the tallest piece that moved, a little
			// less (the motion of a walker spans a step).
			h = min(max(5*m.piece/6, p.minPx), p.maxPx)
		}
		pad := h / 4
		win := image.Rect(r.Min.X-pad-max(0, h/2-r.Dx())/2, r.Min.Y-pad, r.Max.X+pad+max(0, h/2-r.Dx())/2, r.Max.Y+pad).Intersect(bounds)
		found := p.search(img, win, float64(personHeight)/float64(h), minScore)
		if len(found) == 0 {
			// Only part of someone moved (the legs, an arm): look again in
			// a window three times as tall around it, scaled for a person
			// up to about twice its height (the detector scales down from
			// there, not up).
			c := (r.Min.Y + r.Max.Y) / 2
			win = image.Rect(win.Min.X-h/2, c-3*h/2-pad, win.Max.X+h/2, c+3*h/2+pad).Intersect(bounds)
			found = p.search(img, win, float64(personHeight)/float64(min(3*h/2, p.maxPx)), minScore)
		}
		for _, f := range found {
			// the box is a third taller than the person in it
			if tall := 3 * f.Box.Dy() / 4; 4*tall >= 3*p.minPx && 2*tall <= 3*p.maxPx {
				out = append(out, f)
			}
		}
	}
	return suppress(out)
}

// search runs the detector over one window of img scaled by scale.
func (p *People) search(img *image.YCbCr, win image.Rectangle, scale, minScore float64) []Person {
	if win.Dx() < 8 || win.Dy() < 16 {
		return nil
	}
	n := C.qly_hog_find(p.h, (*C.uint8_t)(unsafe.Pointer(&img.Y[0])), C.int(img.Rect.Dx()), C.int(img.Rect.Dy()), C.int(img.YStride),
		C.int(win.Min.X), C.int(win.Min.Y), C.int(win.Dx()), C.int(win.Dy()), C.double(scale), 0,
		&p.boxes[0], &p.scores[0], maxPeople)
	var out []Person
	for i := range int(n) {
		b := image.Rect(int(p.boxes[4*i]), int(p.boxes[4*i+1]), int(p.boxes[4*i]+p.boxes[4*i+2]), int(p.boxes[4*i+1]+p.boxes[4*i+3]))
		if s := float64(p.scores[i]); s >= minScore {
			out = append(out, Person{Box: b.Intersect(img.Rect), Score: s})
		}
	}
	return out
}

// region is a box of merged motion and the height of the tallest piece
// in it.
type region struct {
	box   image.Rectangle
	piece int
}

// mergeRegions joins regions that touch or nearly touch: a walking person's
// motion often comes as separate pieces (head, arms, legs).
func mergeRegions(rs []image.Rectangle) []image.Rectangle {
	var out []image.Rectangle
	for _, r := range mergePieces(rs) {
		out = append(out, r.box)
	}
	return out
}

// mergePieces is mergeRegions keeping the tallest piece of each.
func mergePieces(rs []image.Rectangle) []region {
	out := make([]region, len(rs))
	for i, r := range rs {
		out[i] = region{r, r.Dy()}
	}
	for merged := true; merged; {
		merged = false
		for i := 0; i < len(out); i++ {
			for j := i + 1; j < len(out); j++ {
				gap := max(out[i].box.Dy(), out[j].box.Dy()) / 4
				if out[i].box.Inset(-gap).Overlaps(out[j].box) {
					out[i] = region{out[i].box.Union(out[j].box), max(out[i].piece, out[j].piece)}
					out = slices.Delete(out, j, j+1)
					merged = true
					j--
				}
			}
		}
	}
	return out
}

// suppress keeps the best of finds that overlap by more than half of the
// smaller one: two regions can see the same person.
func suppress(ps []Person) []Person {
	slices.SortFunc(ps, func(a, b Person) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	var out []Person
	for _, p := range ps {
		dup := false
		for _, q := range out {
			if 2*area(p.Box.Intersect(q.Box)) > min(area(p.Box), area(q.Box)) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, p)
		}
	}
	return out
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }
