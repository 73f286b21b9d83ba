package detect

import (
	"image"
	"time"
)

// Presence follows people in one zone: when someone came in, how long they
// have stayed, and whether that is loitering. The people detector misses a
// frame now and then, so coming in takes PersonHits finds in a row and
// leaving takes PersonGone without one.
type Presence struct {
	restricted bool

	hits      int       // finds in a row while nobody is counted in
	firstSeen time.Time // the first of those finds
	since     time.Time // when the counted person came in; zero: nobody
	lastSeen  time.Time
	best      Person        // the last find
	dwell     time.Duration // how long the last person who left stayed
	loitering bool          // loitering is up
}

// PresenceEvent is what a Presence update reports.
type PresenceEvent int

// The events: nothing new, someone came in, they left, they stayed too long
// in a restricted zone.
const (
	NobodyNew PresenceEvent = iota
	Entered
	Left
	Loiters
)

// NewPresence returns the presence of a zone; restricted zones report
// loitering.
func NewPresence(restricted bool) *Presence { return &Presence{restricted: restricted} }

// Since returns when the person now in the zone came in (zero: nobody).
func (p *Presence) Since() time.Time { return p.since }

// Last returns the last find in the zone.
func (p *Presence) Last() Person { return p.best }

// Update takes the people found in the zone at now (best first).
func (p *Presence) Update(found []Person, now time.Time, t Thresholds) PresenceEvent {
	if len(found) > 0 {
		p.lastSeen, p.best = now, found[0]
		if !p.since.IsZero() {
			if p.restricted && !p.loitering && now.Sub(p.since) >= t.LoiterAfter {
				p.loitering = true
				return Loiters
			}
			return NobodyNew
		}
		if p.hits == 0 {
			p.firstSeen = now
		}
		p.hits++
		if p.hits >= t.PersonHits {
			p.since, p.hits = p.firstSeen, 0
			return Entered
		}
		return NobodyNew
	}
	if p.since.IsZero() {
		if now.Sub(p.lastSeen) >= t.PersonGone {
			p.hits = 0
		}
		return NobodyNew
	}
	if now.Sub(p.lastSeen) >= t.PersonGone {
		p.dwell = p.lastSeen.Sub(p.since)
		p.since, p.loitering = time.Time{}, false
		return Left
	}
	return NobodyNew
}

// Dwell is how long the person counted in has stayed up to their last
// find, or once they left, how long they stayed.
func (p *Presence) Dwell() time.Duration {
	if p.since.IsZero() {
		return p.dwell
	}
	return p.lastSeen.Sub(p.since)
}

// Track is where to look for the person again when nothing moves (someone
// standing still makes no motion): the person inside the detector's last
// box, which has a margin of an eighth of its height and a quarter of its
// width on each side.
func (p *Presence) Track(now time.Time, t Thresholds) (image.Rectangle, bool) {
	if p.lastSeen.IsZero() || now.Sub(p.lastSeen) >= t.PersonGone {
		return image.Rectangle{}, false
	}
	b := p.best.Box
	return image.Rect(b.Min.X+b.Dx()/4, b.Min.Y+b.Dy()/8, b.Max.X-b.Dx()/4, b.Max.Y-b.Dy()/8), true
}
