package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"image"

	"github.com/redis/go-redis/v9"
)

// The kinds of observation.
const (
	PersonEntered = "person_entered" // someone's feet came into a zone
	PersonLeft    = "person_left"    // a person who entered left the zone (one for each person_entered, same Track)
	// ZoneMatches: a zone with a reference looks like it again (AtMS is
	// since when), or does at its first analysis after a reference.
	ZoneMatches = "zone_matches"
	// ZoneDiffers: a zone with a reference no longer looks like it (Diff
	// says by how much), or does not at its first analysis after one.
	ZoneDiffers = "zone_differs"
)

// Observation is something seen that is not by itself an incident, such as
// "a person entered zone Z at T" or "zone Z matches its reference since T":
// the task loop uses them to confirm that a grid worker arrived and that a
// fix holds. Zone observations come on every change of state, not on every
// analysis.
type Observation struct {
	Camera   string          `json:"camera"`
	Zone     string          `json:"zone"`
	Kind     string          `json:"kind"`
	AtMS     int64           `json:"at_ms"`
	Track    int             `json:"track,omitempty"`    // person observations: the tracked person's id, the same on their person_entered and person_left
	DwellMS  int64           `json:"dwell_ms,omitempty"` // on person_left: how long they stayed
	Box      image.Rectangle `json:"box"`                // where the person was, picture pixels
	Score    float64         `json:"score,omitempty"`    // the people detector's score
	Diff     float64         `json:"diff,omitempty"`     // zone observations: the mean luma difference from the reference
	Snapshot string          `json:"snapshot,omitempty"` // file name in the snapshot folder
}

func (s *Store) observationsKey() string { return s.prefix + "observations" }

// Observe appends o to the stream <prefix>observations (the newest 100000
// are kept) and hands it to the OnObservation subscribers.
func (s *Store) Observe(ctx context.Context, o Observation) error {
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	err = s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.observationsKey(), MaxLen: 100000, Approx: true,
		Values: map[string]any{"json": data, "camera": o.Camera, "zone": o.Zone, "kind": o.Kind}}).Err()
	if err != nil {
		return fmt.Errorf("store observation: %w", err)
	}
	_, subs := s.subscribers()
	for _, fn := range subs {
		fn(o)
	}
	return nil
}

// Observations returns the newest observations first, at most limit.
func (s *Store) Observations(ctx context.Context, limit int64) ([]Observation, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.observationsKey(), "+", "-", limit).Result()
	if err != nil {
		return nil, fmt.Errorf("read observations: %w", err)
	}
	out := make([]Observation, 0, len(msgs))
	for _, m := range msgs {
		var o Observation
		if data, ok := m.Values["json"].(string); ok && json.Unmarshal([]byte(data), &o) == nil {
			out = append(out, o)
		}
	}
	return out, nil
}
