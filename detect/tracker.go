package detect

import (
	"image"
	"math"
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
}

// Confirmed reports whether the track has been found often enough to be a
// person rather than a false find.
func (t *Track) Confirmed(th Thresholds) bool { return t.Hits >= th.PersonHits }

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
// velocity for PersonGone; a confirmed track nobody moved near stays where
// it is (the detector misses people standing still as often as it finds
// them). It is not safe for concurrent use.
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
		out = append(out, image.Rect(b.Min.X+b.Dx()/4, b.Min.Y+b.Dy()/8, b.Max.X-b.Dx()/4, b.Max.Y-b.Dy()/8))
	}
	return out
}

// maxMatch is how far (centre distance over the person's height) a find
// may be from a track's predicted box to be that person.
const maxMatch = 0.7

// smoothing is the weight of a new find in the track's box.
const smoothing = 0.6

// Update takes the people found at now (full picture pixels) and the
// regions that moved, and returns the tracks that ended: not found for
// PersonGone.
func (tr *Tracker) Update(found []Person, moved []image.Rectangle, now time.Time, th Thresholds) (gone []*Track) {
	// cost[i][j]: how unlike find j is to track i's predicted box
	cost := make([][]float64, len(tr.tracks))
	for i, t := range tr.tracks {
		p := t.predicted(now)
		cost[i] = make([]float64, len(found))
		for j, f := range found {
			cost[i][j] = math.Inf(1)
			if d := dist(centre(p), centre(f.Box)) / float64(max(1, p.Dy(), f.Box.Dy())); d < maxMatch {
				cost[i][j] = d - iou(p, f.Box)
			}
		}
	}
	match := assign(cost, len(found))
	tookF := make([]bool, len(found))
	for i, j := range match {
		if j >= 0 {
			tookF[j] = true
			tr.tracks[i].found(found[j], now)
		}
	}
	var alive []*Track
	for i, t := range tr.tracks {
		if match[i] < 0 {
			t.seen = false
			if overlapsAny(t.predicted(now), moved) {
				t.stirred = true
			}
			switch {
			case t.Confirmed(th) && !t.stirred:
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
			alive = append(alive, &Track{ID: tr.next, Box: f.Box, Score: f.Score, FirstSeen: now, LastSeen: now, LastFound: now, Hits: 1, seen: true})
			tr.next++
		}
	}
	tr.tracks = alive
	return gone
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
		t.vx = (t.vx + (c1.X-c0.X)/dt) / 2
		t.vy = (t.vy + (c1.Y-c0.Y)/dt) / 2
	}
	p := t.predicted(now)
	mix := func(a, b int) int { return int(math.Round((1-smoothing)*float64(a) + smoothing*float64(b))) }
	t.Box = image.Rect(mix(p.Min.X, f.Box.Min.X), mix(p.Min.Y, f.Box.Min.Y), mix(p.Max.X, f.Box.Max.X), mix(p.Max.Y, f.Box.Max.Y))
	t.Score, t.LastSeen, t.LastFound, t.stirred, t.seen = f.Score, now, now, false, true
	t.Hits++
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
// whose feet are in it came in (once), and leaves when its feet are seen
// outside twice in a row or it is lost; every Entered gets exactly one Left.
type ZonePeople struct {
	restricted bool
	in         map[int]*stay
	loitering  bool
}

type stay struct {
	since, last time.Time
	out         int // analyses in a row with the feet seen outside
	box         image.Rectangle
	score       float64
}

// outsideTimes is how many analyses in a row someone's feet must be seen
// outside the zone before they count as having left it: a box jitters.
const outsideTimes = 2

// NewZonePeople returns the people count of a zone; restricted zones
// report loitering.
func NewZonePeople(restricted bool) *ZonePeople {
	return &ZonePeople{restricted: restricted, in: map[int]*stay{}}
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
				if !t.Confirmed(th) {
					continue
				}
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
			if s.out++; s.out >= outsideTimes {
				leave(t.ID, s)
			}
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
