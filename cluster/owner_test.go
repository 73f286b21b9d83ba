package cluster

import (
	"fmt"
	"maps"
	"testing"
	"time"
)

func cams(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("cam%d", i+1)
	}
	return out
}

// live are members that have all been live for an hour.
func live(nodes ...string) []Member {
	var out []Member
	for _, n := range nodes {
		out = append(out, Member{Node: n, Since: t0.Add(-time.Hour)})
	}
	return out
}

var t0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func count(owners map[string]string) map[string]int {
	out := map[string]int{}
	for _, n := range owners {
		out[n]++
	}
	return out
}

func TestCamerasSpreadOverMembers(t *testing.T) {
	for _, tt := range []struct {
		cameras, lo, hi int
	}{{24, 4, 12}, {3000, 900, 1100}} {
		owners := Assign(cams(tt.cameras), nil, live("bridge-1", "bridge-2", "bridge-3"), 30*time.Second, t0)
		if len(owners) != tt.cameras {
			t.Fatalf("%d cameras: %d have an owner", tt.cameras, len(owners))
		}
		for n, k := range count(owners) {
			if k < tt.lo || k > tt.hi {
				t.Errorf("%d cameras over 3 members: %s owns %d, want %d..%d (all: %v)", tt.cameras, n, k, tt.lo, tt.hi, count(owners))
			}
		}
		if len(count(owners)) != 3 {
			t.Errorf("%d cameras: owners %v, want all 3 members", tt.cameras, count(owners))
		}
	}
}

func TestRemovingAMemberMovesOnlyItsCameras(t *testing.T) {
	all := cams(240)
	before := Assign(all, nil, live("a", "b", "c"), 0, t0)
	after := Assign(all, nil, live("a", "c"), 0, t0)
	moved := 0
	for _, cam := range all {
		switch {
		case before[cam] == "b":
			moved++
			if after[cam] == "b" {
				t.Errorf("%s still owned by the member gone", cam)
			}
		case after[cam] != before[cam]:
			t.Errorf("%s moved from %s to %s though its owner stayed", cam, before[cam], after[cam])
		}
	}
	if moved == 0 {
		t.Fatal("member b owned nothing: the test proves nothing")
	}
	// and adding it back takes back exactly those
	if back := Assign(all, nil, live("a", "b", "c"), 0, t0); !maps.Equal(back, before) {
		t.Error("adding the member back does not give the same owners as before")
	}
}

func TestPinsWin(t *testing.T) {
	all := cams(24)
	free := Assign(all, nil, live("a", "b", "c"), 0, t0)
	// pin every camera to a member that hashing does not give it
	pins := map[string]string{}
	for _, cam := range all {
		for _, n := range []string{"a", "b", "c"} {
			if n != free[cam] {
				pins[cam] = n
				break
			}
		}
	}
	pinned := Assign(all, pins, live("a", "b", "c"), 0, t0)
	for _, cam := range all {
		if pinned[cam] != pins[cam] {
			t.Errorf("%s pinned to %s is owned by %s", cam, pins[cam], pinned[cam])
		}
	}
	// a pinned camera whose member is gone falls to hashing over the others
	pins = map[string]string{"cam1": "z"}
	if got, want := Assign(all, pins, live("a", "b", "c"), 0, t0)["cam1"], free["cam1"]; got != want {
		t.Errorf("cam1 pinned to a member not live: owned by %s, want %s (hashing)", got, want)
	}
}

func TestAReturningMemberWaitsForTheHoldDown(t *testing.T) {
	all := cams(24)
	hold := 30 * time.Second
	back := append(live("a", "b"), Member{Node: "c", Since: t0})
	for _, tt := range []struct {
		at    time.Duration
		wantC bool
	}{{0, false}, {hold - time.Second, false}, {hold, true}} {
		owners := Assign(all, nil, back, hold, t0.Add(tt.at))
		if got := count(owners)["c"] > 0; got != tt.wantC {
			t.Errorf("%v after c came back: c owns %d cameras, want some: %v", tt.at, count(owners)["c"], tt.wantC)
		}
		if len(owners) != len(all) {
			t.Errorf("%v after c came back: %d of %d cameras owned", tt.at, len(owners), len(all))
		}
	}
	// members starting together (within the hold-down of the first) share at once
	together := []Member{{Node: "a", Since: t0}, {Node: "b", Since: t0.Add(2 * time.Second)}, {Node: "c", Since: t0.Add(4 * time.Second)}}
	if n := len(count(Assign(all, nil, together, hold, t0.Add(5*time.Second)))); n != 3 {
		t.Errorf("three members starting within the hold-down: %d of them own cameras, want 3", n)
	}
	if n := len(Assign(all, nil, nil, hold, t0)); n != 0 {
		t.Errorf("no member: %d cameras owned", n)
	}
}
