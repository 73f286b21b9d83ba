package main

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Scene is one simulated street view: a static background (sky, buildings with
// windows, sidewalks, a road with lane markings, a trash bin) and things that move
// over it (a car on the road, a bird in the sky), plus an overlay with the camera
// label and a running clock. All motion repeats exactly after Frames frames, so
// the encoded loop has no visible seam.
//
// Draw keeps scratch buffers in the Scene: a Scene is not safe for concurrent use.
type Scene struct {
	// Label is drawn in the top-left corner, e.g. "CAM 03".
	Label string
	// Width and Height are the picture size in pixels.
	Width, Height int
	// FPS is the frame rate, used for the clock.
	FPS int
	// Frames is the length of the loop in frames.
	Frames int
	// Bin is where the trash bin stands, in picture coordinates.
	Bin image.Rectangle

	bg *image.RGBA

	laneTop, laneBottom [2]int // y range of each road lane
	carColor            color.RGBA
	carRightward        bool
	crossings           int // how many times the car crosses per loop
	birdColor           color.RGBA

	textScale int
	text      *image.RGBA // scratch: one line of text at 1x

	binColor color.RGBA
	script   *Script // nil: the plain looping street
}

// NewScene builds the scene of the given variant: colors and layout come from a
// generator seeded with the variant index, so each variant looks different and
// the same variant always looks the same.
func NewScene(variant, width, height, fps, frames int) *Scene {
	return newScene(variant, width, height, fps, frames, nil)
}

// NewScriptedScene builds the street of the script's variant with the
// script's timeline on it; frames should cover the script's length.
func NewScriptedScene(script *Script, width, height, fps, frames int) *Scene {
	s := newScene(script.Variant, width, height, fps, frames, script)
	s.Label = "SCENE " + strings.ToUpper(script.Name)
	return s
}

func newScene(variant, width, height, fps, frames int, script *Script) *Scene {
	rng := rand.New(rand.NewPCG(uint64(variant)+1, 0x9e3779b97f4a7c15))
	s := &Scene{
		script:    script,
		Label:     fmt.Sprintf("CAM %02d", variant+1),
		Width:     width,
		Height:    height,
		FPS:       fps,
		Frames:    frames,
		textScale: max(2, height/240),
	}
	s.bg = image.NewRGBA(image.Rect(0, 0, width, height))
	s.drawBackground(rng, skyColors[variant%len(skyColors)])

	s.carColor = pick(rng, carColors)
	s.carRightward = variant%2 == 0
	// About one crossing every four seconds whatever the loop length.
	s.crossings = max(1, int(math.Round(float64(frames)/float64(4*fps))))
	s.birdColor = color.RGBA{40, 40, 48, 255}
	return s
}

// Draw renders frame (0 ≤ frame < Frames) of the scene into img, which must be
// Width×Height with its origin at (0, 0).
func (s *Scene) Draw(img *image.RGBA, frame int) {
	if img.Rect != s.bg.Rect {
		panic(fmt.Sprintf("camsim: scene is %v, image is %v", s.bg.Rect, img.Rect))
	}
	frame %= s.Frames
	copy(img.Pix, s.bg.Pix)
	if s.script != nil {
		t := time.Duration(frame) * time.Second / time.Duration(s.FPS)
		s.drawBin(img, s.script.BinDown(t))
		s.drawCar(img, frame)
		s.drawPeople(img, t)
		s.light(img, t)
	} else {
		s.drawCar(img, frame)
	}
	s.drawBird(img, frame)
	s.drawOverlay(img, frame)
}

var (
	skyColors = [][2]color.RGBA{
		{{92, 146, 214, 255}, {178, 208, 236, 255}},  // clear day
		{{140, 150, 164, 255}, {196, 200, 206, 255}}, // overcast
		{{60, 84, 150, 255}, {236, 170, 120, 255}},   // dusk
		{{110, 170, 220, 255}, {220, 232, 240, 255}}, // hazy
		{{48, 56, 92, 255}, {120, 110, 140, 255}},    // evening
	}
	wallColors = []color.RGBA{
		{176, 160, 140, 255}, {150, 90, 70, 255}, {200, 196, 180, 255},
		{120, 128, 140, 255}, {186, 150, 110, 255}, {140, 110, 100, 255},
		{210, 200, 160, 255}, {100, 110, 100, 255}, {170, 176, 190, 255},
	}
	signColors = []color.RGBA{
		{200, 40, 40, 255}, {40, 90, 180, 255}, {230, 170, 30, 255}, {30, 140, 80, 255},
	}
	binColors = []color.RGBA{
		{40, 130, 70, 255}, {40, 80, 150, 255}, {90, 90, 96, 255}, {170, 120, 40, 255},
	}
	carColors = []color.RGBA{
		{200, 30, 30, 255}, {230, 230, 230, 255}, {30, 60, 140, 255}, {30, 30, 34, 255},
		{220, 180, 40, 255}, {120, 124, 130, 255}, {30, 120, 110, 255},
	}
)

func pick[T any](rng *rand.Rand, list []T) T {
	return list[rng.IntN(len(list))]
}

// drawBackground paints the parts of the scene that never move.
func (s *Scene) drawBackground(rng *rand.Rand, sky [2]color.RGBA) {
	w, h := s.Width, s.Height
	img := s.bg
	yb := h * 52 / 100 // foot of the buildings
	ySide := h * 62 / 100
	yRoad := h * 90 / 100

	for y := 0; y < yb; y++ {
		c := lerp(sky[0], sky[1], float64(y)/float64(yb))
		fillRect(img, image.Rect(0, y, w, y+1), c)
	}

	// Buildings, left to right, each with a grid of windows.
	for x := -rng.IntN(w / 20); x < w; {
		bw := w*8/100 + rng.IntN(w*12/100)
		top := yb - h*18/100 - rng.IntN(h*30/100)
		wall := pick(rng, wallColors)
		fillRect(img, image.Rect(x, top, x+bw, yb), wall)
		fillRect(img, image.Rect(x, top, x+bw, top+max(2, h/180)), shade(wall, 0.7))
		fillRect(img, image.Rect(x+bw-max(2, w/320), top, x+bw, yb), shade(wall, 0.8))

		winW := max(4, w/90+rng.IntN(w/200+1))
		winH := max(6, h/40+rng.IntN(h/120+1))
		gapX := winW/2 + rng.IntN(winW)
		gapY := winH/2 + rng.IntN(winH/2+1)
		signH := 0
		if rng.IntN(2) == 0 {
			signH = h / 30
			fillRect(img, image.Rect(x+bw/8, yb-h*9/100, x+bw*7/8, yb-h*9/100+signH), pick(rng, signColors))
		}
		for wy := top + gapY; wy+winH < yb-h*10/100; wy += winH + gapY {
			for wx := x + gapX; wx+winW < x+bw-gapX/2; wx += winW + gapX {
				c := color.RGBA{50, 60, 72, 255}
				if rng.IntN(5) == 0 {
					c = color.RGBA{236, 214, 140, 255}
				}
				fillRect(img, image.Rect(wx, wy, wx+winW, wy+winH), c)
				fillRect(img, image.Rect(wx, wy+winH-max(1, winH/6), wx+winW, wy+winH), shade(wall, 0.6))
			}
		}
		door := image.Rect(x+bw/2-w/100, yb-h*7/100, x+bw/2+w/100, yb)
		fillRect(img, door, shade(wall, 0.45))
		x += bw + rng.IntN(w/60+1)
	}

	// Upper sidewalk with tile seams and a curb.
	pave := color.RGBA{168, 166, 160, 255}
	fillRect(img, image.Rect(0, yb, w, ySide), pave)
	for x := rng.IntN(w / 25); x < w; x += w / 25 {
		fillRect(img, image.Rect(x, yb, x+1, ySide), shade(pave, 0.85))
	}
	fillRect(img, image.Rect(0, (yb+ySide)/2, w, (yb+ySide)/2+1), shade(pave, 0.88))
	fillRect(img, image.Rect(0, ySide-h/100, w, ySide), color.RGBA{200, 198, 192, 255})

	// Road: asphalt, solid edge lines, a dashed center line.
	asphalt := color.RGBA{70, 72, 76, 255}
	fillRect(img, image.Rect(0, ySide, w, yRoad), asphalt)
	line := max(3, h/120)
	edge := color.RGBA{226, 226, 220, 255}
	fillRect(img, image.Rect(0, ySide+h/60, w, ySide+h/60+line), edge)
	fillRect(img, image.Rect(0, yRoad-h/60-line, w, yRoad-h/60), edge)
	mid := (ySide + yRoad) / 2
	dash, gap := w*6/100, w*4/100
	for x := -rng.IntN(dash + gap); x < w; x += dash + gap {
		fillRect(img, image.Rect(x, mid-line/2, x+dash, mid-line/2+line), edge)
	}
	s.laneTop = [2]int{ySide + h/60 + line, mid + line}
	s.laneBottom = [2]int{mid - line, yRoad - h/60 - line}

	// Lower sidewalk, nearest the camera.
	fillRect(img, image.Rect(0, yRoad, w, h), shade(pave, 0.95))
	fillRect(img, image.Rect(0, yRoad, w, yRoad+h/100), color.RGBA{200, 198, 192, 255})

	// The trash bin stands on the upper sidewalk, by the curb. A scripted
	// scene draws it in every frame, since it may fall over.
	bw, bh := max(8, w*35/1000), max(12, h*9/100)
	bx := w/10 + rng.IntN(w*7/10)
	if s.script != nil && s.script.BinX > 0 {
		bx = int(s.script.BinX * float64(w))
	}
	s.Bin = image.Rect(bx, ySide-h/100-bh, bx+bw, ySide-h/100)
	s.binColor = pick(rng, binColors)
	if s.script == nil {
		s.drawBin(img, false)
	}
}

// drawBin draws the bin standing, or lying on its side with rubbish spilled
// in front of it.
func (s *Scene) drawBin(img *image.RGBA, down bool) {
	bw, bh := s.Bin.Dx(), s.Bin.Dy()
	c := s.binColor
	if !down {
		fillRect(img, s.Bin, c)
		fillRect(img, image.Rect(s.Bin.Min.X-bw/10, s.Bin.Min.Y, s.Bin.Max.X+bw/10, s.Bin.Min.Y+bh/8), shade(c, 0.6))
		for i := 1; i < 4; i++ {
			x := s.Bin.Min.X + bw*i/4
			fillRect(img, image.Rect(x, s.Bin.Min.Y+bh/4, x+max(1, bw/16), s.Bin.Max.Y-bh/8), shade(c, 0.75))
		}
		return
	}
	ground := s.Bin.Max.Y
	body := image.Rect(s.Bin.Min.X, ground-bw, s.Bin.Min.X+bh, ground)
	fillRect(img, body, c)
	fillRect(img, image.Rect(body.Max.X, body.Min.Y-bw/10, body.Max.X+bh/8, body.Max.Y), shade(c, 0.6))
	for i := 1; i < 4; i++ {
		y := body.Min.Y + bw*i/4
		fillRect(img, image.Rect(body.Min.X+bh/8, y, body.Max.X-bh/4, y+max(1, bw/16)), shade(c, 0.75))
	}
	// Rubbish: bags and papers on the pavement past the open end.
	rubbish := []color.RGBA{{30, 30, 34, 255}, {230, 230, 220, 255}, {200, 60, 40, 255}, {240, 200, 60, 255}, {60, 110, 190, 255}}
	rng := rand.New(rand.NewPCG(uint64(s.Bin.Min.X), 7))
	for i := range 24 {
		sz := bw/3 + rng.IntN(bw*2/3+1)
		x := body.Min.X - bh/3 + rng.IntN(bh*2+1)
		y := ground - bw*5/4 + rng.IntN(bw*3/2+1)
		fillRect(img, image.Rect(x, y, x+sz, y+sz*2/3), rubbish[i%len(rubbish)])
	}
}

// drawCar draws a car crossing the scene in its lane, s.crossings times per loop.
func (s *Scene) drawCar(img *image.RGBA, frame int) {
	w, h := s.Width, s.Height
	cw, ch := w*16/100, h*9/100
	pos := (frame * s.crossings) % s.Frames
	x := -cw + (w+cw)*pos/s.Frames
	lane := 1
	if !s.carRightward {
		x = w - (x + cw)
		lane = 0
	}
	bottom := s.laneBottom[lane] - h/100
	body := image.Rect(x, bottom-ch*55/100, x+cw, bottom-ch*12/100)
	fillRect(img, body, s.carColor)
	cabin := image.Rect(x+cw*22/100, bottom-ch, x+cw*75/100, body.Min.Y)
	fillRect(img, cabin, shade(s.carColor, 0.85))
	glass := color.RGBA{120, 150, 170, 255}
	fillRect(img, image.Rect(cabin.Min.X+cw/30, cabin.Min.Y+ch/10, cabin.Min.X+cabin.Dx()/2-cw/80, cabin.Max.Y), glass)
	fillRect(img, image.Rect(cabin.Min.X+cabin.Dx()/2+cw/80, cabin.Min.Y+ch/10, cabin.Max.X-cw/30, cabin.Max.Y), glass)
	wheel := ch * 30 / 100
	for _, wx := range []int{x + cw*20/100, x + cw*80/100} {
		fillCircle(img, wx, bottom-wheel, wheel, color.RGBA{20, 20, 22, 255})
		fillCircle(img, wx, bottom-wheel, wheel/2, color.RGBA{150, 150, 156, 255})
	}
	lamp, tail := x+cw-cw/30, x
	if !s.carRightward {
		lamp, tail = x, x+cw-cw/30
	}
	fillRect(img, image.Rect(lamp, body.Min.Y+ch/12, lamp+cw/30, body.Min.Y+ch/5), color.RGBA{250, 240, 200, 255})
	fillRect(img, image.Rect(tail, body.Min.Y+ch/12, tail+cw/30, body.Min.Y+ch/5), color.RGBA{200, 20, 20, 255})
}

// drawBird draws a small bird flying across the sky once per loop, flapping.
func (s *Scene) drawBird(img *image.RGBA, frame int) {
	w, h := s.Width, s.Height
	size := max(6, w/70)
	x := w - (w+2*size)*frame/s.Frames
	phase := 2 * math.Pi * float64(frame) / float64(s.Frames)
	y := h*12/100 + int(float64(h)*0.04*math.Sin(phase*2))
	wing := max(2, size/4)
	fillRect(img, image.Rect(x-size/6, y-wing/2, x+size/6, y+wing/2), s.birdColor)
	// Wings up on even beats, down on odd ones: a beat lasts three frames.
	dy := -size / 3
	if (frame/3)%2 == 1 {
		dy = size / 4
	}
	for i := range size / 2 {
		t := dy * i / (size / 2)
		fillRect(img, image.Rect(x-size/6-i, y+t-wing/2, x-size/6-i+1, y+t+wing/2), s.birdColor)
		fillRect(img, image.Rect(x+size/6+i, y+t-wing/2, x+size/6+i+1, y+t+wing/2), s.birdColor)
	}
}

// drawOverlay writes the camera label and the loop clock in the top-left corner.
func (s *Scene) drawOverlay(img *image.RGBA, frame int) {
	sec := frame / s.FPS
	clock := fmt.Sprintf("%02d:%02d:%02d.%02d #%05d", sec/3600, sec/60%60, sec%60, frame%s.FPS, frame)
	margin := s.textScale * 4
	s.drawText(img, margin, margin, s.Label)
	s.drawText(img, margin, margin+s.textScale*(basicfont.Face7x13.Height+2), clock)
}

// drawText draws one line at 1x with the bitmap font into a scratch image, then
// copies it scaled up by s.textScale (nearest neighbour) onto a darkened box.
func (s *Scene) drawText(img *image.RGBA, x0, y0 int, text string) {
	face := basicfont.Face7x13
	tw, th := len(text)*face.Advance+2, face.Height+2
	if s.text == nil || s.text.Rect.Dx() < tw || s.text.Rect.Dy() < th {
		s.text = image.NewRGBA(image.Rect(0, 0, max(tw, 64), th))
	}
	clear(s.text.Pix)
	d := font.Drawer{
		Dst:  s.text,
		Src:  image.White,
		Face: face,
		Dot:  fixed.P(1, 1+face.Ascent),
	}
	d.DrawString(text)

	k := s.textScale
	for ty := range th {
		for tx := range tw {
			on := s.text.Pix[s.text.PixOffset(tx, ty)+3] > 127
			for dy := range k {
				y := y0 + ty*k + dy
				if y < 0 || y >= s.Height {
					continue
				}
				for dx := range k {
					x := x0 + tx*k + dx
					if x < 0 || x >= s.Width {
						continue
					}
					i := img.PixOffset(x, y)
					if on {
						img.Pix[i], img.Pix[i+1], img.Pix[i+2] = 250, 250, 250
					} else {
						img.Pix[i], img.Pix[i+1], img.Pix[i+2] = img.Pix[i]/3, img.Pix[i+1]/3, img.Pix[i+2]/3
					}
				}
			}
		}
	}
}

// fillRect paints r (clipped to img) with c, writing the pixels directly: the
// generic draw path costs an interface call per pixel.
func fillRect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Rect)
	if r.Empty() {
		return
	}
	row := img.Pix[img.PixOffset(r.Min.X, r.Min.Y):]
	first := row[:4*r.Dx()]
	for i := 0; i < len(first); i += 4 {
		first[i], first[i+1], first[i+2], first[i+3] = c.R, c.G, c.B, c.A
	}
	for y := r.Min.Y + 1; y < r.Max.Y; y++ {
		copy(img.Pix[img.PixOffset(r.Min.X, y):], first)
	}
}

// fillCircle paints a disc of radius r centred on (cx, cy).
func fillCircle(img *image.RGBA, cx, cy, r int, c color.RGBA) {
	for dy := -r; dy <= r; dy++ {
		dx := int(math.Sqrt(float64(r*r - dy*dy)))
		fillRect(img, image.Rect(cx-dx, cy+dy, cx+dx+1, cy+dy+1), c)
	}
}

func lerp(a, b color.RGBA, t float64) color.RGBA {
	f := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t) }
	return color.RGBA{f(a.R, b.R), f(a.G, b.G), f(a.B, b.B), 255}
}

func shade(c color.RGBA, k float64) color.RGBA {
	return color.RGBA{uint8(float64(c.R) * k), uint8(float64(c.G) * k), uint8(float64(c.B) * k), 255}
}
