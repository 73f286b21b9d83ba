// Package scene is the script of a camsim scripted scene (its YAML: a bin
// that falls, people who walk, light that drifts, zones) and the ground
// truth that follows from it: who is in which zone when. camsim draws a
// Script; the evaluation (internal/eval) compares what the bridge saw with
// the Script's Truth, so both read the one timeline and cannot drift apart.
package scene

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Walkers are the people there are cut-outs of in camsim.
var Walkers = []string{"b", "c", "d"}

// Script is a scripted scene: a street whose bin falls over and is put back,
// with people who walk in and stay, and light that drifts, on a timeline
// that loops. Positions are fractions of the picture (0–1, x from the left,
// y from the top); a person's position is where their feet are.
type Script struct {
	Name    string        `yaml:"name"`    // served at /scene/NAME
	Variant int           `yaml:"variant"` // street layout and colors, as for /cam/N (0-based)
	Length  time.Duration `yaml:"length"`  // loop length, rounded up to whole GOPs
	BinX    float64       `yaml:"bin_x"`   // left edge of the bin (default: the variant's place)
	Light   Light         `yaml:"light"`
	Shadow  *Shadow       `yaml:"shadow"`   // people cast shadows on the ground (default: none)
	Bin     []Span        `yaml:"bin_down"` // when the bin lies on its side, rubbish spilled
	People  []Walk        `yaml:"people"`
	Zones   []Zone        `yaml:"zones"` // the zones a bridge watches in this scene (for the evaluation; camsim does not draw them)
}

// Light makes the whole picture brighter and darker, like clouds and dusk.
type Light struct {
	Amplitude float64       `yaml:"amplitude"` // ± fraction of the brightness, 0–0.5
	Period    time.Duration `yaml:"period"`    // one cycle (default: the loop)
}

// Shadow is the low sun: each person's silhouette is laid on the ground,
// sheared sideways, and darkens it.
type Shadow struct {
	Slant    float64 `yaml:"slant"`    // sideways shift per unit of height, -2..2 (positive: to the right)
	Length   float64 `yaml:"length"`   // the shadow's length on the picture per unit of height, 0.05..1
	Darkness float64 `yaml:"darkness"` // how much of the light it takes away, 0..0.8
}

// Span is a stretch of the timeline.
type Span struct {
	From time.Duration `yaml:"from"`
	To   time.Duration `yaml:"to"`
}

// Walk is one person: they appear at From at Start, walk to To in Walk,
// stay there for Stay (turning a little), then walk on to Leave (if given)
// in Walk again and are gone.
type Walk struct {
	Walker string        `yaml:"walker"` // which cut-out person: b, c or d
	From   [2]float64    `yaml:"from"`
	To     [2]float64    `yaml:"to"`
	Leave  *[2]float64   `yaml:"leave"`
	Start  time.Duration `yaml:"start"`
	Walk   time.Duration `yaml:"walk"`
	Stay   time.Duration `yaml:"stay"`
	Height int           `yaml:"height"` // pixels tall in the picture, 20..600 (default: by perspective, taller nearer the camera)
}

// Zone is a zone of the scene as a bridge's config names it.
type Zone struct {
	Name    string       `yaml:"name"`
	Kind    string       `yaml:"kind"`    // as configs.ZoneKinds
	Polygon [][2]float64 `yaml:"polygon"` // fractions of the picture
}

// Parse reads a script from YAML (unknown fields are errors) and checks it.
func Parse(data []byte) (*Script, error) {
	s := &Script{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil {
		return nil, err
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return s, nil
}

// Check reports every problem of the script in one error.
func (s *Script) Check() error {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if s.Name == "" || strings.ContainsAny(s.Name, "/ ") {
		bad("name %q: want a word, it becomes the path /scene/NAME", s.Name)
	}
	if s.Variant < 0 {
		bad("variant %d: want 0 or more", s.Variant)
	}
	if s.Length < time.Second || s.Length > 10*time.Minute {
		bad("length %v: want 1s to 10m", s.Length)
	}
	if s.BinX < 0 || s.BinX > 0.95 {
		bad("bin_x %v: want 0 to 0.95", s.BinX)
	}
	if s.Light.Amplitude < 0 || s.Light.Amplitude > 0.5 {
		bad("light.amplitude %v: want 0 to 0.5", s.Light.Amplitude)
	}
	if s.Light.Period < 0 {
		bad("light.period %v: want more than 0", s.Light.Period)
	}
	if sh := s.Shadow; sh != nil {
		if sh.Slant < -2 || sh.Slant > 2 || sh.Length < 0.05 || sh.Length > 1 || sh.Darkness < 0 || sh.Darkness > 0.8 {
			bad("shadow %+v: want slant -2..2, length 0.05..1, darkness 0..0.8", *sh)
		}
	}
	for i, b := range s.Bin {
		if b.From < 0 || b.To <= b.From || b.To > s.Length {
			bad("bin_down[%d]: from %v to %v: want 0 ≤ from < to ≤ length", i, b.From, b.To)
		}
	}
	for i, p := range s.People {
		if !slices.Contains(Walkers, p.Walker) {
			bad("people[%d].walker %q: want one of %s", i, p.Walker, strings.Join(Walkers, ", "))
		}
		if p.Start < 0 || p.Start >= s.Length {
			bad("people[%d].start %v: want 0 ≤ start < length", i, p.Start)
		}
		if p.Walk <= 0 {
			bad("people[%d].walk %v: want more than 0", i, p.Walk)
		}
		if p.Stay < 0 {
			bad("people[%d].stay %v: want 0 or more", i, p.Stay)
		}
		if p.Height != 0 && (p.Height < 20 || p.Height > 600) {
			bad("people[%d].height %d: want 20 to 600 pixels, or 0 for the perspective's", i, p.Height)
		}
		for _, pt := range [][2]float64{p.From, p.To} {
			if pt[0] < -0.2 || pt[0] > 1.2 || pt[1] < 0.4 || pt[1] > 1.2 {
				bad("people[%d]: position %v: want x in -0.2..1.2 and y (the feet) in 0.4..1.2", i, pt)
			}
		}
	}
	names := map[string]bool{}
	for i, z := range s.Zones {
		if z.Name == "" || names[z.Name] {
			bad("zones[%d].name %q: want a name used once", i, z.Name)
		}
		names[z.Name] = true
		if z.Kind == "" {
			bad("zones[%d].kind: is required", i)
		}
		if len(z.Polygon) < 3 {
			bad("zones[%d].polygon: needs at least 3 points", i)
		}
		for _, pt := range z.Polygon {
			if pt[0] < 0 || pt[0] > 1 || pt[1] < 0 || pt[1] > 1 {
				bad("zones[%d].polygon: point %v is outside the picture (0..1)", i, pt)
			}
		}
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "; "))
	}
	return nil
}

// BinDown reports whether the bin lies on its side at t.
func (s *Script) BinDown(t time.Duration) bool {
	for _, b := range s.Bin {
		if t >= b.From && t < b.To {
			return true
		}
	}
	return false
}

// Person says where a walk's person is at t: feet position, whether they
// are walking (for the stride) and whether they are there at all.
func (p *Walk) Person(t time.Duration) (x, y float64, walking, there bool) {
	lerp := func(a, b [2]float64, k float64) (float64, float64) {
		return a[0] + (b[0]-a[0])*k, a[1] + (b[1]-a[1])*k
	}
	t -= p.Start
	switch {
	case t < 0:
		return 0, 0, false, false
	case t < p.Walk:
		x, y = lerp(p.From, p.To, float64(t)/float64(p.Walk))
		return x, y, true, true
	case t < p.Walk+p.Stay:
		return p.To[0], p.To[1], false, true
	case p.Leave != nil && t < 2*p.Walk+p.Stay:
		x, y = lerp(p.To, *p.Leave, float64(t-p.Walk-p.Stay)/float64(p.Walk))
		return x, y, true, true
	}
	return 0, 0, false, false
}

// PersonHeight is how tall the walk's person looks, in pixels of a picture
// h pixels high, with their feet at y (fraction of the picture): the
// script's height, or by perspective (nearer the camera, lower in the
// picture, taller).
func (p *Walk) PersonHeight(y float64, h int) int {
	if p.Height > 0 {
		return p.Height
	}
	return int(float64(h) * max(0.12, 0.21+(y-0.6)*0.35))
}
