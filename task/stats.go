package task

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// StatsQuery selects the tasks Stats counts: those created in [FromMS, ToMS)
// (0: no bound), in Grid when it is given. Zone is the time zone of the
// days of the daily trend (nil: UTC). Its JSON keeps the field names the
// first GET /api/stats had (FromMS, ToMS, Grid).
type StatsQuery struct {
	FromMS int64
	ToMS   int64
	Grid   string
	Zone   *time.Location `json:"-"`
}

// Figures are the figures the center is judged by, over a set of tasks:
// the counts, and the rates of Definitions (0 when nothing is under the
// line).
type Figures struct {
	Received     int `json:"received"`       // 受理: tasks created
	Dispatched   int `json:"dispatched"`     // 交办: ... ever dispatched to a worker
	Closed       int `json:"closed"`         // 办结: ... closed now
	ClosedOnTime int `json:"closed_on_time"` // ... closed, submitted within tasks.resolve_within of the first dispatch
	Rejected     int `json:"rejected"`       // ... rejected (false alarm, duplicate)
	Open         int `json:"open"`           // ... neither closed nor rejected
	Rated        int `json:"rated"`          // ... closed and rated (one rating a task, see Rate)
	Satisfied    int `json:"satisfied"`      // ... rated 4 or 5 stars

	DispatchRate     float64 `json:"dispatch_rate"`     // 交办率: Dispatched ÷ Received
	ClosingRate      float64 `json:"closing_rate"`      // 办结率: Closed ÷ Received
	OnTimeRate       float64 `json:"on_time_rate"`      // 按时办结率: ClosedOnTime ÷ Closed
	SatisfactionRate float64 `json:"satisfaction_rate"` // 回访满意度: Satisfied ÷ Rated
}

// Definition says what a figure of Figures means, in the pages' two
// languages; Figure is its JSON name.
type Definition struct {
	Figure string `json:"figure"`
	Zh     string `json:"zh"`
	En     string `json:"en"`
}

// Definitions define the figures, in the order the center reports them.
// They hold for the whole center, a grid, a worker, a kind and a day alike:
// always over the tasks created (received) in the period.
var Definitions = []Definition{
	{"received", "受理：期间内新建的工单数（含居民上报、巡查上报、摄像头事件、人工录入）。", "Received: the tasks created in the period (reports, patrols, camera incidents, staff entries)."},
	{"dispatched", "交办：受理的工单中已派给网格员的数量。", "Dispatched: the received tasks that were given to a grid worker."},
	{"closed", "办结：受理的工单中现已结案的数量。", "Closed: the received tasks that are closed now."},
	{"dispatch_rate", "交办率 = 交办 ÷ 受理。", "Dispatch rate = dispatched ÷ received."},
	{"closing_rate", "办结率 = 办结 ÷ 受理（全部受理工单，含未核单、在办和驳回的）。", "Closing rate = closed ÷ received (every received task, open and rejected ones included)."},
	{"on_time_rate", "按时办结率 = 按时办结 ÷ 办结；按时：首次派单后在办理时限（tasks.resolve_within）内交单。", "On-time rate = closed on time ÷ closed; on time: submitted within the resolve limit (tasks.resolve_within) of the first dispatch."},
	{"satisfaction_rate", "回访满意度 = 满意 ÷ 评价；满意为 4 或 5 星，每个工单计一条评价（上报人本人的，否则回访记录）。", "Satisfaction = satisfied ÷ rated; satisfied is 4 or 5 stars, one rating per task (the reporter's own, else the follow-up call)."},
}

// Group is the figures of the tasks that share a grid, a worker or a kind.
// Key is the grid, the worker's login ("" for tasks given to nobody yet) or
// the kind: the incident's kind, or for reports the source (resident,
// patrol, staff). Name is what people call it, when the caller knows.
type Group struct {
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
	Figures
}

// Day is the figures of the tasks created on one day of the center.
type Day struct {
	Date   string `json:"date"` // YYYY-MM-DD in StatsQuery.Zone
	FromMS int64  `json:"from_ms"`
	Figures
}

// Stats are the center's figures over the tasks created in a period.
type Stats struct {
	Query StatsQuery `json:"query"`
	// TimeZone names StatsQuery.Zone, the zone of Daily's days.
	TimeZone string `json:"time_zone"`
	Figures
	Reported int `json:"reported"` // tasks created: Received, under its first name
	Accepted int `json:"accepted"` // ... that were ever accepted
	// Stages are the times per stage in the order of StageNames.
	Stages []StageTime `json:"stages"`
	// Overdue counts the tasks that went past each limit at least once.
	Overdue      map[Stage]int `json:"overdue"`
	Satisfaction Satisfaction  `json:"satisfaction"`
	// ByGrid, ByWorker and ByKind are the figures per grid, worker and
	// kind, most received first.
	ByGrid   []Group `json:"by_grid"`
	ByWorker []Group `json:"by_worker"`
	ByKind   []Group `json:"by_kind"`
	// Daily is the trend: every day of the period (of the tasks when it is
	// open), oldest first, days without tasks included.
	Daily []Day `json:"daily"`
}

// StageNames are the stages Stats times, each from the first entry into one
// state to the first entry into the next: accept (reported → accepted),
// dispatch (accepted → dispatched), claim (dispatched → claimed), arrive
// (claimed → arrived), resolve (arrived → submitted: the fix), verify
// (submitted → verified), close (verified → closed) and total (reported →
// closed).
var StageNames = []string{"accept", "dispatch", "claim", "arrive", "resolve", "verify", "close", "total"}

var stageStates = map[string][2]State{
	"accept": {Reported, Accepted}, "dispatch": {Accepted, Dispatched}, "claim": {Dispatched, Claimed},
	"arrive": {Claimed, Arrived}, "resolve": {Arrived, Submitted}, "verify": {Submitted, Verified},
	"close": {Verified, Closed}, "total": {Reported, Closed},
}

// StageTime is how long a stage took over the tasks that went through it.
// The median of an even count is the mean of the two middle times; P90 is
// the nearest rank: the smallest time not exceeded by 90% of the tasks.
type StageTime struct {
	Stage    string `json:"stage"`
	Count    int    `json:"count"`
	MedianMS int64  `json:"median_ms"`
	P90MS    int64  `json:"p90_ms"`
}

// Satisfaction (满意度) sums up the ratings of the tasks: Share is the part
// of the ratings with 4 or 5 stars, Mean the mean of the stars.
type Satisfaction struct {
	Count int     `json:"count"`
	Good  int     `json:"good"`
	Share float64 `json:"share"`
	Mean  float64 `json:"mean"`
}

// add counts t in f; onTime says whether a closed t was closed on time.
func (f *Figures) add(t *Task, onTime bool) {
	f.Received++
	if t.Since[Dispatched] > 0 {
		f.Dispatched++
	}
	switch t.State {
	case Closed:
		f.Closed++
		if onTime {
			f.ClosedOnTime++
		}
	case Rejected:
		f.Rejected++
	default:
		f.Open++
	}
	f.Rated += t.Ratings.Count
	f.Satisfied += t.Ratings.Good
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// rates fills the rates from the counts.
func (f *Figures) rates() {
	f.DispatchRate = ratio(f.Dispatched, f.Received)
	f.ClosingRate = ratio(f.Closed, f.Received)
	f.OnTimeRate = ratio(f.ClosedOnTime, f.Closed)
	f.SatisfactionRate = ratio(f.Satisfied, f.Rated)
}

// onTime reports whether t was submitted within the resolve limit of its
// first dispatch; without a limit, or a dispatch, nothing is late.
func (s *Store) onTime(t *Task) bool {
	limit := s.limits.ResolveWithin.D().Milliseconds()
	from, to := t.Since[Dispatched], t.Since[Submitted]
	if to == 0 {
		to = t.Since[Closed]
	}
	return limit <= 0 || from == 0 || to-from <= limit
}

// KindOf is the kind a task is counted under in Stats.ByKind: the
// incident's kind, or the source of a report.
func KindOf(t *Task) string {
	if t.Kind != "" {
		return t.Kind
	}
	return t.Source
}

// Stats computes the figures of the tasks q selects, in one pass over them.
//
// It reads the ids from the index of creation times (or of the grid), then
// the tasks 500 at a time, one pipelined round trip each: a month of 3000
// tasks is one ZRANGEBYSCORE and 6 round trips, and the time goes into
// decoding the tasks' JSON (BenchmarkStatsMonth measures it).
func (s *Store) Stats(ctx context.Context, q StatsQuery) (Stats, error) {
	zone := q.Zone
	if zone == nil {
		zone = time.UTC
	}
	key := s.createdKey()
	if q.Grid != "" {
		key = s.indexKey("grid", q.Grid)
	}
	lo, hi := scoreRange(q.FromMS, q.ToMS)
	ids, err := s.rdb.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: lo, Max: hi}).Result()
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	st := Stats{Query: q, TimeZone: zone.String(), Overdue: map[Stage]int{}}
	times := map[string][]int64{}
	groups := [3]map[string]*Figures{{}, {}, {}} // grid, worker, kind
	days := map[string]*Figures{}
	first, last := int64(0), int64(0)
	var stars int
	for chunk := range slices.Chunk(ids, 500) {
		ts, err := s.getMany(ctx, chunk)
		if err != nil {
			return Stats{}, err
		}
		for _, t := range ts {
			onTime := t.State == Closed && s.onTime(t)
			st.Figures.add(t, onTime)
			for i, k := range [3]string{t.Grid, t.Worker, KindOf(t)} {
				if groups[i][k] == nil {
					groups[i][k] = &Figures{}
				}
				groups[i][k].add(t, onTime)
			}
			day := time.UnixMilli(t.CreatedMS).In(zone).Format(time.DateOnly)
			if days[day] == nil {
				days[day] = &Figures{}
			}
			days[day].add(t, onTime)
			if first == 0 || t.CreatedMS < first {
				first = t.CreatedMS
			}
			last = max(last, t.CreatedMS)
			if t.Since[Accepted] > 0 {
				st.Accepted++
			}
			for _, name := range StageNames {
				from, to := t.Since[stageStates[name][0]], t.Since[stageStates[name][1]]
				if from > 0 && to >= from {
					times[name] = append(times[name], to-from)
				}
			}
			for stage := range t.OverdueMS {
				st.Overdue[stage]++
			}
			stars += t.Ratings.Stars
		}
	}
	st.Reported = st.Received
	st.Figures.rates()
	st.Satisfaction = Satisfaction{Count: st.Rated, Good: st.Satisfied, Share: st.SatisfactionRate, Mean: ratio(stars, st.Rated)}
	for _, name := range StageNames {
		st.Stages = append(st.Stages, stageTime(name, times[name]))
	}
	st.ByGrid, st.ByWorker, st.ByKind = sortedGroups(groups[0]), sortedGroups(groups[1]), sortedGroups(groups[2])
	if q.FromMS > 0 {
		first = q.FromMS
	}
	if q.ToMS > 0 {
		last = q.ToMS - 1
	}
	if first > 0 && last >= first {
		st.Daily = dailyTrend(days, time.UnixMilli(first).In(zone), time.UnixMilli(last).In(zone))
	}
	return st, nil
}

// sortedGroups lists groups, most received first, then by key.
func sortedGroups(groups map[string]*Figures) []Group {
	out := make([]Group, 0, len(groups))
	for k, f := range groups {
		f.rates()
		out = append(out, Group{Key: k, Figures: *f})
	}
	slices.SortFunc(out, func(a, b Group) int {
		return cmp.Or(cmp.Compare(b.Received, a.Received), strings.Compare(a.Key, b.Key))
	})
	return out
}

// dailyTrend lists every day from the day of first to the day of last.
func dailyTrend(days map[string]*Figures, first, last time.Time) []Day {
	var out []Day
	end := last.Format(time.DateOnly)
	for d := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, first.Location()); ; d = d.AddDate(0, 0, 1) {
		date := d.Format(time.DateOnly)
		day := Day{Date: date, FromMS: d.UnixMilli()}
		if f := days[date]; f != nil {
			f.rates()
			day.Figures = *f
		}
		out = append(out, day)
		if date >= end {
			return out
		}
	}
}

func stageTime(name string, v []int64) StageTime {
	st := StageTime{Stage: name, Count: len(v)}
	if len(v) == 0 {
		return st
	}
	slices.Sort(v)
	n := len(v)
	st.MedianMS = v[n/2]
	if n%2 == 0 {
		st.MedianMS = (v[n/2-1] + v[n/2]) / 2
	}
	rank := (9*n + 9) / 10 // ceil(0.9 n)
	st.P90MS = v[rank-1]
	return st
}
