package detect

import (
	"testing"
	"time"
)

// TestStepperFollowsStirs: an analysis that stirs steps a camera up for
// stepDown more; a calm one past the deadline lets it down; each step-up
// counts once.
func TestStepperFollowsStirs(t *testing.T) {
	var s stepper
	t0 := time.Unix(1000, 0)
	s.settle(false, t0, 10*time.Second)
	if s.up {
		t.Fatal("a calm analysis stepped up")
	}
	s.settle(true, t0.Add(1500*time.Millisecond), 10*time.Second)
	s.settle(true, t0.Add(2*time.Second), 10*time.Second)
	s.settle(false, t0.Add(11*time.Second), 10*time.Second)
	if !s.up {
		t.Error("stepped down 9 s after a stir, want 10 s")
	}
	s.settle(false, t0.Add(12500*time.Millisecond), 10*time.Second)
	if s.up || s.ups != 1 {
		t.Errorf("after 10.5 s of calm: up %v, %d step-ups; want down after 1", s.up, s.ups)
	}
	s.settle(true, t0.Add(13*time.Second), 10*time.Second)
	if !s.up || s.ups != 2 {
		t.Errorf("a new stir: up %v, %d step-ups; want up, 2", s.up, s.ups)
	}
}
