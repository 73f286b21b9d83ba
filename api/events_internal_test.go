package api

import (
	"encoding/json"
	"slices"
	"testing"

	"qianliyan/detect"
)

// TestEventsGoOnlyToWhoMaySeeThem: camera events by Principal.MayWatch,
// incidents to the center, and any other kind by the visibleTo it is
// published with (the hook task events use).
func TestEventsGoOnlyToWhoMaySeeThem(t *testing.T) {
	e := newEvents()
	cams := []Camera{{ID: "pub", Grid: "g2", Public: true}, {ID: "mine", Grid: "g1"}, {ID: "theirs", Grid: "g2"}}
	mayWatch := func(who Principal) func(id string) bool {
		return func(id string) bool {
			i := slices.IndexFunc(cams, func(c Camera) bool { return c.ID == id })
			return who.mayWatch(cams[i].Public, cams[i].Grid)
		}
	}
	who := map[string]Principal{
		"staff":     {ID: "staff", Role: RoleStaff},
		"admin":     {ID: "admin", Role: RoleAdmin},
		"worker":    {ID: "w1", Role: RoleWorker, Grids: []string{"g1"}},
		"resident":  {ID: "dev-1", Role: RoleResident},
		"anonymous": anonymous,
	}
	subs := map[string]*eventSub{}
	for name, p := range who {
		subs[name], _ = e.subscribe(p, mayWatch(p))
	}
	e.publishChanges(cams)
	e.publishIncident(detect.Incident{ID: "in1", Camera: "mine"})
	e.publish("task", []byte(`{"id":"t1"}`), func(p Principal) bool { return p.SeesAll() || p.InGrid("g1") })

	want := map[string][]string{
		"staff":     {"camera pub", "camera mine", "camera theirs", "incident", "task"},
		"admin":     {"camera pub", "camera mine", "camera theirs", "incident", "task"},
		"worker":    {"camera pub", "camera mine", "task"},
		"resident":  {"camera pub"},
		"anonymous": {"camera pub"},
	}
	for name, sub := range subs {
		var got []string
		for len(sub.ch) > 0 {
			m := <-sub.ch
			if m.name == "camera" {
				var c Camera
				_ = json.Unmarshal(m.data, &c)
				got = append(got, "camera "+c.ID)
			} else {
				got = append(got, m.name)
			}
		}
		if !slices.Equal(got, want[name]) {
			t.Errorf("%s got %v, want %v", name, got, want[name])
		}
	}

	// a late subscriber starts from the cameras it may watch
	p := who["worker"]
	_, first := e.subscribe(p, mayWatch(p))
	if len(first) != 2 {
		t.Errorf("a worker subscribing late gets %d cameras first, want 2 (pub and mine)", len(first))
	}
}
