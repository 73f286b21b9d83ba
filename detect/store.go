package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store keeps incidents in Redis: a hash per incident, a hash from
// camera|zone|kind to the open incident's id, and every change appended to
// the stream <prefix>incidents, so other processes can follow.
type Store struct {
	rdb    redis.UniversalClient
	prefix string

	mu          sync.Mutex
	changeSubs  []func(Incident)
	observeSubs []func(Observation)
}

// NewStore returns a store under prefix (e.g. "qly:").
func NewStore(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

// OnChange adds fn to the functions called after every stored incident
// change, in the goroutine that made it, in the order they were added. fn
// must not block.
func (s *Store) OnChange(fn func(Incident)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changeSubs = append(s.changeSubs, fn)
}

// OnObservation adds fn to the functions called after every stored
// observation, like OnChange.
func (s *Store) OnObservation(fn func(Observation)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observeSubs = append(s.observeSubs, fn)
}

// subscribers returns the current subscriber lists; calling them happens
// outside the lock, so a subscriber may add another.
func (s *Store) subscribers() ([]func(Incident), []func(Observation)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.changeSubs), slices.Clone(s.observeSubs)
}

func (s *Store) incidentKey(id string) string { return s.prefix + "incident:" + id }
func (s *Store) openKey() string              { return s.prefix + "incidents:open" }
func (s *Store) streamKey() string            { return s.prefix + "incidents" }
func (s *Store) indexKey() string             { return s.prefix + "incidents:by-time" }

// ErrNotFound is returned for an unknown incident.
var ErrNotFound = errors.New("no such incident")

// Raise opens an incident, or updates the open one of the same camera,
// zone and kind; it returns the stored incident.
func (s *Store) Raise(ctx context.Context, in Incident, now time.Time) (Incident, error) {
	id, err := s.rdb.HGet(ctx, s.openKey(), in.key()).Result()
	switch {
	case err == nil:
		old, err := s.Get(ctx, id)
		if err != nil {
			return Incident{}, err
		}
		old.UpdatedMS = now.UnixMilli()
		old.Confidence = max(old.Confidence, in.Confidence)
		if in.Detail != "" {
			old.Detail = in.Detail
		}
		if in.Code != "" {
			old.Code, old.Params = in.Code, in.Params
		}
		if in.Snapshot != "" && old.Snapshot == "" {
			old.Snapshot = in.Snapshot
		}
		return old, s.save(ctx, old, false)
	case errors.Is(err, redis.Nil):
	default:
		return Incident{}, fmt.Errorf("find open incident: %w", err)
	}
	if in.ID == "" {
		in.ID = NewID(now)
	}
	in.StartedMS, in.UpdatedMS, in.EndedMS = now.UnixMilli(), now.UnixMilli(), 0
	return in, s.save(ctx, in, true)
}

// End closes the open incident of that camera, zone and kind, if any.
func (s *Store) End(ctx context.Context, camera, zone, kind string, now time.Time) (Incident, bool, error) {
	key := Incident{Camera: camera, Zone: zone, Kind: kind}.key()
	id, err := s.rdb.HGet(ctx, s.openKey(), key).Result()
	if errors.Is(err, redis.Nil) {
		return Incident{}, false, nil
	}
	if err != nil {
		return Incident{}, false, fmt.Errorf("find open incident: %w", err)
	}
	in, err := s.Get(ctx, id)
	if err != nil {
		return Incident{}, false, err
	}
	in.EndedMS, in.UpdatedMS = now.UnixMilli(), now.UnixMilli()
	return in, true, s.save(ctx, in, false)
}

func (s *Store) save(ctx context.Context, in Incident, isNew bool) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.incidentKey(in.ID), "json", data, "camera", in.Camera, "kind", in.Kind, "open", in.Open())
		if in.Open() {
			p.HSet(ctx, s.openKey(), in.key(), in.ID)
		} else {
			p.HDel(ctx, s.openKey(), in.key())
		}
		if isNew {
			p.ZAdd(ctx, s.indexKey(), redis.Z{Score: float64(in.StartedMS), Member: in.ID})
		}
		p.XAdd(ctx, &redis.XAddArgs{Stream: s.streamKey(), MaxLen: 100000, Approx: true, Values: map[string]any{"json": data}})
		return nil
	})
	if err != nil {
		return fmt.Errorf("store incident %s: %w", in.ID, err)
	}
	subs, _ := s.subscribers()
	for _, fn := range subs {
		fn(in)
	}
	return nil
}

// Get returns one incident.
func (s *Store) Get(ctx context.Context, id string) (Incident, error) {
	data, err := s.rdb.HGet(ctx, s.incidentKey(id), "json").Result()
	if errors.Is(err, redis.Nil) {
		return Incident{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return Incident{}, fmt.Errorf("read incident %s: %w", id, err)
	}
	var in Incident
	if err := json.Unmarshal([]byte(data), &in); err != nil {
		return Incident{}, fmt.Errorf("incident %s is damaged: %w", id, err)
	}
	return in, nil
}

// Filter selects incidents for List; zero fields select everything.
type Filter struct {
	Camera, Kind string
	OpenOnly     bool
	SinceMS      int64
	Limit        int // default 100
}

// List returns the newest incidents first that match f.
func (s *Store) List(ctx context.Context, f Filter) ([]Incident, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	min := "-inf"
	if f.SinceMS > 0 {
		min = fmt.Sprint(f.SinceMS)
	}
	out := []Incident{}
	var offset int64
	for len(out) < f.Limit {
		ids, err := s.rdb.ZRevRangeByScore(ctx, s.indexKey(), &redis.ZRangeBy{Min: min, Max: "+inf", Offset: offset, Count: 200}).Result()
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		offset += int64(len(ids))
		for _, id := range ids {
			in, err := s.Get(ctx, id)
			if err != nil {
				continue // expired or damaged: the others still count
			}
			if (f.Camera != "" && in.Camera != f.Camera) || (f.Kind != "" && in.Kind != f.Kind) || (f.OpenOnly && !in.Open()) {
				continue
			}
			out = append(out, in)
			if len(out) == f.Limit {
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedMS > out[j].StartedMS })
	return out, nil
}
