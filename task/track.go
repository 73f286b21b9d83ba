package task

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// A task's track (轨迹): while a task is claimed or arrived, its worker's
// phone reports where it is every 15 s; the positions are kept in order, per
// task, in a Redis stream capped at tasks.track_points, and each worker's
// last position in one hash for the wall's map. Both keys are under the
// task keys' {t} tag (see Store), so one MULTI writes both:
//
//	task:{ID}:track   stream of the task's positions, field "json", oldest first
//	tracks:last       hash, worker login → their last Position

// TrackPoint is one position of a worker's phone.
type TrackPoint struct {
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	AccuracyM float64 `json:"accuracy_m,omitempty"`
	AtMS      int64   `json:"at_ms"` // when the phone took it (UTC ms)
}

// Position is a worker's last reported position, and the task it was
// reported on.
type Position struct {
	Worker string `json:"worker"`
	Task   string `json:"task"`
	TrackPoint
}

// Tracked are the states in which a task's worker reports a track: on the
// way (claimed) and on the spot (arrived).
var Tracked = []State{Claimed, Arrived}

// How far a point's time may be from the bridge's clock: a phone keeps a
// point while it has no network, but not for long, and its clock may run
// a little ahead.
const (
	trackPast   = 10 * time.Minute
	trackFuture = time.Minute
	// maxAccuracyM is the worst accuracy kept: a fix worse than 5 km says
	// nothing about a street.
	maxAccuracyM = 5000
)

func (s *Store) trackKey(id string) string { return s.taskKey(id) + ":track" }
func (s *Store) lastKey() string           { return s.prefix + "tracks:last" }

// CheckTrackPoint refuses (ErrInvalid) a point that is not on the map, an
// accuracy that is not a distance or is worse than 5 km, and a time more
// than 10 minutes before now or a minute after it. A zero time becomes now.
func CheckTrackPoint(p *TrackPoint, now time.Time) error {
	switch {
	case !(p.Lat >= -90 && p.Lat <= 90 && p.Lng >= -180 && p.Lng <= 180) || p.Lat == 0 && p.Lng == 0:
		return refuseMsg(ErrInvalid, MsgTrackNotOnMap, map[string]any{"lat": p.Lat, "lng": p.Lng},
			"the position %g,%g is not a place on the map: lat -90..90, lng -180..180", p.Lat, p.Lng)
	case !(p.AccuracyM >= 0 && p.AccuracyM <= maxAccuracyM) || math.IsInf(p.AccuracyM, 0):
		return refuseMsg(ErrInvalid, MsgTrackAccuracy, map[string]any{"accuracy_m": p.AccuracyM, "max_m": maxAccuracyM},
			"the accuracy %g m is not a distance from 0 to %d m", p.AccuracyM, maxAccuracyM)
	}
	if p.AtMS == 0 {
		p.AtMS = now.UnixMilli()
	}
	if at := time.UnixMilli(p.AtMS); at.Before(now.Add(-trackPast)) || at.After(now.Add(trackFuture)) {
		return refuseMsg(ErrInvalid, MsgTrackTime, map[string]any{"at_ms": p.AtMS},
			"the position's time (at, %d ms) is %s away from the bridge's clock; it must be within %s before now and %s after",
			p.AtMS, at.Sub(now).Round(time.Second).Abs(), trackPast, trackFuture)
	}
	return nil
}

// AppendTrack adds p to the track of task id. Only the worker the task is
// dispatched to may (ErrForbidden), only while it is claimed or arrived
// (ErrConflict), and p must be a valid point (ErrInvalid, CheckTrackPoint).
// The track keeps its last tasks.track_points points.
func (s *Store) AppendTrack(ctx context.Context, a Actor, id string, p TrackPoint) (*Position, error) {
	if err := CheckTrackPoint(&p, s.clock()); err != nil {
		return nil, err
	}
	t, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Role != Worker || t.Worker != a.ID {
		return nil, refuseMsg(ErrForbidden, MsgTrackNotYours, map[string]any{"id": id}, "only the grid worker task %s is dispatched to reports its track", id)
	}
	if !slices.Contains(Tracked, t.State) {
		return nil, refuseMsg(ErrConflict, MsgTrackState, map[string]any{"id": id, "state": t.State},
			"task %s is %s: a track is kept only while a task is claimed or arrived", id, t.State)
	}
	pos := &Position{Worker: a.ID, Task: id, TrackPoint: p}
	pd, _ := json.Marshal(p)
	ld, _ := json.Marshal(pos)
	keep := int64(s.limits.TrackPoints)
	if keep <= 0 {
		keep = 2880 // a store made without configs' defaults
	}
	_, err = s.rdb.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		pl.XAdd(ctx, &redis.XAddArgs{Stream: s.trackKey(id), MaxLen: keep, Values: map[string]any{"json": pd}})
		pl.HSet(ctx, s.lastKey(), a.ID, ld)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("append to the track of %s: %w", id, err)
	}
	return pos, nil
}

// Track returns the positions kept of task id in the order of their
// times (at), which is the order they came unless two crossed on the way.
func (s *Store) Track(ctx context.Context, id string) ([]TrackPoint, error) {
	msgs, err := s.rdb.XRange(ctx, s.trackKey(id), "-", "+").Result()
	if err != nil {
		return nil, fmt.Errorf("read the track of %s: %w", id, err)
	}
	out := make([]TrackPoint, 0, len(msgs))
	for _, m := range msgs {
		var p TrackPoint
		if v, ok := m.Values["json"].(string); ok && json.Unmarshal([]byte(v), &p) == nil {
			out = append(out, p)
		}
	}
	// in the order walked, should two reports have crossed on the way
	slices.SortStableFunc(out, func(a, b TrackPoint) int { return cmp.Compare(a.AtMS, b.AtMS) })
	return out, nil
}

// Positions returns every worker's last reported position, the latest
// first.
func (s *Store) Positions(ctx context.Context) ([]Position, error) {
	all, err := s.rdb.HGetAll(ctx, s.lastKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read workers' positions: %w", err)
	}
	out := make([]Position, 0, len(all))
	for _, v := range all {
		var p Position
		if json.Unmarshal([]byte(v), &p) == nil {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Position) int { return cmp.Compare(b.AtMS, a.AtMS) })
	return out, nil
}
