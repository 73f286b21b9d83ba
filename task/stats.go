package task

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// StatsQuery selects the tasks Stats counts: those created in [FromMS, ToMS)
// (0: no bound), in Grid when it is given.
type StatsQuery struct {
	FromMS int64
	ToMS   int64
	Grid   string
}

// Stats are the center's figures over the tasks created in a period.
type Stats struct {
	Query      StatsQuery `json:"query"`
	Reported   int        `json:"reported"`   // tasks created
	Accepted   int        `json:"accepted"`   // ... that were ever accepted
	Dispatched int        `json:"dispatched"` // ... ever dispatched
	Closed     int        `json:"closed"`     // ... closed now
	Rejected   int        `json:"rejected"`   // ... rejected
	Open       int        `json:"open"`       // ... neither closed nor rejected
	// ClosingRate (办结率) is Closed ÷ the tasks accepted and not rejected
	// later; 0 when there are none.
	ClosingRate float64 `json:"closing_rate"`
	// Stages are the times per stage in the order of StageNames.
	Stages []StageTime `json:"stages"`
	// Overdue counts the tasks that went past each limit at least once.
	Overdue      map[Stage]int `json:"overdue"`
	Satisfaction Satisfaction  `json:"satisfaction"`
}

// StageNames are the stages Stats times, each from the first entry into one
// state to the first entry into the next: accept (reported → accepted),
// dispatch (accepted → dispatched), claim (dispatched → claimed), arrive
// (claimed → arrived), resolve (arrived → submitted), verify (submitted →
// verified), close (verified → closed) and total (reported → closed).
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

// Stats computes the figures of the tasks q selects.
func (s *Store) Stats(ctx context.Context, q StatsQuery) (Stats, error) {
	key := s.createdKey()
	if q.Grid != "" {
		key = s.indexKey("grid", q.Grid)
	}
	lo, hi := scoreRange(q.FromMS, q.ToMS)
	ids, err := s.rdb.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: lo, Max: hi}).Result()
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	st := Stats{Query: q, Overdue: map[Stage]int{}}
	times := map[string][]int64{}
	var stars, kept int
	for chunk := range slices.Chunk(ids, 500) {
		ts, err := s.getMany(ctx, chunk)
		if err != nil {
			return Stats{}, err
		}
		for _, t := range ts {
			st.Reported++
			if t.Since[Accepted] > 0 {
				st.Accepted++
				if t.State != Rejected {
					kept++
				}
			}
			if t.Since[Dispatched] > 0 {
				st.Dispatched++
			}
			switch t.State {
			case Closed:
				st.Closed++
			case Rejected:
				st.Rejected++
			default:
				st.Open++
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
			st.Satisfaction.Count += t.Ratings.Count
			st.Satisfaction.Good += t.Ratings.Good
			stars += t.Ratings.Stars
		}
	}
	if kept > 0 {
		st.ClosingRate = float64(st.Closed) / float64(kept)
	}
	if n := st.Satisfaction.Count; n > 0 {
		st.Satisfaction.Share = float64(st.Satisfaction.Good) / float64(n)
		st.Satisfaction.Mean = float64(stars) / float64(n)
	}
	for _, name := range StageNames {
		st.Stages = append(st.Stages, stageTime(name, times[name]))
	}
	return st, nil
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
