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

	"qianliyan/internal/rekey"
)

// Store keeps incidents in Redis. Under the prefix (e.g. "qly:") and the
// hash tag {i}, so "qly:{i}:incident:<ID>":
//
//	incident:<ID>      hash: "json" (the incident), camera, kind, open
//	incidents:open     hash, camera|zone|kind → the open incident's id
//	incidents:by-time  sorted set of incident ids, scored by start (ms)
//	incidents          stream of every change, field "json", so other
//	                   processes can follow
//
// A change writes the incident, the open map, the index and the stream in
// one MULTI/EXEC, which Redis Cluster allows only within one slot: the {i}
// tag puts every incident key in one. Observations are one stream of
// their own (<prefix>observations), written by a single XADD.
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

// slotTag follows the prefix of every incident key (see Store).
const slotTag = "{i}:"

func (s *Store) incidentKey(id string) string { return s.prefix + slotTag + "incident:" + id }
func (s *Store) openKey() string              { return s.prefix + slotTag + "incidents:open" }
func (s *Store) streamKey() string            { return s.prefix + slotTag + "incidents" }
func (s *Store) indexKey() string             { return s.prefix + slotTag + "incidents:by-time" }

// ErrNotFound is returned for an unknown incident.
var ErrNotFound = errors.New("no such incident")

// Raise opens an incident, or updates the open one of the same camera,
// zone and kind; it returns the stored incident. The look-up and the write
// are one transaction under WATCH of the open map, so two bridges raising
// the same problem at once (both detecting on a camera during a takeover)
// open one incident, and the second updates it.
func (s *Store) Raise(ctx context.Context, in Incident, now time.Time) (Incident, error) {
	var out Incident
	var isNew bool
	err := s.watch(ctx, func(tx *redis.Tx) error {
		id, err := tx.HGet(ctx, s.openKey(), in.key()).Result()
		switch {
		case err == nil:
			old, err := s.get(ctx, tx, id)
			if err != nil {
				return err
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
			out, isNew = old, false
		case errors.Is(err, redis.Nil):
			out, isNew = in, true
			if out.ID == "" {
				out.ID = NewID(now)
			}
			out.StartedMS, out.UpdatedMS, out.EndedMS = now.UnixMilli(), now.UnixMilli(), 0
		default:
			return fmt.Errorf("find open incident: %w", err)
		}
		return s.write(ctx, tx, out, isNew)
	})
	if err != nil {
		return Incident{}, err
	}
	s.changed(out)
	return out, nil
}

// End closes the open incident of that camera, zone and kind, if any.
func (s *Store) End(ctx context.Context, camera, zone, kind string, now time.Time) (Incident, bool, error) {
	key := Incident{Camera: camera, Zone: zone, Kind: kind}.key()
	var out Incident
	var found bool
	err := s.watch(ctx, func(tx *redis.Tx) error {
		found = false
		id, err := tx.HGet(ctx, s.openKey(), key).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find open incident: %w", err)
		}
		in, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		in.EndedMS, in.UpdatedMS = now.UnixMilli(), now.UnixMilli()
		out, found = in, true
		return s.write(ctx, tx, in, false)
	})
	if err != nil || !found {
		return Incident{}, false, err
	}
	s.changed(out)
	return out, true, nil
}

// watch runs fn under WATCH of the open map until it commits or fails for
// another reason than a concurrent change.
func (s *Store) watch(ctx context.Context, fn func(*redis.Tx) error) error {
	for range 100 {
		err := s.rdb.Watch(ctx, fn, s.openKey())
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return errors.New("incident store: too many concurrent changes")
}

// write queues the incident's keys and its line of the stream in one
// MULTI/EXEC of tx.
func (s *Store) write(ctx context.Context, tx *redis.Tx, in Incident, isNew bool) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
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
	if err != nil && !errors.Is(err, redis.TxFailedErr) {
		return fmt.Errorf("store incident %s: %w", in.ID, err)
	}
	return err
}

// changed hands a stored change to the OnChange subscribers.
func (s *Store) changed(in Incident) {
	subs, _ := s.subscribers()
	for _, fn := range subs {
		fn(in)
	}
}

// Get returns one incident.
func (s *Store) Get(ctx context.Context, id string) (Incident, error) {
	return s.get(ctx, s.rdb, id)
}

type hgetter interface {
	HGet(ctx context.Context, key, field string) *redis.StringCmd
}

func (s *Store) get(ctx context.Context, c hgetter, id string) (Incident, error) {
	data, err := c.HGet(ctx, s.incidentKey(id), "json").Result()
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

// Migrate moves the keys of the layout before the {i} hash tag
// (<prefix>incident:…, <prefix>incidents…) to their names of today, so a
// bridge upgraded in place keeps its incidents; it returns how many it
// moved. A key whose new name is taken stays where it is. Redis Cluster is
// left alone: the old layout's transactions never worked there.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	n, err := rekey.Move(ctx, s.rdb, s.prefix, s.prefix+slotTag, s.prefix+"incident")
	if err != nil {
		return n, fmt.Errorf("move the incidents under %s: %w", slotTag, err)
	}
	return n, nil
}
