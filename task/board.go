package task

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
)

// The board: the duty officer's view of many tasks at once (GET /api/tasks
// with the board's filters, the page /board). A board query walks the state
// indexes (tasks:state:<state>) of the states it asks for: the open states
// hold the day's work, so reading their tasks is cheap, while the closed and
// rejected columns, which grow for ever, are read only when asked for. When
// the query filters on indexes alone (states, grid) and sorts newest first,
// only the tasks of the page are read, and the counts come from ZCARD and
// ZINTERCARD.

// The orders of a board query (Query.Sort).
const (
	SortNewest = "newest" // newest first (the default)
	SortUrgent = "urgent" // overdue first, then higher Priority, then older first
)

// Query selects and orders the tasks of the board.
type Query struct {
	States  []State // any of these states; none: every state
	Grid    string
	Kind    string // the incident kind (tasks from cameras)
	Source  string // FromIncident, FromResident, FromPatrol or FromStaff
	Overdue bool   // only tasks with a running stage past its time limit
	// Text is found, case-insensitive, in the id, the title, the
	// description, the address, the camera id or the camera's name (Names).
	Text   string
	Sort   string // SortNewest (default) or SortUrgent
	Limit  int    // default 50, at most 500
	Cursor string // Board.Next of the page before; empty for the first page
	// Names gives a camera's name for Text; nil: only ids are searched.
	Names func(camera string) string
}

// Card is a task on the board, with what its place in the urgent order
// depends on.
type Card struct {
	*Task
	Overdue  bool `json:"overdue"`  // a running stage is past its time limit
	Priority int  `json:"priority"` // see Priority
}

// Board is a page of a Query: its tasks in order, how many match in all
// and in each of the query's states, and the cursor of the next page
// (empty on the last).
type Board struct {
	Tasks  []Card        `json:"tasks"`
	Total  int           `json:"total"`
	Counts map[State]int `json:"counts"`
	Next   string        `json:"next,omitempty"`
}

// Priority is how much a task matters by what it is, for the urgent order:
// a covered or turned camera (camera_tampered) 3; a person loitering in a
// zone, a camera offline, or a resident's report (someone waits for the
// answer and rates it) 2; anything else 1; plus 1 for each time the problem
// came back (Task.Repeats), at most 2 more.
func Priority(t *Task) int {
	p := 1
	switch {
	case t.Kind == configs.CameraTampered:
		p = 3
	case t.Kind == configs.Loitering, t.Kind == configs.CameraOffline, t.Source == FromResident:
		p = 2
	}
	return p + min(t.Repeats, 2)
}

// Overdue reports whether a stage of t that is running now is past its
// time limit at nowMS: found so by CheckDeadlines, or due already and not
// yet found.
func (s *Store) Overdue(t *Task, nowMS int64) bool {
	running := map[Stage]int64{}
	switch t.State {
	case Dispatched:
		running[StageClaim] = t.StateMS
	case Claimed:
		running[StageArrive] = t.StateMS
	}
	if t.State == Dispatched || t.State == Claimed || t.State == Arrived {
		running[StageResolve] = t.Since[Dispatched]
	}
	for st, start := range running {
		if start == 0 {
			continue
		}
		if t.OverdueMS[st] >= start {
			return true
		}
		if lim := s.limit(st); lim > 0 && nowMS >= start+lim {
			return true
		}
	}
	return false
}

// limit is the time limit of stage st in milliseconds (0: none).
func (s *Store) limit(st Stage) int64 {
	d := map[Stage]configs.Duration{StageClaim: s.limits.ClaimWithin, StageArrive: s.limits.ArriveWithin, StageResolve: s.limits.ResolveWithin}[st]
	return d.D().Milliseconds()
}

// byIndexOnly reports whether q filters on the indexes alone.
func (q *Query) byIndexOnly() bool {
	return q.Kind == "" && q.Source == "" && !q.Overdue && strings.TrimSpace(q.Text) == ""
}

// match reports whether card c passes q's filters (the states and the grid
// are the indexes').
func (q *Query) match(c Card) bool {
	t := c.Task
	if (q.Grid != "" && t.Grid != q.Grid) || (q.Kind != "" && t.Kind != q.Kind) || (q.Source != "" && t.Source != q.Source) || (q.Overdue && !c.Overdue) {
		return false
	}
	text := strings.ToLower(strings.TrimSpace(q.Text))
	if text == "" {
		return true
	}
	fields := []string{t.ID, t.Title, t.Description, t.Location.Address, t.Camera}
	if q.Names != nil && t.Camera != "" {
		fields = append(fields, q.Names(t.Camera))
	}
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), text) {
			return true
		}
	}
	return false
}

// cursor is a position in an order: after the card with this key.
type cursor struct {
	overdue  bool
	priority int
	created  int64
	id       string
}

func keyOf(c Card) cursor {
	return cursor{overdue: c.Overdue, priority: c.Priority, created: c.CreatedMS, id: c.ID}
}

// compare orders two keys in the order sort.
func compare(sort string, a, b cursor) int {
	if sort == SortUrgent {
		ov := func(c cursor) int {
			if c.overdue {
				return 0
			}
			return 1
		}
		return cmp.Or(cmp.Compare(ov(a), ov(b)), cmp.Compare(b.priority, a.priority), cmp.Compare(a.created, b.created), strings.Compare(a.id, b.id))
	}
	return cmp.Or(cmp.Compare(b.created, a.created), strings.Compare(b.id, a.id))
}

func (c cursor) encode(sort string) string {
	ov := 0
	if c.overdue {
		ov = 1
	}
	raw := fmt.Sprintf("%s|%d|%d|%d|%s", sort, ov, c.priority, c.created, c.id)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeCursor reads a Board.Next made for sort.
func decodeCursor(s, sort string) (cursor, error) {
	bad := refuse(ErrInvalid, "the cursor %q is not one this board gave for the order %s: start again without it", s, sort)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	f := strings.Split(string(raw), "|")
	if len(f) != 5 || f[0] != sort {
		return cursor{}, bad
	}
	p, err1 := strconv.Atoi(f[2])
	created, err2 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || f[4] == "" {
		return cursor{}, bad
	}
	return cursor{overdue: f[1] == "1", priority: p, created: created, id: f[4]}, nil
}

// CheckQuery checks q's values and fills its defaults; its errors wrap
// ErrInvalid.
func CheckQuery(q *Query) error {
	for _, st := range q.States {
		if !slices.Contains(States, st) {
			return refuse(ErrInvalid, "state %q is not one of %s", st, joinStates(States))
		}
	}
	q.States = slices.Compact(slices.Sorted(slices.Values(q.States)))
	if q.Source != "" && !slices.Contains([]string{FromIncident, FromResident, FromPatrol, FromStaff}, q.Source) {
		return refuse(ErrInvalid, "source %q is not one of %s, %s, %s, %s", q.Source, FromIncident, FromResident, FromPatrol, FromStaff)
	}
	if q.Kind != "" && !slices.Contains(configs.IncidentKinds, q.Kind) {
		return refuse(ErrInvalid, "kind %q is not one of %s", q.Kind, strings.Join(configs.IncidentKinds, ", "))
	}
	if n := len([]rune(q.Text)); n > 100 {
		return refuse(ErrInvalid, "the search text is %d characters long; at most 100 are allowed", n)
	}
	switch q.Sort {
	case "":
		q.Sort = SortNewest
	case SortNewest, SortUrgent:
	default:
		return refuse(ErrInvalid, "sort %q is not %s or %s", q.Sort, SortNewest, SortUrgent)
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 500 {
		return refuse(ErrInvalid, "limit %d is more than 500", q.Limit)
	}
	if q.Cursor != "" {
		if _, err := decodeCursor(q.Cursor, q.Sort); err != nil {
			return err
		}
	}
	return nil
}

func joinStates(ss []State) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

// Board answers q: a page of the tasks it selects in its order, with how
// many match in all and in each of q's states.
func (s *Store) Board(ctx context.Context, q Query) (*Board, error) {
	if err := CheckQuery(&q); err != nil {
		return nil, err
	}
	states := q.States
	if len(states) == 0 {
		states = States
	}
	var after *cursor
	if q.Cursor != "" {
		c, _ := decodeCursor(q.Cursor, q.Sort)
		after = &c
	}
	if q.byIndexOnly() && q.Sort == SortNewest {
		return s.boardByIndex(ctx, q, states, after)
	}

	// Read every task of the states, keep those that match, sort them.
	now := s.now()
	out := &Board{Tasks: []Card{}, Counts: map[State]int{}}
	var all []Card
	for _, st := range states {
		out.Counts[st] = 0
		ids, err := s.rdb.ZRevRange(ctx, s.stateKey(st), 0, -1).Result()
		if err != nil {
			return nil, fmt.Errorf("board: %w", err)
		}
		for chunk := range slices.Chunk(ids, 500) {
			ts, err := s.getMany(ctx, chunk)
			if err != nil {
				return nil, err
			}
			for _, t := range ts {
				c := Card{Task: t, Overdue: t.State.Open() && s.Overdue(t, now), Priority: Priority(t)}
				// an index may lag its task by a moment: the task's own state counts
				if t.State != st || !q.match(c) {
					continue
				}
				out.Counts[st]++
				all = append(all, c)
			}
		}
	}
	out.Total = len(all)
	slices.SortFunc(all, func(a, b Card) int { return compare(q.Sort, keyOf(a), keyOf(b)) })
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(all, *after, func(c Card, k cursor) int { return compare(q.Sort, keyOf(c), k) })
		if start < len(all) && compare(q.Sort, keyOf(all[start]), *after) == 0 {
			start++
		}
	}
	end := min(start+q.Limit, len(all))
	out.Tasks = append(out.Tasks, all[start:end]...)
	if end < len(all) {
		out.Next = keyOf(all[end-1]).encode(q.Sort)
	}
	return out, nil
}

// boardByIndex answers a newest-first query on states and a grid from the
// indexes: it reads the ids newest first, keeps those in the grid, and reads
// only the tasks of the page.
func (s *Store) boardByIndex(ctx context.Context, q Query, states []State, after *cursor) (*Board, error) {
	out := &Board{Tasks: []Card{}, Counts: map[State]int{}}
	counts := make([]*redis.IntCmd, len(states))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, st := range states {
			if q.Grid == "" {
				counts[i] = p.ZCard(ctx, s.stateKey(st))
			} else {
				counts[i] = p.ZInterCard(ctx, 0, s.stateKey(st), s.indexKey("grid", q.Grid))
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("board: count: %w", err)
	}
	for i, st := range states {
		out.Counts[st] = int(counts[i].Val())
		out.Total += out.Counts[st]
	}

	// The first limit+1 ids of each state, after the cursor, hold the page.
	hi := "+inf"
	if after != nil {
		hi = strconv.FormatInt(after.created, 10)
	}
	var keys []cursor
	for _, st := range states {
		got, err := s.newestOf(ctx, s.stateKey(st), q.Grid, hi, after, q.Limit+1)
		if err != nil {
			return nil, err
		}
		keys = append(keys, got...)
	}
	slices.SortFunc(keys, func(a, b cursor) int { return compare(SortNewest, a, b) })
	more := len(keys) > q.Limit
	ids := make([]string, 0, q.Limit)
	for _, k := range keys[:min(len(keys), q.Limit)] {
		ids = append(ids, k.id)
	}
	ts, err := s.getMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for _, t := range ts {
		out.Tasks = append(out.Tasks, Card{Task: t, Overdue: t.State.Open() && s.Overdue(t, now), Priority: Priority(t)})
	}
	slices.SortFunc(out.Tasks, func(a, b Card) int { return compare(SortNewest, keyOf(a), keyOf(b)) })
	if more && len(out.Tasks) > 0 {
		out.Next = keyOf(out.Tasks[len(out.Tasks)-1]).encode(SortNewest)
	}
	return out, nil
}

// newestOf gives up to n ids of index key, newest first, created at or
// before hi and after the cursor in the newest order, that are in grid
// (any grid when empty), walking the index in chunks.
func (s *Store) newestOf(ctx context.Context, key, grid, hi string, after *cursor, n int) ([]cursor, error) {
	const chunk = 500
	var out []cursor
	for offset := 0; len(out) < n; offset += chunk {
		zs, err := s.rdb.ZRevRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: "-inf", Max: hi, Offset: int64(offset), Count: chunk}).Result()
		if err != nil {
			return nil, fmt.Errorf("board: %w", err)
		}
		keys := make([]cursor, 0, len(zs))
		for _, z := range zs {
			id, _ := z.Member.(string)
			k := cursor{created: int64(z.Score), id: id}
			if after != nil && compare(SortNewest, k, *after) <= 0 {
				continue
			}
			keys = append(keys, k)
		}
		if grid != "" && len(keys) > 0 {
			ids := make([]string, len(keys))
			for i, k := range keys {
				ids[i] = k.id
			}
			// a task's score in the grid index is its creation time, never 0
			scores, err := s.rdb.ZMScore(ctx, s.indexKey("grid", grid), ids...).Result()
			if err != nil {
				return nil, fmt.Errorf("board: %w", err)
			}
			kept := keys[:0]
			for i, k := range keys {
				if scores[i] != 0 {
					kept = append(kept, k)
				}
			}
			keys = kept
		}
		out = append(out, keys...)
		if len(zs) < chunk {
			break
		}
	}
	return out[:min(len(out), n)], nil
}
