package redislog_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/internal/redislog"
)

// syncBuffer is a buffer that go-redis's goroutines and the test may use
// at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedisLinesBecomeSlogEvents: a client that cannot dial makes go-redis
// log; the line arrives in slog as a warning with component=redis, not on
// stderr in go-redis's own format.
func TestRedisLinesBecomeSlogEvents(t *testing.T) {
	var out syncBuffer
	redislog.Route(slog.New(slog.NewTextHandler(&out, nil)))
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil && !strings.Contains(out.String(), "component=redis") {
		_ = rdb.Ping(ctx).Err()
		time.Sleep(50 * time.Millisecond)
	}
	got := out.String()
	if !strings.Contains(got, "level=WARN") || !strings.Contains(got, "component=redis") || strings.Contains(got, "msg=\"redis: ") {
		t.Fatalf("slog got %q, want a WARN event with component=redis and the line without its \"redis: \" prefix", got)
	}
}
