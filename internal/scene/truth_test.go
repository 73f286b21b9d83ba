package scene

import (
	"strings"
	"testing"
	"time"
)

const square = `
name: t
length: 30s
bin_x: 0.50
bin_down: [{from: 20s, to: 25s}]
zones:
  - {name: z, kind: bin, polygon: [[0.4, 0.5], [0.6, 0.5], [0.6, 0.7], [0.4, 0.7]]}
  - {name: far, kind: watch, polygon: [[0.0, 0.5], [0.1, 0.5], [0.1, 0.7], [0.0, 0.7]]}
people:
  # walks from x 0.2 to 0.5 in 3 s (enters at 0.4: 2 s), stays 4 s, back in 3 s (leaves at 0.4: 8 s)
  - {walker: b, from: [0.2, 0.6], to: [0.5, 0.6], leave: [0.2, 0.6], start: 0s, walk: 3s, stay: 4s}
  # along the zone's lower edge, feet just outside: never in
  - {walker: c, from: [0.0, 0.71], to: [1.0, 0.71], start: 10s, walk: 5s}
  # comes in at 28 s and is still in when the loop ends
  - {walker: d, height: 50, from: [0.45, 0.9], to: [0.45, 0.6], start: 27s, walk: 2s, stay: 10s}
`

func TestTruthFollowsTheFeetInAndOut(t *testing.T) {
	s, err := Parse([]byte(square))
	if err != nil {
		t.Fatal(err)
	}
	tr := s.Truth(720)
	near := func(got, want time.Duration) bool { return got >= want-truthStep && got <= want+truthStep }
	if len(tr.Visits) != 2 {
		t.Fatalf("visits %+v, want 2: the walker in and out, the one still in at the end; not the one along the edge", tr.Visits)
	}
	v := tr.Visits[0]
	if v.Zone != "z" || v.Walk != 0 || !near(v.Enter, 2*time.Second) || !near(v.Exit, 8*time.Second) {
		t.Errorf("first visit %+v, want people[0] in zone z from 2 s to 8 s", v)
	}
	if v.Height != 151 {
		t.Errorf("people[0] is %d px tall, want the perspective's %d", v.Height, 151)
	}
	v = tr.Visits[1]
	// from y 0.9 to 0.6 in 2 s: the feet cross y 0.7 at 4/3 s
	if v.Walk != 2 || !near(v.Enter, 27*time.Second+1333*time.Millisecond) || v.Exit != 30*time.Second || v.Height != 50 {
		t.Errorf("second visit %+v, want people[2], 50 px, in from 28.3 s to the loop's end (30 s)", v)
	}
	if f := tr.BinFalls["z"]; len(f) != 1 || f[0].From != 20*time.Second {
		t.Errorf("bin falls in z %v, want the one at 20 s (the bin's foot is in z)", f)
	}
	if f := tr.BinFalls["far"]; len(f) != 0 {
		t.Errorf("bin falls in far %v, want none: the bin is not there", f)
	}
}

func TestInsideIsTheEvenOddRule(t *testing.T) {
	tri := [][2]float64{{0, 0}, {1, 0}, {0, 1}}
	for _, c := range []struct {
		x, y float64
		want bool
	}{{0.2, 0.2, true}, {0.6, 0.6, false}, {-0.1, 0.5, false}, {0.49, 0.49, true}} {
		if got := Inside(tri, c.x, c.y); got != c.want {
			t.Errorf("Inside(triangle, %v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}

func TestParseSaysEveryProblem(t *testing.T) {
	_, err := Parse([]byte("name: x\nlength: 10s\nshadow: {slant: 3, length: 0.3, darkness: 0.5}\npeople:\n  - {walker: z, walk: 1s, height: 5}\nzones:\n  - {name: a, kind: bin, polygon: [[0, 0], [2, 0]]}\n"))
	for _, want := range []string{"shadow", `people[0].walker "z": want one of b, c, d`, "people[0].height 5: want 20 to 600", "zones[0].polygon: needs at least 3 points", "zones[0].polygon: point [2 0] is outside"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	}
}
