// Package eval measures detection against the ground truth of camsim's
// scripted scenes: which entries into a zone the bridge reported and how
// late, which it missed or made up, and which incidents it raised that
// nothing in the scene called for. `make eval` plays the scenes against
// the real bridge (run_test.go); the scoring here is pure, so it is tested
// on synthetic events.
package eval

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"qianliyan/internal/scene"
)

// The tolerances of a match, around the true moment: a detection a little
// early still matches (the feet are an estimate, the detector may see
// them a step ahead), a late one up to the bound.
const (
	EntryEarly = 1 * time.Second
	EntryLate  = 5 * time.Second
	ExitEarly  = 1 * time.Second
	ExitLate   = 10 * time.Second
	// IncidentLate bounds how long after it is due (the bin's fall plus
	// the zone hold, an entry plus loiter_after) an incident still counts
	// as the scene's.
	IncidentLate = 10 * time.Second
)

// The kinds of event Seen carries (as the bridge names them).
const (
	PersonEntered = "person_entered"
	PersonLeft    = "person_left"
	ZoneChanged   = "zone_changed"
	Loitering     = "loitering"
)

// Seen is one thing the bridge reported about a zone: an observation
// (person_entered, person_left) or a new incident (zone_changed,
// loitering), at the scene time it was published.
type Seen struct {
	Zone  string
	Kind  string
	At    time.Duration
	Track int // the tracked person's id, for observations of people (0: none)
}

// Settings are the bridge's detection settings that make incidents due.
type Settings struct {
	ZoneHold    time.Duration // a zone must differ this long before zone_changed
	LoiterAfter time.Duration // a stay in a restricted zone this long is loitering
}

// Window is the stretch of scene time that is scored: true entries in
// [From, To), and what the bridge reported from a little before From to
// the late bounds after To.
type Window struct {
	From, To time.Duration
}

// Score is what one zone (or several, summed) scored.
type Score struct {
	Entries      int // true entries in the window
	TP, FP, FN   int // reported entries matched one-to-one, unmatched, missed
	EntryLatency []time.Duration
	Exits        int // true exits in the window
	ExitsSeen    int
	ExitLatency  []time.Duration

	ChangesDue, ChangesSeen int // bin falls, and those zone_changed came for
	ChangeLatency           []time.Duration
	FalseChanged            int // zone_changed nothing in the scene called for
	LoitersDue, LoitersSeen int
	FalseLoitering          int
}

// Add sums o into s.
func (s *Score) Add(o Score) {
	s.Entries += o.Entries
	s.TP += o.TP
	s.FP += o.FP
	s.FN += o.FN
	s.EntryLatency = append(s.EntryLatency, o.EntryLatency...)
	s.Exits += o.Exits
	s.ExitsSeen += o.ExitsSeen
	s.ExitLatency = append(s.ExitLatency, o.ExitLatency...)
	s.ChangesDue += o.ChangesDue
	s.ChangesSeen += o.ChangesSeen
	s.ChangeLatency = append(s.ChangeLatency, o.ChangeLatency...)
	s.FalseChanged += o.FalseChanged
	s.LoitersDue += o.LoitersDue
	s.LoitersSeen += o.LoitersSeen
	s.FalseLoitering += o.FalseLoitering
}

// ScoreZone scores what the bridge reported about one zone (seen, any
// zone's: it keeps the zone's own) against the truth of the script.
func ScoreZone(z scene.Zone, tr scene.Truth, seen []Seen, w Window, set Settings) Score {
	var visits []scene.Visit
	for _, v := range tr.Visits {
		if v.Zone == z.Name && v.Enter >= w.From && v.Enter < w.To {
			visits = append(visits, v)
		}
	}
	slices.SortStableFunc(visits, func(a, b scene.Visit) int { return int(a.Enter - b.Enter) })
	kinds := map[string][]time.Duration{}
	for _, s := range seen {
		if s.Zone == z.Name && s.At >= w.From-EntryEarly && s.At < w.To+ExitLate {
			kinds[s.Kind] = append(kinds[s.Kind], s.At)
		}
	}
	for _, ats := range kinds {
		slices.Sort(ats)
	}
	var sc Score

	// Entries: every report in the window is either a true entry's or false.
	enters := make([]time.Duration, len(visits))
	for i, v := range visits {
		enters[i] = v.Enter
	}
	var entered []time.Duration
	for _, at := range kinds[PersonEntered] {
		if at >= w.From-EntryEarly && at < w.To+EntryLate {
			entered = append(entered, at)
		}
	}
	pairs := match(enters, entered, EntryEarly, EntryLate)
	sc.Entries, sc.TP = len(visits), len(pairs)
	sc.FN, sc.FP = len(visits)-len(pairs), len(entered)-len(pairs)
	for _, p := range pairs {
		sc.EntryLatency = append(sc.EntryLatency, entered[p[1]]-enters[p[0]])
	}

	// Exits: only of people who leave within the window.
	var exits []time.Duration
	for _, v := range visits {
		if v.Exit < w.To {
			exits = append(exits, v.Exit)
		}
	}
	slices.Sort(exits)
	left := kinds[PersonLeft]
	pairs = match(exits, left, ExitEarly, ExitLate)
	sc.Exits, sc.ExitsSeen = len(exits), len(pairs)
	for _, p := range pairs {
		sc.ExitLatency = append(sc.ExitLatency, left[p[1]]-exits[p[0]])
	}

	// zone_changed: due at each fall of the bin in this zone, after the hold.
	var due []time.Duration
	for _, f := range tr.BinFalls[z.Name] {
		if f.From >= w.From && f.From < w.To {
			due = append(due, f.From+set.ZoneHold)
		}
	}
	changed := kinds[ZoneChanged]
	pairs = match(due, changed, set.ZoneHold, IncidentLate)
	sc.ChangesDue, sc.ChangesSeen, sc.FalseChanged = len(due), len(pairs), len(changed)-len(pairs)
	for _, p := range pairs {
		sc.ChangeLatency = append(sc.ChangeLatency, changed[p[1]]-due[p[0]])
	}

	// loitering: due in a restricted zone when a stay outlasts loiter_after.
	due = due[:0]
	if z.Kind == "restricted" {
		for _, v := range visits {
			if v.Exit-v.Enter > set.LoiterAfter {
				due = append(due, v.Enter+set.LoiterAfter)
			}
		}
	}
	loiter := kinds[Loitering]
	pairs = match(due, loiter, EntryEarly, IncidentLate)
	sc.LoitersDue, sc.LoitersSeen, sc.FalseLoitering = len(due), len(pairs), len(loiter)-len(pairs)
	return sc
}

// match pairs true moments with reported ones one-to-one, as a counter
// would: each report in time order takes the earliest true moment not yet
// taken that it can be of (from early before it to late after it). Both
// lists must be in time order. It returns index pairs [truth, report].
func match(truth, reported []time.Duration, early, late time.Duration) [][2]int {
	used := make([]bool, len(truth))
	var out [][2]int
	for j, r := range reported {
		for i, t := range truth {
			if d := r - t; !used[i] && d >= -early && d <= late {
				used[i] = true
				out = append(out, [2]int{i, j})
				break
			}
		}
	}
	return out
}

// Percentile is the p-th percentile (0–100, nearest rank) of ds, 0 when
// there are none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(p/100*float64(len(s))+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// WriteTable prints one line per zone kind (sorted) and a total line.
func WriteTable(out io.Writer, byKind map[string]Score) {
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var total Score
	fmt.Fprintln(out, "| zone kind | entries | TP | FP | FN | recall | precision | entry p50 | entry p95 | exits seen | exit p50 | exit p95 | zone_changed due/seen | false zone_changed | loitering due/seen | false loitering |")
	fmt.Fprintln(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, k := range kinds {
		writeRow(out, k, byKind[k])
		total.Add(byKind[k])
	}
	writeRow(out, "**all**", total)
}

func writeRow(out io.Writer, name string, s Score) {
	ratio := func(a, b int) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
	}
	secs := func(ds []time.Duration, p float64) string {
		if len(ds) == 0 {
			return "–"
		}
		// rounded first: a few milliseconds early print 0.0, not -0.0
		return fmt.Sprintf("%.1f s", Percentile(ds, p).Round(100*time.Millisecond).Seconds())
	}
	cells := []string{name, fmt.Sprint(s.Entries), fmt.Sprint(s.TP), fmt.Sprint(s.FP), fmt.Sprint(s.FN),
		ratio(s.TP, s.TP+s.FN), ratio(s.TP, s.TP+s.FP), secs(s.EntryLatency, 50), secs(s.EntryLatency, 95),
		fmt.Sprintf("%d/%d", s.ExitsSeen, s.Exits), secs(s.ExitLatency, 50), secs(s.ExitLatency, 95),
		fmt.Sprintf("%d/%d", s.ChangesDue, s.ChangesSeen), fmt.Sprint(s.FalseChanged),
		fmt.Sprintf("%d/%d", s.LoitersDue, s.LoitersSeen), fmt.Sprint(s.FalseLoitering)}
	fmt.Fprintln(out, "| "+strings.Join(cells, " | ")+" |")
}
