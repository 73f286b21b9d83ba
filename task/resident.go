package task

import (
	"unicode"
	"unicode/utf8"
)

// What residents see of the people who handle their tasks: the center
// decides how a worker is named (tasks.worker_name_for_residents); staff
// are "the center", other residents nobody; no login name, GPS point or
// point reaches a resident.

// WorkerName is how residents see the worker whose login is login, by
// tasks.worker_name_for_residents: "full" gives the display name,
// "surname" (the default) its first character and 师傅 when it is Chinese
// (王五 → 王师傅), "none" nothing. Without a display name, or with none to
// give, it is "", which the pages show as 网格员: never the login.
func (c *Center) WorkerName(login string) string {
	u := c.cfg.User(login)
	if u == nil || u.DisplayName == "" {
		return ""
	}
	switch c.cfg.Tasks.WorkerNameForResidents {
	case "full":
		return u.DisplayName
	case "none":
		return ""
	}
	r, _ := utf8.DecodeRuneInString(u.DisplayName)
	if !unicode.Is(unicode.Han, r) {
		return ""
	}
	return string(r) + "师傅"
}

// Redact gives a's view of t: a resident sees who reported only their own
// tasks, and the worker as WorkerName names them; everyone else sees t.
func (c *Center) Redact(a Actor, t *Task) *Task {
	if a.Role != Resident {
		return t
	}
	v := *t
	if v.Reporter != a.ID {
		v.Reporter = ""
	}
	if v.Worker != "" {
		v.Worker = c.WorkerName(v.Worker)
	}
	return &v
}

// RedactDetail gives, in place, a resident's view of the timeline and
// ratings of t (see RedactEntry); others see them as they are.
func (c *Center) RedactDetail(a Actor, t *Task, timeline []Entry, ratings []Rating) {
	if a.Role != Resident {
		return
	}
	for i := range timeline {
		c.redactEntry(a, t, &timeline[i])
	}
	for i := range ratings {
		if ratings[i].By != a.ID {
			ratings[i].By = ""
		}
	}
}

// RedactEntry gives a's view of one entry of t: for a resident, a worker
// is named by WorkerName, staff and other residents not at all (the pages
// name them by their role), and the GPS fix is left out.
// e is not changed.
func (c *Center) RedactEntry(a Actor, t *Task, e *Entry) *Entry {
	if a.Role != Resident || e == nil {
		return e
	}
	v := *e
	c.redactEntry(a, t, &v)
	return &v
}

func (c *Center) redactEntry(a Actor, t *Task, e *Entry) {
	switch e.Role {
	case Worker:
		e.By = c.WorkerName(e.By)
	case Staff, Admin:
		e.By = ""
	case Resident:
		// a report made on a device the resident has since signed in from is theirs
		if e.By != a.ID && !(e.Action == Create && t.Reporter == a.ID) {
			e.By = ""
		} else {
			e.By = a.ID
		}
	}
	if e.Worker != "" {
		e.Worker = c.WorkerName(e.Worker)
	}
	if e.Evidence != nil && e.Evidence.GPS != nil {
		ev := *e.Evidence
		ev.GPS = nil
		e.Evidence = &ev
		if ev.empty() {
			e.Evidence = nil
		}
	}
}
