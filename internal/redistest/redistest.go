// Package redistest gives tests a real Redis (QLY_REDIS_URL, default
// 127.0.0.1:6379/0; `make test` starts one) and a key prefix of their own
// whose keys are deleted when the test ends.
package redistest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options are the client options of the test Redis.
func Options(tb testing.TB) *redis.Options {
	tb.Helper()
	url := os.Getenv("QLY_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("QLY_REDIS_URL %q: %v", url, err)
	}
	return o
}

// Client connects to the test Redis and returns the client and a fresh
// prefix ("qly:<name><nanoseconds>:"); both are cleaned up after the test.
func Client(tb testing.TB, name string) (*redis.Client, string) {
	tb.Helper()
	o := Options(tb)
	rdb := redis.NewClient(o)
	tb.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("redis at %s: %v (make test starts one)", o.Addr, err)
	}
	prefix := fmt.Sprintf("qly:%s%d:", name, time.Now().UnixNano())
	tb.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})
	return rdb, prefix
}
