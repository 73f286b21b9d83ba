package task_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"qianliyan/configs"
	"qianliyan/task"
)

// residentCenter is a center whose worker w1 is 王五 and w2 has no
// display name, showing workers to residents as show says.
func residentCenter(show string) *task.Center {
	return task.NewCenter(&configs.Config{
		Tasks: configs.Tasks{WorkerNameForResidents: show},
		Users: []configs.User{
			{Name: "w1", DisplayName: "王五", Role: configs.RoleWorker, Grids: []string{"g1"}},
			{Name: "w2", Role: configs.RoleWorker, Grids: []string{"g1", "g2"}},
			{Name: "w3", DisplayName: "Li Lei", Role: configs.RoleWorker, Grids: []string{"g1"}},
		},
		Cameras: []configs.Camera{{ID: "cam7", Grid: "g1", Public: true}},
	})
}

func TestWorkerNameForResidentsIsTheCentersChoice(t *testing.T) {
	for _, tc := range []struct {
		show, login, want string
	}{
		{"surname", "w1", "王师傅"},
		{"full", "w1", "王五"},
		{"none", "w1", ""},
		{"surname", "w2", ""}, // no display name: never the login
		{"full", "w2", ""},
		{"surname", "w3", ""}, // no Chinese surname to call 师傅
		{"full", "w3", "Li Lei"},
		{"surname", "nobody", ""},
	} {
		if got := residentCenter(tc.show).WorkerName(tc.login); got != tc.want {
			t.Errorf("%s with worker_name_for_residents %s: %q, want %q", tc.login, tc.show, got, tc.want)
		}
	}
}

// TestResidentSeesNoLoginsNorGPS walks the story's task to closed and
// reads it as the resident who reported it and as another one.
func TestResidentSeesNoLoginsNorGPS(t *testing.T) {
	e := newEnv(t, defaultLimits)
	tk := inStateBy(t, e.Store, resident, task.Closed)
	if _, _, err := e.Rate(ctx, tk.ID, resident, 5, "很快"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Rate(ctx, tk.ID, staff, 4, ""); err != nil {
		t.Fatal(err)
	}
	c := residentCenter("surname")
	other := task.Actor{ID: "r2", Role: task.Resident}
	for _, a := range []task.Actor{resident, other} {
		tk, err := e.Get(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		timeline, err := e.Timeline(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		ratings, err := e.Ratings(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		c.RedactDetail(a, tk, timeline, ratings)
		view := c.Redact(a, tk)
		b, _ := json.Marshal(map[string]any{"task": view, "timeline": timeline, "ratings": ratings})
		for _, leak := range []string{`"w1"`, `"staff1"`, `"gps"`, `"lat":33.5003`} {
			if strings.Contains(string(b), leak) {
				t.Errorf("%s sees %s in %s", a.ID, leak, b)
			}
		}
		if view.Worker != "王师傅" {
			t.Errorf("%s sees the worker as %q, want 王师傅", a.ID, view.Worker)
		}
		for _, en := range timeline {
			switch {
			case en.Role == task.Worker && en.By != "王师傅":
				t.Errorf("%s sees the worker's %s by %q, want 王师傅", a.ID, en.Action, en.By)
			case en.Action == task.Dispatch && en.Worker != "王师傅":
				t.Errorf("%s sees the dispatch to %q, want 王师傅", a.ID, en.Worker)
			case en.Role == task.Resident && a.ID == resident.ID && en.By != resident.ID:
				t.Errorf("the reporter sees their own %s by %q, want %s", en.Action, en.By, resident.ID)
			case en.Role == task.Resident && a.ID == other.ID && en.By != "":
				t.Errorf("another resident sees the reporter %q", en.By)
			}
		}
		if a.ID == other.ID && view.Reporter != "" {
			t.Errorf("another resident sees the reporter %q", view.Reporter)
		}
	}
	// staff see it all, the stored entries are untouched
	timeline, _ := e.Timeline(ctx, tk.ID)
	c.RedactDetail(staff, tk, timeline, nil)
	if timeline[4].Evidence == nil || timeline[4].Evidence.GPS == nil || timeline[4].By != "w1" {
		t.Errorf("staff see the arrival as %+v, want w1 with the GPS fix", timeline[4])
	}
	arrive := timeline[4]
	if v := c.RedactEntry(resident, tk, &arrive); v.Evidence != nil || arrive.Evidence.GPS == nil || v.By != "王师傅" {
		t.Errorf("RedactEntry gave %+v and left %+v; want a copy without GPS by 王师傅, the entry as it was", v, arrive)
	}
}

func TestAdoptGivesTheDevicesReportsToTheAccount(t *testing.T) {
	e := newEnv(t, defaultLimits)
	dev := task.Actor{ID: configs.DevicePrefix + "0123456789abcdef", Role: task.Resident}
	closed := inStateBy(t, e.Store, dev, task.Closed)
	if _, _, err := e.Rate(ctx, closed.ID, dev, 4, "不错"); err != nil {
		t.Fatal(err)
	}
	open := inStateBy(t, e.Store, dev, task.Dispatched)
	others := inStateBy(t, e.Store, resident, task.Reported)

	n, err := e.Adopt(ctx, dev.ID, "r9")
	if err != nil || n != 2 {
		t.Fatalf("Adopt = %d, %v; want 2 reports", n, err)
	}
	mine, total, err := e.List(ctx, task.Filter{Reporter: "r9"})
	if err != nil || total != 2 || len(mine) != 2 || !slices.ContainsFunc(mine, func(x *task.Task) bool { return x.ID == open.ID }) ||
		!slices.ContainsFunc(mine, func(x *task.Task) bool { return x.ID == closed.ID }) {
		t.Fatalf("r9 lists %d (%v), want the two reports %s and %s", total, err, open.ID, closed.ID)
	}
	for _, tk := range mine {
		if tk.Reporter != "r9" {
			t.Errorf("task %s reporter %q, want r9", tk.ID, tk.Reporter)
		}
	}
	if _, total, _ := e.List(ctx, task.Filter{Reporter: dev.ID}); total != 0 {
		t.Errorf("the device still lists %d reports", total)
	}
	if tk, _ := e.Get(ctx, others.ID); tk.Reporter != resident.ID {
		t.Errorf("another resident's report went to %q", tk.Reporter)
	}
	ratings, err := e.Ratings(ctx, closed.ID)
	if err != nil || len(ratings) != 1 || ratings[0].By != "r9" || ratings[0].Stars != 4 {
		t.Errorf("ratings %+v (%v), want the device's 4 stars, now r9's", ratings, err)
	}
	// the account now rates its report again (a later rating replaces its own)
	if tk, _, err := e.Rate(ctx, closed.ID, task.Actor{ID: "r9", Role: task.Resident}, 2, ""); err != nil || tk.Ratings.Stars != 2 || tk.Ratings.Count != 1 {
		t.Errorf("r9 rating its adopted report: %+v, %v; want one rating of 2 stars", tk, err)
	}
	if n, err := e.Adopt(ctx, dev.ID, "r9"); n != 0 || err != nil {
		t.Errorf("a second Adopt = %d, %v; want 0", n, err)
	}
	for _, bad := range [][2]string{{"r1", "r9"}, {dev.ID, ""}, {dev.ID, configs.DevicePrefix + "1"}} {
		if _, err := e.Adopt(ctx, bad[0], bad[1]); err == nil {
			t.Errorf("Adopt(%q, %q) took it, want a refusal", bad[0], bad[1])
		}
	}
}
