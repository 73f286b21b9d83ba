package redislog_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/internal/redislog"
	"qianliyan/internal/testenv"
)

// TestRedisLinesBecomeSlogEvents: a client that cannot dial makes go-redis
// log; the line arrives in slog as a warning with component=redis, not on
// stderr in go-redis's own format.
func TestRedisLinesBecomeSlogEvents(t *testing.T) {
	var out testenv.Buffer
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
