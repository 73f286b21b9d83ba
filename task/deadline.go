package task

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
)

// Stage is a part of the work that has a time limit (configs.Tasks).
type Stage string

// The stages with time limits.
const (
	StageClaim   Stage = "claim"   // from each dispatch to the claim: claim_within
	StageArrive  Stage = "arrive"  // from each claim to the arrival: arrive_within
	StageResolve Stage = "resolve" // from the first dispatch to the submission: resolve_within
)

var stages = []Stage{StageClaim, StageArrive, StageResolve}

// Deadline is a stage of a task that went past its time limit.
type Deadline struct {
	TaskID string `json:"task"`
	Stage  Stage  `json:"stage"`
	DueMS  int64  `json:"due_ms"`
	AtMS   int64  `json:"at_ms"` // when it was found overdue
}

// deadlines gives the due time of each stage of t that is running and has
// not been found overdue yet. The claim limit starts again with every
// dispatch (a re-dispatch, or rework), the arrive limit with every claim;
// the resolve limit runs from the first dispatch and is raised at most once.
func (s *Store) deadlines(t *Task) map[Stage]int64 {
	out := map[Stage]int64{}
	arm := func(st Stage, start int64, limit configs.Duration) {
		if limit <= 0 || start == 0 || t.OverdueMS[st] >= start {
			return
		}
		out[st] = start + limit.D().Milliseconds()
	}
	switch t.State {
	case Dispatched:
		arm(StageClaim, t.StateMS, s.limits.ClaimWithin)
	case Claimed:
		arm(StageArrive, t.StateMS, s.limits.ArriveWithin)
	}
	if t.State == Dispatched || t.State == Claimed || t.State == Arrived {
		arm(StageResolve, t.Since[Dispatched], s.limits.ResolveWithin)
	}
	return out
}

// stageWords says what was not done in time, for the timeline.
var stageWords = map[Stage]string{
	StageClaim:   "not claimed within %s of dispatch",
	StageArrive:  "not arrived within %s of the claim",
	StageResolve: "not submitted within %s of the first dispatch",
}

// stageCodes are stageWords' message codes.
var stageCodes = map[Stage]string{StageClaim: MsgOverdueClaim, StageArrive: MsgOverdueArrive, StageResolve: MsgOverdueSolve}

// CheckDeadlines marks every task whose stage is past its limit: the stage
// goes into Task.OverdueMS, an "overdue" entry by the system into the
// timeline, and an "overdue" event out. Each running stage is marked once,
// however often CheckDeadlines runs and however many stores share the Redis;
// deadlines live in Redis, so a restarted bridge goes on where it stopped.
func (s *Store) CheckDeadlines(ctx context.Context) ([]Deadline, error) {
	now := s.now()
	due, err := s.rdb.ZRangeByScore(ctx, s.dueKey(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now, 10), Count: 1000}).Result()
	if err != nil {
		return nil, fmt.Errorf("read deadlines: %w", err)
	}
	var out []Deadline
	var errs []error
	for _, m := range due {
		id, st, ok := strings.Cut(m, "|")
		if !ok {
			s.rdb.ZRem(ctx, s.dueKey(), m)
			continue
		}
		d, err := s.markOverdue(ctx, id, Stage(st), m, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if d != nil {
			out = append(out, *d)
		}
	}
	return out, errors.Join(errs...)
}

// markOverdue marks one stage of one task overdue, unless it is no longer
// running; it then only drops the deadline.
func (s *Store) markOverdue(ctx context.Context, id string, stage Stage, member string, now int64) (*Deadline, error) {
	var (
		d *Deadline
		t *Task
		e *Entry
	)
	err := s.watch(ctx, func(tx *redis.Tx) error {
		d, t, e = nil, nil, nil
		score, err := tx.ZScore(ctx, s.dueKey(), member).Result()
		if errors.Is(err, redis.Nil) || err == nil && int64(score) > now {
			return nil // done or moved on meanwhile
		}
		if err != nil {
			return err
		}
		old, err := s.read(ctx, tx, id)
		if errors.Is(err, ErrNotFound) {
			return tx.ZRem(ctx, s.dueKey(), member).Err()
		}
		if err != nil {
			return err
		}
		if _, running := s.deadlines(old)[stage]; !running {
			return tx.ZRem(ctx, s.dueKey(), member).Err()
		}
		dueMS := int64(score)
		nt := old.clone()
		if nt.OverdueMS == nil {
			nt.OverdueMS = map[Stage]int64{}
		}
		nt.OverdueMS[stage], nt.UpdatedMS = now, now
		nt.Entries++
		start := old.StateMS
		if stage == StageResolve {
			start = old.Since[Dispatched]
		}
		ne := &Entry{Seq: nt.Entries, AtMS: now, Action: Overdue, From: old.State, To: old.State, By: SystemActor().ID,
			Role: System, Source: BySystem, Stage: stage, Note: fmt.Sprintf(stageWords[stage], durationText(time.Duration(dueMS-start)*time.Millisecond)),
			Code: stageCodes[stage], Params: map[string]any{"limit_s": (dueMS - start) / 1000}}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZRem(ctx, s.dueKey(), member)
			return s.queue(ctx, p, old, nt, ne)
		})
		if err == nil {
			d, t, e = &Deadline{TaskID: id, Stage: stage, DueMS: dueMS, AtMS: now}, nt, ne
		}
		return err
	}, s.taskKey(id))
	if err != nil {
		return nil, wrapStore(id, "mark overdue", err)
	}
	if d != nil {
		s.emit("overdue", t, e)
	}
	return d, nil
}

// ScanOnlyWhen makes Run check the deadlines only at the ticks at which
// held says so: in a cluster, while this member holds the overdue duty
// (cluster.Duty.Held), so that one member scans rather than all. Marks
// stay once per stage without it (see CheckDeadlines); it saves the work.
// Call it before Run.
func (s *Store) ScanOnlyWhen(held func(context.Context) bool) { s.scanWhen = held }

// Run moves the keys of an older layout (Migrate), then checks the
// deadlines every second until ctx ends (see ScanOnlyWhen). A failed check
// (Redis away) is tried again at the next tick.
func (s *Store) Run(ctx context.Context) error {
	_, _ = s.Migrate(ctx)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if s.scanWhen == nil || s.scanWhen(ctx) {
			_, _ = s.CheckDeadlines(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// durationText is a duration without zero minutes and seconds: "5m", "24h".
func durationText(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}
