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

// URL is the address of the test Redis: QLY_REDIS_URL, or
// redis://127.0.0.1:6379/0 when it is not set. Tests that start the bridge
// as a program put it in its config.
func URL() string {
	if url := os.Getenv("QLY_REDIS_URL"); url != "" {
		return url
	}
	return "redis://127.0.0.1:6379/0"
}

// Options are the client options of the test Redis.
func Options(tb testing.TB) *redis.Options {
	tb.Helper()
	o, err := redis.ParseURL(URL())
	if err != nil {
		tb.Fatalf("QLY_REDIS_URL %q: %v", URL(), err)
	}
	return o
}

// Connect connects to the test Redis, fails the test if it does not
// answer, and closes the client when the test ends.
func Connect(tb testing.TB) *redis.Client {
	tb.Helper()
	o := Options(tb)
	rdb := redis.NewClient(o)
	tb.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("redis at %s: %v (make test starts one)", o.Addr, err)
	}
	return rdb
}

// Client connects to the test Redis and returns the client and a fresh
// prefix ("qly:<name><nanoseconds>:"); both are cleaned up after the test.
func Client(tb testing.TB, name string) (*redis.Client, string) {
	tb.Helper()
	rdb := Connect(tb)
	prefix := fmt.Sprintf("qly:%s%d:", name, time.Now().UnixNano())
	tb.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})
	return rdb, prefix
}
