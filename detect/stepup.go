package detect

import (
	"image"
	"time"
)

// stepper is a camera's Auto mode: key frames only while it is calm, every
// frame while something happens near its zones. An analysis that stirs
// (see stirring) steps it up, until StepDown after the last one that did.
//
// A calm camera analyses a key frame per GOP, so someone walking towards a
// zone is noticed on a key frame before they reach it (on camsim's walker,
// seen 10 ms after the scripted entry), and someone who appears in the
// zone at once at most a GOP late. A step-up on the stream's frame sizes
// (a P-frame carries what moved) was tried and dropped: the cameras'
// on-screen clocks make a large frame every second, and camsim's streets
// stepped up every 3 s for nothing (0.36 core for 3 cameras).
type stepper struct {
	up    bool
	until time.Time
	ups   uint64 // times it stepped up
}

// stepUp decodes every frame until at least until.
func (s *stepper) stepUp(until time.Time) {
	if !s.up {
		s.ups++
	}
	s.up = true
	s.until = later(s.until, until)
}

// settle takes an analysis at now: stirring keeps the camera up for
// stepDown more; a calm one past the deadline steps it down.
func (s *stepper) settle(stirring bool, now time.Time, stepDown time.Duration) {
	if stirring {
		s.stepUp(now.Add(stepDown))
		return
	}
	if s.up && now.After(s.until) {
		s.up = false
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// stirring says whether the last analysis saw anything that Auto mode
// follows closely: someone in a zone, a zone that no longer matches its
// reference, motion in a zone, or motion shaped like a person (taller than
// wide) near one. Cars passing near a zone on the road are wide: they do
// not step a camera up, or every camera by a street would stay up
// (measured: 121 of 128 of camsim's streets).
func (a *analysis) stirring(motion []image.Rectangle) bool {
	for i, z := range a.zones {
		if a.inZone[i].Count() > 0 || (z.HasReference() && z.MatchSince().IsZero()) {
			return true
		}
		for _, m := range motion {
			if m.Overlaps(z.box) || (m.Dy()*5 >= m.Dx()*4 && z.Near(m)) {
				return true
			}
		}
	}
	return false
}
