package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// HealthKey is the Redis hash that holds a camera's health. The braces
// are a hash tag: every key of one camera lands in one Redis Cluster slot.
func HealthKey(prefix, camera string) string {
	return prefix + "camera:{" + camera + "}:health"
}

// SubHealthKey is the Redis hash that holds the health of a camera's
// sub-stream, in the same fields as HealthKey's, in the camera's slot.
func SubHealthKey(prefix, camera string) string {
	return prefix + "camera:{" + camera + "}:sub:health"
}

// HealthMirror copies every camera's health into Redis once per period,
// so other processes (a second bridge, a reporting job) can read it.
type HealthMirror struct {
	RDB    redis.UniversalClient
	Prefix string
	Every  time.Duration
	Source func() []Health
}

// Run writes until ctx ends. Redis being down is not fatal: the next
// round tries again, and the error is returned by the last round.
func (m *HealthMirror) Run(ctx context.Context) error {
	t := time.NewTicker(m.Every)
	defer t.Stop()
	for {
		_ = m.WriteOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// WriteOnce writes the current health of every camera in one round trip.
func (m *HealthMirror) WriteOnce(ctx context.Context) error {
	now := time.Now().UnixMilli()
	_, err := m.RDB.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, h := range m.Source() {
			p.HSet(ctx, HealthKey(m.Prefix, h.Camera), healthFields(h, now))
			if h.Sub != nil {
				p.HSet(ctx, SubHealthKey(m.Prefix, h.Camera), healthFields(*h.Sub, now))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write camera health to redis: %w", err)
	}
	return nil
}

func healthFields(h Health, now int64) map[string]any {
	params := ""
	if len(h.LastErrorParams) > 0 {
		if b, err := json.Marshal(h.LastErrorParams); err == nil {
			params = string(b)
		}
	}
	return map[string]any{
		"online":       boolField(h.Online),
		"since_ms":     h.Since.UnixMilli(),
		"last_error":   h.LastError,
		"error_code":   h.LastErrorCode,
		"error_params": params,
		"warning":      h.Warning,
		"warning_code": h.WarningCode,
		"b_frames":     boolField(h.BFrames),
		"codec":        string(h.Codec),
		"width":        h.Width,
		"height":       h.Height,
		"fps":          strconv.FormatFloat(h.FPS, 'f', 2, 64),
		"bitrate_bps":  strconv.FormatFloat(h.Bitrate, 'f', 0, 64),
		"transport":    h.Transport,
		"reconnects":   h.Reconnects,
		"bytes":        h.Bytes,
		"frames":       h.Frames,
		"dropped":      h.Dropped,
		"lost_packets": h.LostPackets,
		"subscribers":  h.Subscribers,
		"viewers":      h.Viewers,
		"idle":         boolField(h.Idle),
		"updated_ms":   now,
	}
}

func boolField(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// ErrNoHealth is returned by ReadHealth for a camera never written.
var ErrNoHealth = errors.New("no health recorded for this camera")

// ReadHealth reads a camera's health as another process wrote it, with the
// time it was written, and its sub-stream's in Sub when it has one.
func ReadHealth(ctx context.Context, rdb redis.UniversalClient, prefix, camera string) (Health, time.Time, error) {
	hs, at, err := ReadHealths(ctx, rdb, prefix, []string{camera})
	if err != nil {
		return Health{}, time.Time{}, err
	}
	h, ok := hs[camera]
	if !ok {
		return Health{}, time.Time{}, ErrNoHealth
	}
	return h, at[camera], nil
}

// ReadHealths is ReadHealth for several cameras in one round trip; a
// camera never written is left out of both maps.
func ReadHealths(ctx context.Context, rdb redis.UniversalClient, prefix string, cameras []string) (map[string]Health, map[string]time.Time, error) {
	mains := make([]*redis.MapStringStringCmd, len(cameras))
	subs := make([]*redis.MapStringStringCmd, len(cameras))
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, cam := range cameras {
			mains[i] = p.HGetAll(ctx, HealthKey(prefix, cam))
			subs[i] = p.HGetAll(ctx, SubHealthKey(prefix, cam))
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read the health of %d cameras: %w", len(cameras), err)
	}
	hs, at := make(map[string]Health, len(cameras)), make(map[string]time.Time, len(cameras))
	for i, cam := range cameras {
		if len(mains[i].Val()) == 0 {
			continue
		}
		h, t := healthFromFields(cam, mains[i].Val())
		if len(subs[i].Val()) > 0 {
			sub, _ := healthFromFields(SubID(cam), subs[i].Val())
			h.Sub = &sub
		}
		hs[cam], at[cam] = h, t
	}
	return hs, at, nil
}

// healthFromFields reads what healthFields wrote.
func healthFromFields(camera string, m map[string]string) (Health, time.Time) {
	i := func(k string) int64 { v, _ := strconv.ParseInt(m[k], 10, 64); return v }
	f := func(k string) float64 { v, _ := strconv.ParseFloat(m[k], 64); return v }
	h := Health{
		Camera:      camera,
		Online:      m["online"] == "1",
		Since:       time.UnixMilli(i("since_ms")),
		LastError:   m["last_error"],
		Warning:     m["warning"],
		BFrames:     m["b_frames"] == "1",
		Codec:       Codec(m["codec"]),
		Width:       int(i("width")),
		Height:      int(i("height")),
		FPS:         f("fps"),
		Bitrate:     f("bitrate_bps"),
		Transport:   m["transport"],
		Reconnects:  uint64(i("reconnects")),
		Bytes:       uint64(i("bytes")),
		Frames:      uint64(i("frames")),
		Dropped:     uint64(i("dropped")),
		LostPackets: uint64(i("lost_packets")),
		Subscribers: int(i("subscribers")),
		Viewers:     int(i("viewers")),
		Idle:        m["idle"] == "1",
		WarningCode: m["warning_code"],
	}
	h.LastErrorCode = m["error_code"]
	if p := m["error_params"]; p != "" {
		_ = json.Unmarshal([]byte(p), &h.LastErrorParams) // a bad one leaves the sentence alone
	}
	return h, time.UnixMilli(i("updated_ms"))
}

// WithViewers is healths with each camera's Viewers filled in from viewers
// (counts by stream id, as the relay keeps them: a camera's sub-stream
// counts for the camera): what a bridge mirrors to Redis.
func WithViewers(healths func() []Health, viewers func() map[string]int) func() []Health {
	return func() []Health {
		hs, v := healths(), viewers()
		for i := range hs {
			hs[i].Viewers = v[hs[i].Camera] + v[SubID(hs[i].Camera)]
		}
		return hs
	}
}
