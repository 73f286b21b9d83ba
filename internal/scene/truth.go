package scene

import "time"

// truthStep is how finely Truth samples the timeline: a tenth of camsim's
// slowest frame interval, far below the tolerance of any match.
const truthStep = 10 * time.Millisecond

// Visit is one person's stay in one zone: their feet inside its polygon
// from Enter to Exit (scene time; Exit is Length if they are still in at
// the end of the loop).
type Visit struct {
	Zone   string
	Walk   int // index in People
	Enter  time.Duration
	Exit   time.Duration
	Height int // pixels tall at the entry, in a picture of the height Truth was given
}

// Truth is what happens in the scene's zones over one loop, computed from
// the script.
type Truth struct {
	Visits []Visit
	// BinFalls are the bin_down spans of zones that hold the bin, by zone
	// name: when zone_changed is due.
	BinFalls map[string][]Span
}

// Truth computes who is in which zone when over one loop, for a picture
// pictureHeight pixels high (the people's sizes depend on it).
func (s *Script) Truth(pictureHeight int) Truth {
	tr := Truth{BinFalls: map[string][]Span{}}
	for _, z := range s.Zones {
		for wi := range s.People {
			w := &s.People[wi]
			var open *Visit
			for t := time.Duration(0); t < s.Length; t += truthStep {
				x, y, _, there := w.Person(t)
				in := there && Inside(z.Polygon, x, y)
				switch {
				case in && open == nil:
					open = &Visit{Zone: z.Name, Walk: wi, Enter: t, Height: w.PersonHeight(y, pictureHeight)}
				case !in && open != nil:
					open.Exit = t
					tr.Visits = append(tr.Visits, *open)
					open = nil
				}
			}
			if open != nil {
				open.Exit = s.Length
				tr.Visits = append(tr.Visits, *open)
			}
		}
		if fx, fy, ok := s.BinFoot(); ok && Inside(z.Polygon, fx, fy) {
			tr.BinFalls[z.Name] = s.Bin
		}
	}
	return tr
}

// BinFoot is the middle of the standing bin's foot (fractions of the
// picture), as camsim draws it: 3.5% of the width wide, its foot on the
// upper sidewalk's curb at 61% of the height. ok is false when the script
// leaves the bin's place to the variant (bin_x 0).
func (s *Script) BinFoot() (x, y float64, ok bool) {
	if s.BinX == 0 {
		return 0, 0, false
	}
	return s.BinX + 0.0175, 0.61, true
}

// Inside reports whether the point (x, y) is inside the polygon (even-odd
// rule; fractions of the picture).
func Inside(poly [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		xi, yi, xj, yj := poly[i][0], poly[i][1], poly[j][0], poly[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}
