package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"qianliyan/internal/scene"
	"qianliyan/internal/testenv"
)

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// visits is the truth of a zone z with people in it over the given spans.
func visits(zone string, spans ...[2]float64) []scene.Visit {
	var out []scene.Visit
	for i, s := range spans {
		out = append(out, scene.Visit{Zone: zone, Walk: i, Enter: sec(s[0]), Exit: sec(s[1])})
	}
	return out
}

var testSettings = Settings{ZoneHold: 5 * time.Second, LoiterAfter: 20 * time.Second}

func TestScoreMatchesEntriesOneToOneWithinTolerance(t *testing.T) {
	z := scene.Zone{Name: "z", Kind: "watch"}
	// three people come in together at 20 s, one alone at 40 s, one at 60 s
	tr := scene.Truth{Visits: visits("z", [2]float64{20, 30}, [2]float64{20.5, 30.5}, [2]float64{21, 31}, [2]float64{40, 45}, [2]float64{60, 70})}
	seen := []Seen{
		{"z", PersonEntered, sec(20.8), 0}, // the group: one report for three
		{"z", PersonEntered, sec(39.5), 0}, // a little early: still the one at 40 s
		{"z", PersonEntered, sec(41), 0},   // a second report of the same person: false
		{"z", PersonEntered, sec(66), 0},   // 6 s late: too late, false, and the 60 s entry missed
		{"other", PersonEntered, sec(20.9), 0},
		{"z", PersonLeft, sec(33), 0},   // 2.5 s after the last of the group left
		{"z", PersonLeft, sec(44.5), 0}, // 0.5 s early
		{"z", PersonLeft, sec(85), 0},   // 15 s late: no exit's
	}
	sc := ScoreZone(z, tr, seen, Window{From: 10 * time.Second, To: 90 * time.Second}, testSettings)
	if sc.Entries != 5 || sc.TP != 2 || sc.FP != 2 || sc.FN != 3 {
		t.Errorf("entries %d TP %d FP %d FN %d, want 5 entries, 2 TP (the group's first, 40 s), 2 FP (41 s, 66 s), 3 FN", sc.Entries, sc.TP, sc.FP, sc.FN)
	}
	if want := []time.Duration{sec(0.8), sec(-0.5)}; len(sc.EntryLatency) != 2 || sc.EntryLatency[0] != want[0] || sc.EntryLatency[1] != want[1] {
		t.Errorf("entry latencies %v, want %v (the group's report counts from its first entry)", sc.EntryLatency, want)
	}
	if sc.Exits != 5 || sc.ExitsSeen != 2 {
		t.Errorf("exits seen %d of %d, want 2 of 5", sc.ExitsSeen, sc.Exits)
	}
	if want := []time.Duration{sec(3), sec(-0.5)}; len(sc.ExitLatency) != 2 || sc.ExitLatency[0] != want[0] || sc.ExitLatency[1] != want[1] {
		t.Errorf("exit latencies %v, want %v (the group's one report takes the first exit it can be of)", sc.ExitLatency, want)
	}
}

func TestScoreLeavesOutWhatIsOutsideTheWindow(t *testing.T) {
	z := scene.Zone{Name: "z", Kind: "watch"}
	tr := scene.Truth{Visits: visits("z", [2]float64{5, 8}, [2]float64{20, 95})}
	seen := []Seen{{"z", PersonEntered, sec(2), 0}, {"z", PersonEntered, sec(21), 0}}
	sc := ScoreZone(z, tr, seen, Window{From: 10 * time.Second, To: 90 * time.Second}, testSettings)
	if sc.Entries != 1 || sc.TP != 1 || sc.FP != 0 || sc.Exits != 0 {
		t.Errorf("entries %d TP %d FP %d exits %d, want the one entry in the window, matched, and no exit (it is after the window)", sc.Entries, sc.TP, sc.FP, sc.Exits)
	}
}

func TestScoreTellsFalseIncidentsFromDueOnes(t *testing.T) {
	bin := scene.Zone{Name: "bin", Kind: "bin"}
	tr := scene.Truth{
		Visits:   visits("bin", [2]float64{15, 45}),
		BinFalls: map[string][]scene.Span{"bin": {{From: 60 * time.Second, To: 80 * time.Second}}},
	}
	seen := []Seen{
		{"bin", ZoneChanged, sec(30), 0}, // the person standing there: false
		{"bin", ZoneChanged, sec(66), 0}, // the fall (due at 65 s)
		{"bin", Loitering, sec(40), 0},   // not a restricted zone: false
	}
	sc := ScoreZone(bin, tr, seen, Window{From: 10 * time.Second, To: 90 * time.Second}, testSettings)
	if sc.ChangesDue != 1 || sc.ChangesSeen != 1 || sc.FalseChanged != 1 || len(sc.ChangeLatency) != 1 || sc.ChangeLatency[0] != sec(1) {
		t.Errorf("zone_changed due %d seen %d false %d latency %v, want 1 due, seen 1 s after the hold, 1 false", sc.ChangesDue, sc.ChangesSeen, sc.FalseChanged, sc.ChangeLatency)
	}
	if sc.LoitersDue != 0 || sc.FalseLoitering != 1 {
		t.Errorf("loitering due %d false %d, want none due and 1 false", sc.LoitersDue, sc.FalseLoitering)
	}

	door := scene.Zone{Name: "door", Kind: "restricted"}
	tr = scene.Truth{Visits: visits("door", [2]float64{20, 30}, [2]float64{40, 80})}
	seen = []Seen{{"door", Loitering, sec(29), 0}, {"door", Loitering, sec(61), 0}}
	sc = ScoreZone(door, tr, seen, Window{From: 10 * time.Second, To: 90 * time.Second}, testSettings)
	if sc.LoitersDue != 1 || sc.LoitersSeen != 1 || sc.FalseLoitering != 1 {
		t.Errorf("loitering due %d seen %d false %d, want the 40 s stay's (due 60 s) seen, the one at 29 s false", sc.LoitersDue, sc.LoitersSeen, sc.FalseLoitering)
	}
}

func TestPercentileIsTheNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 20; i >= 1; i-- {
		ds = append(ds, sec(float64(i)))
	}
	if p := Percentile(ds, 50); p != sec(10) {
		t.Errorf("p50 of 1..20 s = %v, want 10s", p)
	}
	if p := Percentile(ds, 95); p != sec(19) {
		t.Errorf("p95 of 1..20 s = %v, want 19s", p)
	}
	if p := Percentile(nil, 95); p != 0 {
		t.Errorf("p95 of nothing = %v, want 0", p)
	}
}

func TestTableHasALinePerZoneKindAndTheTotal(t *testing.T) {
	var b strings.Builder
	WriteTable(&b, map[string]Score{
		"watch": {Entries: 4, TP: 3, FP: 1, FN: 1, EntryLatency: []time.Duration{sec(0.5), sec(1), sec(2)}},
		"bin":   {Entries: 1, FN: 1, ChangesDue: 1, FalseChanged: 2},
	})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[2], "| bin | 1 | 0 | 0 | 1 | 0% | – |") ||
		!strings.HasPrefix(lines[3], "| watch | 4 | 3 | 1 | 1 | 75% | 75% | 1.0 s | 2.0 s |") ||
		!strings.HasPrefix(lines[4], "| **all** | 5 | 3 | 1 | 2 | 60% | 75% |") || !strings.Contains(lines[2], "| 1/0 | 2 |") {
		t.Errorf("table:\n%s", b.String())
	}
}

// The eval scenes keep the promise the runner relies on: one length, zones
// to score, every zone empty and the bin standing until the reference is
// taken, and something to see in every zone.
func TestEvalScenesKeepTheirPromise(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(t), "cmd/camsim/scenes/eval-*.yaml"))
	if len(files) < 6 {
		t.Fatalf("%d eval scenes, want at least 6", len(files))
	}
	var length time.Duration
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := scene.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if length == 0 {
			length = s.Length
		}
		if s.Length != length {
			t.Errorf("%s is %v long, the others %v", s.Name, s.Length, length)
		}
		tr := s.Truth(evalHeight)
		for _, z := range s.Zones {
			n := 0
			for _, v := range tr.Visits {
				if v.Zone == z.Name {
					n++
				}
				if v.Enter < refAt+time.Second {
					t.Errorf("%s: people[%d] is in zone %s at %v, before the reference (%v) has been taken", s.Name, v.Walk, v.Zone, v.Enter, refAt)
				}
			}
			if n == 0 {
				t.Errorf("%s: nobody enters zone %s", s.Name, z.Name)
			}
		}
		for _, b := range s.Bin {
			if b.From < refAt+time.Second {
				t.Errorf("%s: the bin falls at %v, before the reference (%v)", s.Name, b.From, refAt)
			}
		}
	}
}
