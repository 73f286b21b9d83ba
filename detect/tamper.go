package detect

import (
	"time"

	"gocv.io/x/gocv"
)

// The ways a camera is tampered with.
const (
	Covered   = "covered"   // black or covered: hardly any luma spread
	Defocused = "defocused" // sharpness well below the reference's
	Turned    = "turned"    // the whole scene differs from the reference
)

// Tamper watches the whole picture for a covered, defocused or turned camera.
type Tamper struct {
	ref      gocv.Mat
	hasRef   bool // a zero Mat must not be touched
	refSharp float64
	work     gocv.Mat
	mean     gocv.Mat
	std      gocv.Mat

	state string    // the raised condition, "" for none
	seen  string    // the condition seen now
	since time.Time // since when seen has been seen
}

// NewTamper returns a tamper analyzer; SetReference gives it the normal view.
func NewTamper() *Tamper {
	return &Tamper{work: gocv.NewMat(), mean: gocv.NewMat(), std: gocv.NewMat()}
}

// SetReference takes gray as the camera's normal view.
func (t *Tamper) SetReference(gray gocv.Mat) {
	if t.hasRef {
		t.ref.Close()
	}
	t.ref = gray.Clone()
	t.hasRef = true
	t.refSharp = t.sharpness(gray)
}

// HasReference reports whether the normal view is known.
func (t *Tamper) HasReference() bool { return t.hasRef }

// sharpness is the variance of the Laplacian: edges make it large.
func (t *Tamper) sharpness(gray gocv.Mat) float64 {
	gocv.Laplacian(gray, &t.work, gocv.MatTypeCV64F, 3, 1, 0, gocv.BorderDefault)
	gocv.MeanStdDev(t.work, &t.mean, &t.std)
	s := t.std.GetDoubleAt(0, 0)
	return s * s
}

// Look returns the condition gray shows now ("" for a normal view).
func (t *Tamper) Look(gray gocv.Mat, th Thresholds) string {
	gocv.MeanStdDev(gray, &t.mean, &t.std)
	if t.std.GetDoubleAt(0, 0) < th.CoveredStdDev {
		return Covered
	}
	if !t.hasRef {
		return ""
	}
	if t.sharpness(gray) < th.DefocusRatio*t.refSharp {
		return Defocused
	}
	if sceneDiff(gray, t.ref) > th.TurnedDiff {
		return Turned
	}
	return ""
}

// sceneDiff is the mean difference of two pictures after taking away
// their mean brightness: dusk, street lights and clouds move the mean,
// a turned camera moves everything else.
func sceneDiff(a, b gocv.Mat) float64 {
	pa, err1 := a.DataPtrUint8()
	pb, err2 := b.DataPtrUint8()
	if err1 != nil || err2 != nil || len(pa) != len(pb) || len(pa) == 0 {
		return 0
	}
	var sa, sb int
	for i := range pa {
		sa += int(pa[i])
		sb += int(pb[i])
	}
	shift := (sa - sb) / len(pa)
	var d int
	for i := range pa {
		v := int(pa[i]) - int(pb[i]) - shift
		if v < 0 {
			v = -v
		}
		d += v
	}
	return float64(d) / float64(len(pa))
}

// Update judges gray at now; a condition must last TamperHold to be
// raised, and the normal view must last as long to clear it. It returns
// the change and the condition it is about.
func (t *Tamper) Update(gray gocv.Mat, now time.Time, th Thresholds) (Change, string) {
	look := t.Look(gray, th)
	if look != t.seen {
		t.seen, t.since = look, now
	}
	if now.Sub(t.since) < th.TamperHold || look == t.state {
		return NoChange, t.state
	}
	was := t.state
	t.state = look
	if look == "" {
		return Cleared, was
	}
	return Raised, look
}

// Close frees the analyzer.
func (t *Tamper) Close() {
	t.work.Close()
	t.mean.Close()
	t.std.Close()
	if t.hasRef {
		t.ref.Close()
	}
}
