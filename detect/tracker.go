package detect

import (
	"image"
	"math"
	"slices"
	"time"
)

// Track is one person followed from picture to picture: an id that stays
// theirs while they walk, stand, cross someone or are hidden for a moment.
type Track struct {
	ID        int
	Box       image.Rectangle // smoothed, full picture pixels
	Score     float64         // the detector's last score
	FirstSeen time.Time
	LastSeen  time.Time // found, or standing still where they were found
	LastFound time.Time // found by the detector
	Hits      int       // finds so far

	vx, vy  float64 // the box's velocity, pixels a second
	stirred bool    // something moved where they stand since their last find
	seen    bool    // found or kept still at the last Update
	look    look    // how the person looked in their last find's box (Follow only)
	// how they looked standing there with nobody's box over theirs: a
	// passer-by's find that took their track for a moment leaves look
	// with the passer-by in it, and this one still tells they stayed
	alone   look
	aloneAt time.Time // when alone was taken
}

// Confirmed reports whether the track has been found often enough to be a
// person rather than a false find.
func (t *Track) Confirmed(th Thresholds) bool { return t.Hits >= th.PersonHits }

// standStill is the most a track standing still moves, in heights of its
// box a second (a sway, the detector's box a few pixels off).
const standStill = 0.25

// stands reports whether t is a confirmed person standing still.
func (t *Track) stands(th Thresholds) bool {
	return t.Confirmed(th) && math.Hypot(t.vx, t.vy) < standStill*float64(max(1, t.Box.Dy()))
}

// boxesBut returns the boxes of the tracks other than t.
func boxesBut(tracks []*Track, t *Track) []image.Rectangle {
	out := make([]image.Rectangle, 0, len(tracks))
	for _, o := range tracks {
		if o != t {
			out = append(out, o.Box)
		}
	}
	return out
}

// Foot is where the tracked person stands (see Person.Foot).
func (t *Track) Foot() image.Point { return Person{Box: t.Box}.Foot() }

// predicted is where the box should be at now, coasting on its velocity.
func (t *Track) predicted(now time.Time) image.Rectangle {
	dt := now.Sub(t.LastSeen).Seconds()
	return t.Box.Add(image.Pt(int(math.Round(t.vx*dt)), int(math.Round(t.vy*dt))))
}

// Tracker follows the people the detector finds: each find goes to the
// track whose predicted box is nearest (overlap first, then centre
// distance against the person's height); tracks not found coast on their
// velocity for PersonGone; a confirmed track that still looks as at its
// last find (Follow), or nobody moved near (Update), stays where it is (the
// detector misses people standing still as often as it finds them). It is
// not safe for concurrent use.
type Tracker struct {
	next   int
	tracks []*Track
}

// NewTracker returns an empty tracker; ids start at 1.
func NewTracker() *Tracker { return &Tracker{next: 1} }

// Tracks returns the tracks alive (found or remembered), oldest first.
func (tr *Tracker) Tracks() []*Track { return tr.tracks }

// Seen reports whether t was found or kept still at the last Update.
func (t *Track) Seen() bool { return t.seen }

// recheck is how long a track may stand still unfound before the detector
// looks at it again: a false find that stood still would otherwise stay a
// person for ever (and hide its part of the zone).
const recheck = 5 * time.Second

// Look returns where to search for the tracked people again: around each
// track not yet confirmed, that something moved near since its last find,
// or not found for recheck (the person inside the detector's box, which has
// a margin of an eighth of its height and a quarter of its width on each
// side).
func (tr *Tracker) Look(now time.Time, th Thresholds) []image.Rectangle {
	var out []image.Rectangle
	for _, t := range tr.tracks {
		if t.Confirmed(th) && !t.stirred && now.Sub(t.LastFound) < recheck {
			continue
		}
		b := t.predicted(now)
		if !t.seen {
			// unfound: between where they were and where they would be
			// walking on (someone who stops overshoots the prediction)
			b = b.Union(t.Box)
		}
		out = append(out, image.Rect(b.Min.X+b.Dx()/4, b.Min.Y+b.Dy()/8, b.Max.X-b.Dx()/4, b.Max.Y-b.Dy()/8))
	}
	return out
}

// maxMatch is how far (centre distance over the person's height) a find
// may be from a track's predicted box to be that person.
const maxMatch = 0.7

// runSpeed is how far a person may go in a second, in heights of their
// box, as far as a track without a velocity (found once, or standing) is
// concerned: a run. A walker crossing the picture moves further between
// two analyses (half a second apart) than maxMatch alone allows for anyone
// small; each of their finds would start a new track and none would be
// confirmed before they stop.
const runSpeed = 2.0

// stillFor is how long a track kept by its look alone (Follow) may go
// without a find by the detector, which looks at it again every recheck: a
// false find on something that never moves must not be a person for ever.
const stillFor = time.Minute

// stillOverlap is the least overlap (intersection over union) of a find
// with the box of someone standing still for it to be them: the detector's
// boxes of one still person overlap more than that.
const stillOverlap = 0.4

// smoothing is the weight of a new find in the track's box.
const smoothing = 0.6

// Update takes the people found at now (full picture pixels) and the
// regions that moved, and returns the tracks that ended: not found for
// PersonGone. A confirmed track that is not found stays where it is while
// nothing moves there.
func (tr *Tracker) Update(found []Person, moved []image.Rectangle, now time.Time, th Thresholds) (gone []*Track) {
	return tr.Follow(nil, found, moved, now, th)
}

// Follow is Update with the picture the people were found in: a confirmed
// track that is not found stays where it is while its box still looks as
// it did at its last find (someone standing still, whether or not
// something moved next to them: a passer-by, their own arm), for at most
// stillFor since that find; one whose box looks otherwise (they walked
// on, unseen) coasts and ends after PersonGone. With img nil it is Update.
func (tr *Tracker) Follow(img *image.YCbCr, found []Person, moved []image.Rectangle, now time.Time, th Thresholds) (gone []*Track) {
	// here[i]: track i's box still looks as at its last find
	here := make([]bool, len(tr.tracks))
	if img != nil {
		for i, t := range tr.tracks {
			here[i] = t.Confirmed(th) && t.look.alike(lookOf(img, t.look.box))
			if !here[i] && t.Confirmed(th) && t.alone.ok && now.Sub(t.aloneAt) < stillFor && t.alone.alike(lookOf(img, t.alone.box)) {
				// back where they stood alone: what took their track
				// for a moment (a passer-by's find) has gone on
				here[i] = true
				t.Box, t.vx, t.vy, t.look = t.alone.box, 0, 0, t.alone
			}
		}
	}
	// cost[i][j]: how unlike find j is to track i's predicted box
	cost := make([][]float64, len(tr.tracks))
	for i, t := range tr.tracks {
		p := t.predicted(now)
		gate := maxMatch
		if t.Hits == 1 || (t.vx == 0 && t.vy == 0) {
			// no velocity to predict with: found once, or standing
			// (someone setting off from where they stood)
			gate += runSpeed * min(now.Sub(t.LastSeen).Seconds(), 1)
		}
		cost[i] = make([]float64, len(found))
		for j, f := range found {
			cost[i][j] = math.Inf(1)
			// Someone still standing where they were found is not a find
			// beside them: that is another person, passing or coming to
			// stand next to them (the detector missed the one standing).
			if here[i] && iou(t.Box, f.Box) < stillOverlap {
				continue
			}
			if d := dist(centre(p), centre(f.Box)) / float64(max(1, p.Dy(), f.Box.Dy())); d < gate && similarSize(p, f.Box) {
				// in maxMatch units: a find at the edge of a wider gate
				// must still cost less than leaving both alone
				cost[i][j] = maxMatch*d/gate - iou(p, f.Box)
			}
		}
	}
	match := assign(cost, len(found))
	tookF := make([]bool, len(found))
	for i, j := range match {
		if j >= 0 {
			tookF[j] = true
			t := tr.tracks[i]
			t.found(found[j], now)
			if img != nil {
				t.look = lookOf(img, found[j].Box)
				if t.stands(th) && !overlapsAny(found[j].Box, boxesBut(tr.tracks, t)) {
					t.alone, t.aloneAt = t.look, now
				}
			}
		}
	}
	var alive []*Track
	for i, t := range tr.tracks {
		if match[i] < 0 {
			t.seen = false
			if overlapsAny(t.predicted(now), moved) {
				t.stirred = true
			}
			still := t.Confirmed(th) && !t.stirred
			if img != nil {
				still = here[i] && now.Sub(t.LastFound) < stillFor
			}
			switch {
			case still:
				// standing still where they were found
				t.LastSeen, t.vx, t.vy, t.seen = now, 0, 0, true
			case now.Sub(t.LastSeen) >= th.PersonGone:
				gone = append(gone, t)
				continue
			}
		}
		alive = append(alive, t)
	}
	for j, f := range found {
		if !tookF[j] {
			t := &Track{ID: tr.next, Box: f.Box, Score: f.Score, FirstSeen: now, LastSeen: now, LastFound: now, Hits: 1, seen: true}
			if img != nil {
				t.look = lookOf(img, f.Box)
			}
			alive = append(alive, t)
			tr.next++
		}
	}
	tr.tracks, gone = rejoin(alive, gone, now, th)
	return gone
}

// rejoin gives a track confirmed at now the id of a confirmed track lost
// near it (unfound at now, or ended at now) and ends the new one: a person
// setting off from where they stood, or coming out from behind someone,
// whose first finds were too far from their track, or too unlike in size,
// to be theirs. Without it they would leave and come in again as someone
// new. The nearest lost track within what a run covers since it was last
// found takes them.
func rejoin(alive, gone []*Track, now time.Time, th Thresholds) ([]*Track, []*Track) {
	for i := 0; i < len(alive); i++ {
		n := alive[i]
		if n.Hits != th.PersonHits || !n.LastFound.Equal(now) {
			continue
		}
		var best *Track
		bestD := math.Inf(1)
		for _, o := range slices.Concat(alive, gone) {
			if o == n || o.seen || o.ID > n.ID || !o.Confirmed(th) {
				continue
			}
			h := float64(max(1, o.Box.Dy(), n.Box.Dy()))
			d := dist(centre(o.Box), centre(n.Box)) / h
			if d < maxMatch+runSpeed*min(now.Sub(o.LastFound).Seconds(), 2) && d < bestD {
				best, bestD = o, d
			}
		}
		if best == nil {
			continue
		}
		best.Box, best.Score, best.vx, best.vy, best.look = n.Box, n.Score, n.vx, n.vy, n.look
		best.LastSeen, best.LastFound, best.Hits, best.stirred, best.seen = now, now, best.Hits+n.Hits, false, true
		alive = slices.Delete(alive, i, i+1)
		i--
		if j := slices.Index(gone, best); j >= 0 {
			gone = slices.Delete(gone, j, j+1)
			alive = append(alive, best)
		}
	}
	return alive, gone
}

// assign pairs tracks with finds (match[track] = find, -1 for none) for
// the least total cost, a track or a find left alone costing maxMatch
// (the Hungarian method over tracks and finds padded with "nobody"). People
// side by side who walk further in one analysis than the gap between them
// would swap ids under greedy pairing.
func assign(cost [][]float64, finds int) []int {
	nt := len(cost)
	n := nt + finds
	c := func(i, j int) float64 { // 0-based, the padded square
		switch {
		case i < nt && j < finds:
			if math.IsInf(cost[i][j], 1) {
				return 1e6
			}
			return cost[i][j]
		case i < nt || j < finds:
			return maxMatch
		}
		return 0
	}
	// e-maxx's O(n³) Hungarian, 1-based with row/column potentials
	u, v := make([]float64, n+1), make([]float64, n+1)
	p, way := make([]int, n+1), make([]int, n+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		minv := make([]float64, n+1)
		used := make([]bool, n+1)
		for j := range minv {
			minv[j] = math.Inf(1)
		}
		for p[j0] != 0 {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= n; j++ {
				if used[j] {
					continue
				}
				if cur := c(i0-1, j-1) - u[i0] - v[j]; cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	match := make([]int, nt)
	for i := range match {
		match[i] = -1
	}
	for j := 1; j <= finds; j++ {
		if i := p[j] - 1; i < nt && !math.IsInf(cost[i][j-1], 1) {
			match[i] = j - 1
		}
	}
	return match
}

// found moves t to f, seen at now: the box smoothed, the velocity learnt.
func (t *Track) found(f Person, now time.Time) {
	if dt := now.Sub(t.LastSeen).Seconds(); dt > 0 {
		c0, c1 := centre(t.Box), centre(f.Box)
		vx, vy := (c1.X-c0.X)/dt, (c1.Y-c0.Y)/dt
		if t.Hits > 1 { // the first velocity is measured, not halved
			vx, vy = (t.vx+vx)/2, (t.vy+vy)/2
		}
		t.vx, t.vy = vx, vy
	}
	p := t.predicted(now)
	mix := func(a, b int) int { return int(math.Round((1-smoothing)*float64(a) + smoothing*float64(b))) }
	t.Box = image.Rect(mix(p.Min.X, f.Box.Min.X), mix(p.Min.Y, f.Box.Min.Y), mix(p.Max.X, f.Box.Max.X), mix(p.Max.Y, f.Box.Max.Y))
	t.Score, t.LastSeen, t.LastFound, t.stirred, t.seen = f.Score, now, now, false, true
	t.Hits++
}

// similarSize reports whether two boxes can be the same person: heights
// within a factor of 1.6 (the detector's box of one person varies by a
// scale step or two; a near and a far person differ more).
func similarSize(a, b image.Rectangle) bool {
	ha, hb := max(1, a.Dy()), max(1, b.Dy())
	return 5*ha <= 8*hb && 5*hb <= 8*ha
}

type point struct{ X, Y float64 }

func centre(r image.Rectangle) point {
	return point{float64(r.Min.X+r.Max.X) / 2, float64(r.Min.Y+r.Max.Y) / 2}
}

func dist(a, b point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

func iou(a, b image.Rectangle) float64 {
	in := area(a.Intersect(b))
	if in == 0 {
		return 0
	}
	return float64(in) / float64(area(a)+area(b)-in)
}

// deepInside reports whether t's feet are inside by a sixth of its box's
// height up and down: about how far the detector's box bottom wanders
// from one find to the next (walkers' boxes sit higher than those of
// people standing). Feet found only just inside must be found inside
// again (insideTimes) before the person counts as in: someone passing
// with their feet just outside a zone's edge does not come in. Once in,
// the plain edge counts, so a person standing on it does not leave and
// come back.
func deepInside(t *Track, inside func(image.Point) bool) bool {
	f, m := t.Foot(), t.Box.Dy()/6
	return inside(f.Add(image.Pt(0, m))) && inside(f.Add(image.Pt(0, -m)))
}

// insideTimes is how many analyses in a row feet not deepInside must be
// seen inside a zone to come in.
const insideTimes = 2

// PresenceEvent is what a zone's people update reports.
type PresenceEvent int

// The events: someone came in, they left, they stayed too long in a
// restricted zone, nobody stays too long there any more.
const (
	Entered PresenceEvent = iota + 1
	Left
	Loiters
	LoiterEnded
)

// ZoneEvent is one person's coming into or leaving a zone.
type ZoneEvent struct {
	Kind  PresenceEvent
	Track int
	Since time.Time     // when they came in
	Dwell time.Duration // on Left: how long they stayed
	Box   image.Rectangle
	Score float64
}

// ZonePeople counts the tracked people in one zone: each confirmed track
// whose feet are well in it, or in it twice in a row (deepInside), came
// in (once), and leaves when its feet are seen
// outside twice in a row or it is lost; every Entered gets exactly one Left.
type ZonePeople struct {
	restricted bool
	in         map[int]*stay
	edge       map[int]int // tracks not in: analyses in a row with their feet inside
	loitering  bool
}

type stay struct {
	since, last time.Time
	out         int // analyses in a row with the feet seen outside
	box         image.Rectangle
	score       float64
}

// outsideTimes is how many finds in a row must show someone's feet
// outside the zone before they count as having left it: a box jitters.
const outsideTimes = 2

// NewZonePeople returns the people count of a zone; restricted zones
// report loitering.
func NewZonePeople(restricted bool) *ZonePeople {
	return &ZonePeople{restricted: restricted, in: map[int]*stay{}, edge: map[int]int{}}
}

// Count is how many people are in the zone.
func (z *ZonePeople) Count() int { return len(z.in) }

// Has reports whether track id is counted in the zone.
func (z *ZonePeople) Has(id int) bool { return z.in[id] != nil }

// Since returns when the earliest of the people in the zone came in (zero:
// nobody).
func (z *ZonePeople) Since() time.Time {
	var t time.Time
	for _, s := range z.in {
		if t.IsZero() || s.since.Before(t) {
			t = s.since
		}
	}
	return t
}

// Update takes the tracker's tracks after its Update at now, the tracks it
// ended, and whether a point (full picture pixels) is in the zone; it
// returns what changed, in track order.
func (z *ZonePeople) Update(tracks, gone []*Track, inside func(image.Point) bool, now time.Time, th Thresholds) []ZoneEvent {
	var ev []ZoneEvent
	leave := func(id int, s *stay) {
		delete(z.in, id)
		ev = append(ev, ZoneEvent{Kind: Left, Track: id, Since: s.since, Dwell: s.last.Sub(s.since), Box: s.box, Score: s.score})
	}
	for _, t := range gone {
		delete(z.edge, t.ID)
		if s := z.in[t.ID]; s != nil {
			leave(t.ID, s)
		}
	}
	for _, t := range tracks {
		s := z.in[t.ID]
		switch {
		case !t.seen:
			if s != nil && now.Sub(s.last) >= th.PersonGone {
				leave(t.ID, s)
			}
		case inside(t.Foot()):
			if s == nil {
				z.edge[t.ID]++
				if !t.Confirmed(th) || (z.edge[t.ID] < insideTimes && !deepInside(t, inside)) {
					continue
				}
				delete(z.edge, t.ID)
				since := now
				if t.Hits == th.PersonHits { // just confirmed: in since first seen
					since = t.FirstSeen
				}
				s = &stay{since: since}
				z.in[t.ID] = s
				ev = append(ev, ZoneEvent{Kind: Entered, Track: t.ID, Since: since, Box: t.Box, Score: t.Score})
			}
			s.last, s.out, s.box, s.score = now, 0, t.Box, t.Score
		case s != nil:
			// counted on finds only: a track kept where it stands keeps
			// the box of its last find, seen once however long it stays
			if !t.LastFound.Equal(now) {
				break
			}
			if s.out++; s.out >= outsideTimes {
				leave(t.ID, s)
			}
		default:
			delete(z.edge, t.ID)
		}
	}
	if z.restricted {
		var long *ZoneEvent
		for _, t := range tracks {
			if s := z.in[t.ID]; s != nil && now.Sub(s.since) >= th.LoiterAfter && long == nil {
				long = &ZoneEvent{Kind: Loiters, Track: t.ID, Since: s.since, Dwell: now.Sub(s.since), Box: s.box, Score: s.score}
			}
		}
		switch {
		case long != nil && !z.loitering:
			z.loitering = true
			ev = append(ev, *long)
		case long == nil && z.loitering:
			z.loitering = false
			ev = append(ev, ZoneEvent{Kind: LoiterEnded})
		}
	}
	return ev
}
