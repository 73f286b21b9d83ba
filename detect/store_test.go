package detect_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/detect"
	"qianliyan/internal/redistest"
)

// storeLifecycle raises, repeats, ends and lists incidents and observations
// on rdb: what a bridge does with a store, every transaction included.
func storeLifecycle(t *testing.T, rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	s := detect.NewStore(rdb, prefix)
	var seen []detect.Incident
	s.OnChange(func(in detect.Incident) { seen = append(seen, in) })
	t0 := time.UnixMilli(1_700_000_000_000)
	first, err := s.Raise(ctx, detect.Incident{Camera: "cam1", Zone: "bins", Kind: "zone_changed", Confidence: 0.5}, t0)
	if err != nil {
		t.Fatalf("Raise: %v", err)
	}
	again, err := s.Raise(ctx, detect.Incident{Camera: "cam1", Zone: "bins", Kind: "zone_changed", Confidence: 0.9, Detail: "bin fell"}, t0.Add(time.Second))
	if err != nil || again.ID != first.ID || again.Confidence != 0.9 || again.StartedMS != first.StartedMS {
		t.Fatalf("a repeat of the open problem: %+v %v, want incident %s updated to 0.9", again, err, first.ID)
	}
	other, err := s.Raise(ctx, detect.Incident{Camera: "cam2", Kind: "camera_tampered"}, t0.Add(2*time.Second))
	if err != nil || other.ID == first.ID {
		t.Fatalf("another camera's incident: %+v %v, want a new one", other, err)
	}
	ended, ok, err := s.End(ctx, "cam1", "bins", "zone_changed", t0.Add(3*time.Second))
	if err != nil || !ok || ended.ID != first.ID || ended.Open() {
		t.Fatalf("End: %+v %v %v, want %s ended", ended, ok, err, first.ID)
	}
	if _, ok, err := s.End(ctx, "cam1", "bins", "zone_changed", t0.Add(4*time.Second)); ok || err != nil {
		t.Errorf("End of nothing open: %v %v, want false, nil", ok, err)
	}
	list, err := s.List(ctx, detect.Filter{})
	if err != nil || len(list) != 2 || list[0].ID != other.ID || list[1].ID != first.ID || list[1].Open() {
		t.Errorf("List: %+v %v, want %s open then %s ended", list, err, other.ID, first.ID)
	}
	if open, _ := s.List(ctx, detect.Filter{OpenOnly: true}); len(open) != 1 || open[0].ID != other.ID {
		t.Errorf("open incidents %+v, want only %s", open, other.ID)
	}
	if len(seen) != 4 {
		t.Errorf("%d changes told to OnChange, want 4 (raise, repeat, other, end)", len(seen))
	}
	if err := s.Observe(ctx, detect.Observation{Camera: "cam1", Zone: "bins", Kind: detect.PersonEntered, AtMS: t0.UnixMilli()}); err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if obs, err := s.Observations(ctx, 10); err != nil || len(obs) != 1 || obs[0].Kind != detect.PersonEntered {
		t.Errorf("Observations: %+v %v, want the person_entered", obs, err)
	}
}

// racingRaises has two stores (two bridges) raise the same problem of a
// camera at once, as while both detect on it during a takeover: one
// incident opens, the others update it.
func racingRaises(t *testing.T, rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	stores := []*detect.Store{detect.NewStore(rdb, prefix), detect.NewStore(rdb, prefix)}
	now := time.Now()
	ids := make([]string, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			in, err := stores[i%2].Raise(ctx, detect.Incident{Camera: "cam1", Zone: "bins", Kind: "zone_changed"}, now)
			if err != nil {
				t.Errorf("Raise %d: %v", i, err)
			}
			ids[i] = in.ID
		})
	}
	wg.Wait()
	for i, id := range ids {
		if id != ids[0] {
			t.Fatalf("raise %d opened incident %s, raise 0 %s: want one incident for one problem", i, id, ids[0])
		}
	}
	if list, _ := stores[0].List(ctx, detect.Filter{}); len(list) != 1 {
		t.Errorf("%d incidents listed, want 1", len(list))
	}
}

func TestIncidentStoreLifecycle(t *testing.T) {
	rdb, prefix := redistest.Client(t, "dstore")
	storeLifecycle(t, rdb, prefix)
}

func TestRacingRaisesOpenOneIncident(t *testing.T) {
	rdb, prefix := redistest.Client(t, "drace")
	racingRaises(t, rdb, prefix)
}

// TestIncidentStoreOnRedisCluster runs the store on a real Redis Cluster of
// three masters: every transaction must stay in one slot.
func TestIncidentStoreOnRedisCluster(t *testing.T) {
	c, _ := redistest.ClusterClient(t)
	t.Run("Lifecycle", func(t *testing.T) { storeLifecycle(t, c, "qly:life:") })
	t.Run("RacingRaises", func(t *testing.T) { racingRaises(t, c, "qly:race:") })
}

func TestOldIncidentKeysAreMovedUnderTheSlotTag(t *testing.T) {
	rdb, prefix := redistest.Client(t, "dmig")
	ctx := context.Background()
	s := detect.NewStore(rdb, prefix)
	in, err := s.Raise(ctx, detect.Incident{Camera: "cam1", Zone: "bins", Kind: "zone_changed"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, prefix+"{i}:*").Result()
	if err != nil || len(keys) != 4 {
		t.Fatalf("keys of one incident: %v %v, want 4", keys, err)
	}
	for _, k := range keys {
		if err := rdb.Rename(ctx, k, strings.Replace(k, "{i}:", "", 1)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Get(ctx, in.ID); err == nil {
		t.Fatal("before the move the incident is found: the test would prove nothing")
	}
	moved, err := s.Migrate(ctx)
	if err != nil || moved != len(keys) {
		t.Fatalf("Migrate moved %d keys (%v), want %d", moved, err, len(keys))
	}
	again, err := s.Raise(ctx, detect.Incident{Camera: "cam1", Zone: "bins", Kind: "zone_changed"}, time.Now())
	if err != nil || again.ID != in.ID {
		t.Errorf("after the move a repeat gives %s (%v), want the open incident %s", again.ID, err, in.ID)
	}
	if moved, err := s.Migrate(ctx); moved != 0 || err != nil {
		t.Errorf("a second Migrate moved %d (%v), want nothing", moved, err)
	}
}
