package detect

import (
	"image"
	"testing"
	"time"
)

// scene plays finds through a tracker and one zone (the right half of a
// 1280x720 picture, x >= 640) and collects the zone's events.
type scene struct {
	t      *testing.T
	th     Thresholds
	tr     *Tracker
	zone   *ZonePeople
	t0     time.Time
	events []ZoneEvent
}

func newScene(t *testing.T, restricted bool) *scene {
	th := DefaultThresholds()
	th.PersonHits, th.PersonGone, th.LoiterAfter = 2, 2*time.Second, 10*time.Second
	return &scene{t: t, th: th, tr: NewTracker(), zone: NewZonePeople(restricted), t0: time.Date(2026, 11, 24, 17, 12, 0, 0, time.UTC)}
}

func inRightHalf(p image.Point) bool { return p.X >= 640 }

// step analyses at s seconds: found people, and what moved (nil: nothing).
func (sc *scene) step(s float64, found []Person, moved []image.Rectangle) []ZoneEvent {
	now := sc.t0.Add(time.Duration(s * float64(time.Second)))
	gone := sc.tr.Update(found, moved, now, sc.th)
	ev := sc.zone.Update(sc.tr.Tracks(), gone, inRightHalf, now, sc.th)
	sc.events = append(sc.events, ev...)
	return ev
}

// follow is step with the picture the people were found in (Follow).
func (sc *scene) follow(s float64, img *image.YCbCr, found []Person, moved []image.Rectangle) []ZoneEvent {
	now := sc.t0.Add(time.Duration(s * float64(time.Second)))
	gone := sc.tr.Follow(img, found, moved, now, sc.th)
	ev := sc.zone.Update(sc.tr.Tracks(), gone, inRightHalf, now, sc.th)
	sc.events = append(sc.events, ev...)
	return ev
}

// walker is a person 160 px tall whose feet are at x, y=600.
func walker(x int) Person { return Person{Box: image.Rect(x-40, 420, x+40, 620), Score: 1} }

func (sc *scene) trackAt(x int) *Track {
	for _, t := range sc.tr.Tracks() {
		if f := t.Foot(); f.X > x-30 && f.X < x+30 {
			return t
		}
	}
	sc.t.Fatalf("no track near x=%d: %+v", x, sc.tr.Tracks())
	return nil
}

// balanced checks that every entered track left exactly once.
func (sc *scene) balanced() {
	sc.t.Helper()
	in := map[int]int{}
	for _, e := range sc.events {
		switch e.Kind {
		case Entered:
			in[e.Track]++
		case Left:
			in[e.Track]--
		}
	}
	for id, n := range in {
		if n != 0 {
			sc.t.Errorf("track %d: entries minus exits %d, want 0 (events %+v)", id, n, sc.events)
		}
	}
}

func kinds(ev []ZoneEvent) []PresenceEvent {
	var out []PresenceEvent
	for _, e := range ev {
		out = append(out, e.Kind)
	}
	return out
}

func TestZonePeopleEntersStaysLoitersLeaves(t *testing.T) {
	t.Run("a single false find does not count", func(t *testing.T) {
		sc := newScene(t, false)
		sc.step(0, []Person{walker(900)}, nil)
		sc.step(0.5, nil, []image.Rectangle{walker(900).Box})
		sc.step(3, nil, nil)
		sc.step(3.5, []Person{walker(300)}, nil)
		if len(sc.events) != 0 || sc.zone.Count() != 0 {
			t.Errorf("events %+v, count %d after scattered single finds, want none", sc.events, sc.zone.Count())
		}
	})
	t.Run("enter, stay through missed frames, leave", func(t *testing.T) {
		sc := newScene(t, false)
		me := walker(900)
		if ev := sc.step(0, []Person{me}, nil); len(ev) != 0 {
			t.Fatalf("entered on one find: %+v", ev)
		}
		ev := sc.step(0.5, []Person{me}, nil)
		if len(ev) != 1 || ev[0].Kind != Entered || !ev[0].Since.Equal(sc.t0) {
			t.Fatalf("second find: %+v, want Entered since the first find", ev)
		}
		// standing still: the detector misses them, nothing moves there
		for s := 1.0; s < 20; s += 0.5 {
			found := []Person{me}
			if int(s*2)%3 != 0 {
				found = nil
			}
			if ev := sc.step(s, found, nil); len(ev) != 0 {
				t.Fatalf("t=%.1f standing: %+v", s, ev)
			}
		}
		// they move away unseen: lost after PersonGone
		sc.step(20, nil, []image.Rectangle{me.Box})
		sc.step(21, nil, []image.Rectangle{me.Box})
		ev = sc.step(22, nil, nil)
		if len(ev) != 1 || ev[0].Kind != Left || ev[0].Dwell != 19500*time.Millisecond {
			t.Fatalf("lost 2 s: %+v, want Left with dwell 19.5s (first find to last)", ev)
		}
		sc.balanced()
	})
	t.Run("restricted zone: loitering once, ends with leaving", func(t *testing.T) {
		sc := newScene(t, true)
		var got []PresenceEvent
		for s := 0.0; s <= 12; s += 0.5 {
			got = append(got, kinds(sc.step(s, []Person{walker(900)}, nil))...)
		}
		for i := range 8 { // walks out of the zone
			x := 900 - 100*(i+1)
			got = append(got, kinds(sc.step(12.5+float64(i)/2, []Person{walker(x)}, []image.Rectangle{walker(x).Box}))...)
		}
		want := []PresenceEvent{Entered, Loiters, Left, LoiterEnded}
		if len(got) != len(want) {
			t.Fatalf("events %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("events %v, want %v", got, want)
			}
		}
		sc.balanced()
	})
}

func TestTrackerCrossingPathsKeepIds(t *testing.T) {
	sc := newScene(t, false)
	var a, b int
	// A walks right from x=300, B left from x=1000, 100 px per half second
	for i := range 10 {
		s := float64(i) / 2
		xa, xb := 300+100*i, 1000-100*i
		var found []Person
		if d := xb - xa; d > 60 || d < -60 {
			found = []Person{walker(xa), walker(xb)}
		} else { // crossing: one hides the other
			found = []Person{walker(xa)}
		}
		moved := []image.Rectangle{walker(xa).Box, walker(xb).Box}
		sc.step(s, found, moved)
		if i == 2 {
			a, b = sc.trackAt(xa).ID, sc.trackAt(xb).ID
		}
		if i == 9 {
			if got := sc.trackAt(xa).ID; got != a {
				t.Errorf("after crossing, A (walking right) is track %d, want %d", got, a)
			}
			if got := sc.trackAt(xb).ID; got != b {
				t.Errorf("after crossing, B (walking left) is track %d, want %d", got, b)
			}
		}
	}
	if a == b || a == 0 {
		t.Fatalf("tracks %d and %d", a, b)
	}
	// A entered the right half and B left it: one each
	var entered, left []int
	for _, e := range sc.events {
		switch e.Kind {
		case Entered:
			entered = append(entered, e.Track)
		case Left:
			left = append(left, e.Track)
		}
	}
	if len(entered) != 2 || len(left) != 1 || left[0] != b {
		t.Errorf("entered %v left %v, want A and B entered (B was there first), B left", entered, left)
	}
}

func TestTrackerOcclusionForASecondKeepsTheId(t *testing.T) {
	sc := newScene(t, false)
	// C stands at x=900 in the zone; D walks past in front, from x=600
	// to x=1200, hiding C for a second (two analyses)
	for i := range 12 {
		s := float64(i) / 2
		xd := 600 + 50*i
		found := []Person{walker(xd)}
		hidden := xd > 850 && xd < 960
		if !hidden {
			found = append(found, walker(900))
		}
		if ev := sc.step(s, found, []image.Rectangle{walker(xd).Box}); hidden {
			for _, e := range ev {
				if e.Kind == Left {
					t.Fatalf("t=%.1f hidden: %+v left", s, e)
				}
			}
		}
	}
	ids := map[int]bool{}
	for _, e := range sc.events {
		if e.Kind == Entered {
			ids[e.Track] = true
		}
		if e.Kind == Left {
			t.Errorf("left while both stay in the zone: %+v", e)
		}
	}
	if len(ids) != 2 || sc.zone.Count() != 2 {
		t.Errorf("entries of tracks %v, count %d; want C and D, 2 in the zone (events %+v)", ids, sc.zone.Count(), sc.events)
	}
}

func TestTwoPeopleEnteringTogetherGiveTwoEntries(t *testing.T) {
	sc := newScene(t, false)
	// two walk in side by side (100 px apart), then stand
	for i := range 8 {
		x := 500 + 60*min(i, 5)
		sc.step(float64(i)/2, []Person{walker(x), walker(x + 100)}, []image.Rectangle{walker(x).Box.Union(walker(x + 100).Box)})
	}
	if n := len(sc.events); n != 2 || sc.events[0].Track == sc.events[1].Track || sc.zone.Count() != 2 {
		t.Fatalf("events %+v, count %d; want two entries of different people", sc.events, sc.zone.Count())
	}
	// a worker arrives from the right while both stand there
	before := len(sc.events)
	for i := range 6 {
		x := 1300 - 60*i
		sc.step(4+float64(i)/2, []Person{walker(800), walker(900), walker(x)}, []image.Rectangle{walker(x).Box})
	}
	if ev := sc.events[before:]; len(ev) != 1 || ev[0].Kind != Entered || sc.zone.Count() != 3 {
		t.Fatalf("the arrival gave %+v, count %d; want one entry, 3 in the zone", ev, sc.zone.Count())
	}
	// all three walk off to the left, out of the zone
	for i := range 12 {
		d := 60 * (i + 1)
		ps := []Person{walker(800 - d), walker(900 - d), walker(1000 - d)}
		var moved []image.Rectangle
		for _, p := range ps {
			moved = append(moved, p.Box)
		}
		sc.step(7+float64(i)/2, ps, moved)
	}
	if sc.zone.Count() != 0 {
		t.Errorf("%d still in the zone after all walked off", sc.zone.Count())
	}
	sc.balanced()
}

func TestTrackerRechecksAStillTrack(t *testing.T) {
	sc := newScene(t, false)
	sc.step(0, []Person{walker(900)}, nil)
	sc.step(0.5, []Person{walker(900)}, nil)
	// confirmed and standing still where nothing moves: not searched...
	for s := 1.0; s < 5.5; s += 0.5 {
		sc.step(s, nil, nil)
		if look := sc.tr.Look(sc.t0.Add(time.Duration(s*float64(time.Second))), sc.th); len(look) != 0 {
			t.Fatalf("t=%.1fs searched %v while standing still (last found at 0.5 s)", s, look)
		}
	}
	// ...until recheck after the last find: a false find must not stay a
	// person for ever
	if look := sc.tr.Look(sc.t0.Add(5500*time.Millisecond), sc.th); len(look) != 1 || !look[0].In(walker(900).Box) {
		t.Fatalf("5 s after the last find: searched %v, want inside %v", look, walker(900).Box)
	}
	if sc.zone.Count() != 1 {
		t.Errorf("count %d while standing, want 1", sc.zone.Count())
	}
}

// detBox is the detector's box of a person h pixels tall with their feet
// at foot: a third taller than them, half as wide as tall.
func detBox(foot image.Point, h int) image.Rectangle {
	return image.Rect(foot.X-h/3, foot.Y-h-h/6, foot.X+h/3, foot.Y+h/6)
}

func TestTrackerKeepsSomeoneStandingWhileAPasserByHidesThem(t *testing.T) {
	sc := newScene(t, false)
	step := sc.follow
	size := image.Pt(1280, 720)
	me := placed{"c0", image.Pt(900, 600), 160}
	// found twice standing, then never again: the detector misses them
	still := frameOfPeople(t, size, me)
	step(0, still, []Person{{Box: detBox(me.foot, me.h), Score: 2}}, nil)
	step(0.5, still, []Person{{Box: detBox(me.foot, me.h), Score: 2}}, nil)
	if len(sc.events) != 1 || sc.events[0].Kind != Entered {
		t.Fatalf("sc.events %+v after two finds, want one entry", sc.events)
	}
	id := sc.events[0].Track
	// someone walks past in front of them, 80 px every half second, found
	// each time; their motion covers the one standing
	for i := range 14 {
		w := placed{"d0", image.Pt(500+80*i, 650), 175}
		wb := detBox(w.foot, w.h)
		step(1+float64(i)/2, frameOfPeople(t, size, me, w), []Person{{Box: wb, Score: 2}}, []image.Rectangle{wb})
	}
	for _, e := range sc.events {
		if e.Track == id && e.Kind != Entered {
			t.Fatalf("the person standing still: %+v while someone passed, want nothing (sc.events %+v)", e, sc.events)
		}
	}
	// they go while nobody looks (no find, nothing moved where they
	// stood): the street where they stood is not them
	empty := frameOfPeople(t, size)
	for s := 8.0; s < 11; s += 0.5 {
		step(s, empty, nil, nil)
	}
	left := false
	for _, e := range sc.events {
		left = left || (e.Track == id && e.Kind == Left)
	}
	if !left {
		t.Errorf("gone unseen: no Left of track %d after 3 s (sc.events %+v)", id, sc.events)
	}
}

func TestTrackerFollowsARunnerFromTheirSecondFind(t *testing.T) {
	sc := newScene(t, false)
	// a person 50 px tall (box 66) running 100 px every half second: two
	// box heights a second
	ids := map[int]bool{}
	for i := range 6 {
		foot := image.Pt(300+100*i, 400)
		b := detBox(foot, 50)
		sc.step(float64(i)/2, []Person{{Box: b, Score: 2}}, []image.Rectangle{b})
		for _, tk := range sc.tr.Tracks() {
			if tk.Seen() {
				ids[tk.ID] = true
			}
		}
	}
	if len(ids) != 1 {
		t.Fatalf("tracks %v for one runner, want one", ids)
	}
	var ev []PresenceEvent
	for _, e := range sc.events {
		ev = append(ev, e.Kind)
	}
	if len(ev) != 1 || ev[0] != Entered {
		t.Errorf("events %v as they ran into the right half, want one Entered", ev)
	}
}

func TestTrackerRejoinsSomeoneSettingOff(t *testing.T) {
	sc := newScene(t, false)
	for s := 0.0; s <= 3; s += 0.5 {
		sc.step(s, []Person{walker(900)}, nil)
	}
	id := sc.trackAt(900).ID
	// they set off: their motion covers them; the detector's first finds
	// are of a smaller box (the legs, a half-turned body), too unlike
	// their track to be them
	small := func(x int) Person {
		return Person{Box: image.Rect(x-25, 480, x+25, 604), Score: 1}
	}
	sc.step(3.5, []Person{small(930)}, []image.Rectangle{walker(900).Box})
	sc.step(4, []Person{small(970)}, []image.Rectangle{walker(950).Box})
	for _, e := range sc.events[1:] {
		t.Errorf("setting off gave %+v, want nothing (still in the zone)", e)
	}
	if got := sc.trackAt(970).ID; got != id {
		t.Errorf("after setting off they are track %d, want %d", got, id)
	}
	if n := len(sc.tr.Tracks()); n != 1 {
		t.Errorf("%d tracks, want 1: %+v", n, sc.tr.Tracks())
	}
}

func TestZonePeopleFeetJustInsideMustBeSeenTwice(t *testing.T) {
	th := DefaultThresholds()
	above := func(p image.Point) bool { return p.Y < 600 } // a zone's bottom edge at y=600
	t0 := time.Date(2026, 11, 24, 17, 12, 0, 0, time.UTC)
	play := func(feet ...int) []PresenceEvent {
		tr, z := NewTracker(), NewZonePeople(false)
		var got []PresenceEvent
		for i, y := range feet {
			now := t0.Add(time.Duration(i) * 500 * time.Millisecond)
			b := detBox(image.Pt(400+20*i, y), 150) // walking along the edge
			gone := tr.Update([]Person{{Box: b, Score: 2}}, []image.Rectangle{b}, now, th)
			got = append(got, kinds(z.Update(tr.Tracks(), gone, above, now, th))...)
		}
		return got
	}
	// 150 px tall: a sixth of the box (200) is 33 px
	if got := play(620, 590, 615, 620); len(got) != 0 {
		t.Errorf("feet 10 px inside once, between outside: %v, want nothing", got)
	}
	if got := play(620, 590, 585, 590); len(got) != 1 || got[0] != Entered {
		t.Errorf("feet just inside twice: %v, want Entered", got)
	}
	if got := play(540, 540); len(got) != 1 || got[0] != Entered {
		t.Errorf("feet well inside from the second find: %v, want Entered at once", got)
	}
}

func TestLookTellsSomeoneStandingFromTheStreetTheyLeft(t *testing.T) {
	size := image.Pt(1280, 720)
	me := placed{"c0", image.Pt(700, 600), 160}
	box := detBox(me.foot, me.h)
	img := frameOfPeople(t, size, me)
	l := lookOf(img, box)
	brighter := frameOfPeople(t, size, me)
	for i, v := range brighter.Y {
		brighter.Y[i] = uint8(min(255, int(v)*6/5+10))
	}
	moved := frameOfPeople(t, size, placed{me.name, me.foot.Add(image.Pt(3, 2)), me.h})
	for name, c := range map[string]struct {
		img  *image.YCbCr
		want bool
	}{
		"the same picture":              {img, true},
		"brighter (the light changed)":  {brighter, true},
		"swayed 3 px":                   {moved, true},
		"the street without them":       {frameOfPeople(t, size), false},
		"someone else there":            {frameOfPeople(t, size, placed{"b3", me.foot, me.h}), false},
		"someone else passing in front": {frameOfPeople(t, size, me, placed{"d0", me.foot.Add(image.Pt(10, 30)), 190}), false},
	} {
		if got := l.alike(lookOf(c.img, box)); got != c.want {
			o := lookOf(c.img, box)
			r, _, _ := correlation(l.cells[:], o.cells[:])
			t.Errorf("%s: alike %v (correlation %.2f), want %v", name, got, r, c.want)
		}
	}
}

// Someone found once is looked at again within a quarter of the interval,
// for a second at most; once confirmed, or with nobody new, the camera
// goes back to its rate.
func TestAnalysisHurriesOnlyToConfirmSomeoneNew(t *testing.T) {
	sc := newScene(t, false)
	a := &analysis{tracker: sc.tr}
	const rate = 2
	if got := a.interval(rate, sc.t0, sc.th); got != 500*time.Millisecond {
		t.Fatalf("nobody tracked: next analysis in %v, want 500ms", got)
	}
	sc.step(0, []Person{walker(300)}, []image.Rectangle{walker(300).Box})
	if got := a.interval(rate, sc.t0.Add(100*time.Millisecond), sc.th); got != 125*time.Millisecond {
		t.Fatalf("someone found once: next analysis in %v, want 125ms", got)
	}
	if got := a.interval(rate, sc.t0.Add(1500*time.Millisecond), sc.th); got != 500*time.Millisecond {
		t.Errorf("a find never repeated, 1.5 s on: next analysis in %v, want 500ms", got)
	}
	sc.step(0.125, []Person{walker(310)}, []image.Rectangle{walker(310).Box})
	if got := a.interval(rate, sc.t0.Add(200*time.Millisecond), sc.th); got != 500*time.Millisecond {
		t.Errorf("confirmed: next analysis in %v, want 500ms", got)
	}
}

// A worker stands beside a resident, then walks off past them: his finds
// cross the resident's box and may take their track for a moment. The
// resident, missed by the detector ever after, is still there: their
// track must come back to where they stood alone, not end (and have them
// enter again when they finally walk away).
func TestTrackerKeepsSomeoneStandingAfterAWorkerBesideThemWalksOff(t *testing.T) {
	sc := newScene(t, false)
	step := sc.follow
	size := image.Pt(1280, 720)
	me := placed{"c0", image.Pt(900, 600), 160}
	mine := Person{Box: detBox(me.foot, me.h), Score: 2}
	alone := frameOfPeople(t, size, me)
	for s := 0.0; s < 2; s += 0.5 {
		step(s, alone, []Person{mine}, nil)
	}
	id := sc.events[0].Track
	// the worker comes from the left and stands 80 px beside them, both
	// found, their boxes overlapping
	s := 2.0
	for x := 500; x <= 820; x += 80 {
		w := placed{"d0", image.Pt(x, 605), 165}
		wb := detBox(w.foot, w.h)
		step(s, frameOfPeople(t, size, me, w), []Person{mine, {Box: wb, Score: 2}}, []image.Rectangle{wb})
		s += 0.5
	}
	for ; s < 10; s += 0.5 {
		w := placed{"d0", image.Pt(820, 605), 165}
		step(s, frameOfPeople(t, size, me, w), []Person{mine, {Box: detBox(w.foot, w.h), Score: 2}}, nil)
	}
	// he walks off to the right in front of them, found each time; they
	// are not found again
	for x := 900; x <= 1400; x += 80 {
		w := placed{"d0", image.Pt(x, 605), 165}
		wb := detBox(w.foot, w.h)
		step(s, frameOfPeople(t, size, me, w), []Person{{Box: wb, Score: 2}}, []image.Rectangle{wb})
		s += 0.5
	}
	for end := s + 5; s < end; s += 0.5 {
		step(s, alone, nil, nil)
	}
	for _, e := range sc.events {
		if e.Track == id && e.Kind != Entered {
			t.Errorf("the resident standing still all along: %+v (sc.events %+v)", e, sc.events)
		}
	}
	if n := len(sc.events); n != 3 || sc.events[1].Kind != Entered || sc.events[2].Kind != Left || sc.events[2].Track == id {
		t.Errorf("sc.events %+v; want the resident's entry, the worker's entry and his exit only", sc.events)
	}
}
