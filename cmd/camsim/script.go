package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// scenes holds the scripted scenes that -scene knows by name.
//
//go:embed scenes/*.yaml
var scenes embed.FS

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
	Bin     []Span        `yaml:"bin_down"` // when the bin lies on its side, rubbish spilled
	People  []Walk        `yaml:"people"`
}

// Light makes the whole picture brighter and darker, like clouds and dusk.
type Light struct {
	Amplitude float64       `yaml:"amplitude"` // ± fraction of the brightness, 0–0.5
	Period    time.Duration `yaml:"period"`    // one cycle (default: the loop)
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
}

// loadScript reads a scripted scene: the name of an embedded one (bin,
// quiet) or the path of a YAML file.
func loadScript(ref string) (*Script, error) {
	var data []byte
	var err error
	if strings.ContainsAny(ref, "/.") {
		data, err = os.ReadFile(ref)
	} else {
		data, err = scenes.ReadFile("scenes/" + ref + ".yaml")
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("-scene %s: no such built-in scene (built in: %s); give a path to a YAML file for your own", ref, builtinScenes())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("-scene %s: %w", ref, err)
	}
	s := &Script{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("-scene %s: %w", ref, err)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("-scene %s: %w", ref, err)
	}
	if _, err := walkerImages(); err != nil {
		return nil, fmt.Errorf("-scene %s: the people cut-outs: %w", ref, err)
	}
	return s, nil
}

func builtinScenes() string {
	entries, _ := scenes.ReadDir("scenes")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return strings.Join(names, ", ")
}

// check reports every problem of the script in one error.
func (s *Script) check() error {
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
	for i, b := range s.Bin {
		if b.From < 0 || b.To <= b.From || b.To > s.Length {
			bad("bin_down[%d]: from %v to %v: want 0 ≤ from < to ≤ length", i, b.From, b.To)
		}
	}
	for i, p := range s.People {
		if _, ok := walkerNames[p.Walker]; !ok {
			bad("people[%d].walker %q: want one of b, c, d", i, p.Walker)
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
		for _, pt := range [][2]float64{p.From, p.To} {
			if pt[0] < -0.2 || pt[0] > 1.2 || pt[1] < 0.4 || pt[1] > 1.2 {
				bad("people[%d]: position %v: want x in -0.2..1.2 and y (the feet) in 0.4..1.2", i, pt)
			}
		}
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "; "))
	}
	return nil
}

// binDown reports whether the bin lies on its side at t.
func (s *Script) binDown(t time.Duration) bool {
	for _, b := range s.Bin {
		if t >= b.From && t < b.To {
			return true
		}
	}
	return false
}

// person says where a walk's person is at t: feet position, whether they
// are walking (for the stride) and whether they are there at all.
func (p *Walk) person(t time.Duration) (x, y float64, walking, there bool) {
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
