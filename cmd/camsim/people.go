package main

import (
	"embed"
	"fmt"
	"image"
	"image/png"
	"math"
	"sync"
	"time"

	"golang.org/x/image/draw"

	"qianliyan/internal/scene"
)

// people holds the cut-outs of real people that scripted scenes walk over
// the street: eight steps of a walk each, cut out of the pedestrian clip
// that Debian's opencv-doc ships (see internal/peoplecut).
//
//go:embed people/*.png
var people embed.FS

// walkerSteps is how many cut-outs each walker has, one per step of a walk.
const walkerSteps = 8

// stepTime is how long each step shows while walking: the cut-outs are
// two frames apart in a 10 fps clip.
const stepTime = 200 * time.Millisecond

var walkers = struct {
	once sync.Once
	imgs map[string][]*image.NRGBA
	err  error
}{}

// walkerImages loads the cut-outs once.
func walkerImages() (map[string][]*image.NRGBA, error) {
	walkers.once.Do(func() {
		walkers.imgs = map[string][]*image.NRGBA{}
		for _, name := range scene.Walkers {
			for i := range walkerSteps {
				f, err := people.Open(fmt.Sprintf("people/%s%d.png", name, i))
				if err != nil {
					walkers.err = err
					return
				}
				img, err := png.Decode(f)
				f.Close()
				if err != nil {
					walkers.err = fmt.Errorf("people/%s%d.png: %w", name, i, err)
					return
				}
				n := image.NewNRGBA(img.Bounds())
				draw.Draw(n, n.Rect, img, img.Bounds().Min, draw.Src)
				walkers.imgs[name] = append(walkers.imgs[name], n)
			}
		}
	})
	return walkers.imgs, walkers.err
}

// drawPeople composites the script's people at t.
func (s *Scene) drawPeople(img *image.RGBA, t time.Duration) {
	imgs, err := walkerImages()
	if err != nil {
		return // checked when the scene was loaded
	}
	for i := range s.script.People {
		p := &s.script.People[i]
		x, y, walking, there := p.Person(t)
		if !there {
			continue
		}
		step := 0
		if walking {
			step = int(t/stepTime) % walkerSteps
		}
		src := imgs[p.Walker][step]
		h := p.PersonHeight(y, s.Height)
		w := h * src.Rect.Dx() / src.Rect.Dy()
		// The cut-outs walk to the left; going right, they are mirrored.
		to := p.To
		if walking && t-p.Start >= p.Walk && p.Leave != nil {
			to = *p.Leave
		}
		from := p.From
		if t-p.Start >= p.Walk {
			from = p.To
		}
		mirror := to[0] > from[0]
		fx, fy := int(x*float64(s.Width)), int(y*float64(s.Height))
		dst := image.Rect(fx-w/2, fy-h, fx-w/2+w, fy)
		scaled := image.NewNRGBA(image.Rect(0, 0, dst.Dx(), dst.Dy()))
		draw.ApproxBiLinear.Scale(scaled, scaled.Rect, src, src.Rect, draw.Src, nil)
		if s.script.Shadow != nil {
			shadow(img, scaled, dst, mirror, *s.script.Shadow)
		}
		composite(img, scaled, dst, mirror)
	}
}

// shadow darkens the ground where the person's silhouette falls, behind
// them: the point of the cut-out k pixels above the feet lands k*Length
// pixels above the feet in the picture, shifted k*Slant pixels sideways.
func shadow(img *image.RGBA, scaled *image.NRGBA, dst image.Rectangle, mirror bool, sh scene.Shadow) {
	keep := 256 - int(sh.Darkness*256)
	rows := max(1, int(float64(dst.Dy())*sh.Length))
	for r := range rows {
		// the source row whose shadow lands on this picture row
		y := dst.Dy() - 1 - r*dst.Dy()/rows
		k := float64(dst.Dy() - 1 - y)
		py := dst.Max.Y - 1 - r
		if py < 0 || py >= img.Rect.Dy() {
			continue
		}
		shift := int(k * sh.Slant)
		for x := range dst.Dx() {
			sx := x
			if mirror {
				sx = dst.Dx() - 1 - x
			}
			if scaled.Pix[scaled.PixOffset(sx, y)+3] < 128 {
				continue
			}
			px := dst.Min.X + x + shift
			if px < 0 || px >= img.Rect.Dx() {
				continue
			}
			di := img.PixOffset(px, py)
			for c := range 3 {
				img.Pix[di+c] = uint8(int(img.Pix[di+c]) * keep >> 8)
			}
		}
	}
}

// composite lays scaled (already dst's size) at dst (picture coordinates),
// blending by its alpha.
func composite(img *image.RGBA, scaled *image.NRGBA, dst image.Rectangle, mirror bool) {
	for y := range dst.Dy() {
		py := dst.Min.Y + y
		if py < 0 || py >= img.Rect.Dy() {
			continue
		}
		for x := range dst.Dx() {
			sx := x
			if mirror {
				sx = dst.Dx() - 1 - x
			}
			px := dst.Min.X + x
			if px < 0 || px >= img.Rect.Dx() {
				continue
			}
			si := scaled.PixOffset(sx, y)
			a := int(scaled.Pix[si+3])
			if a == 0 {
				continue
			}
			di := img.PixOffset(px, py)
			for c := range 3 {
				img.Pix[di+c] = uint8((int(scaled.Pix[si+c])*a + int(img.Pix[di+c])*(255-a)) / 255)
			}
		}
	}
}

// light scales the brightness of the whole picture by the script's drift at t.
func (s *Scene) light(img *image.RGBA, t time.Duration) {
	l := s.script.Light
	if l.Amplitude == 0 {
		return
	}
	period := l.Period
	if period == 0 {
		period = time.Duration(s.Frames) * time.Second / time.Duration(s.FPS)
	}
	k := 1 + l.Amplitude*math.Sin(2*math.Pi*float64(t)/float64(period))
	var lut [256]uint8
	for i := range lut {
		lut[i] = uint8(min(255, float64(i)*k))
	}
	pix := img.Pix
	for i := 0; i < len(pix); i += 4 {
		pix[i], pix[i+1], pix[i+2] = lut[pix[i]], lut[pix[i+1]], lut[pix[i+2]]
	}
}
