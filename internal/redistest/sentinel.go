package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/internal/testenv"
)

// Sentinel is a Redis primary with one replica, watched by sentinels, on
// loopback (StartSentinel).
type Sentinel struct {
	Master    string   // the name the sentinels know the primary by
	Sentinels []string // the sentinels' addresses
	Primary   string   // the primary's address at the start
	Replica   string   // the replica's address at the start
}

// StartSentinel starts a primary, a replica of it and n sentinels (a
// quorum of n/2+1) that fail over after 1 s without an answer, each
// redis-server in a temporary folder, and returns once the sentinels know
// the replica; the servers stop when the test ends.
func StartSentinel(tb testing.TB, n int) Sentinel {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Fatalf("redis-server is not installed (make deps installs it): %v", err)
	}
	s := Sentinel{Master: "mymaster"}
	server := func(extra ...string) string {
		port := testenv.FreePort(tb, "tcp")
		dir := tb.TempDir()
		// a replica syncs at once, not after the default 5 s wait for others
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0"}, extra...)
		testenv.Run(tb, exec.Command("redis-server", args...), filepath.Join(dir, "redis.log"))
		addr := "127.0.0.1:" + strconv.Itoa(port)
		waitPing(tb, addr)
		return addr
	}
	s.Primary = server()
	host, port := "127.0.0.1", s.Primary[len("127.0.0.1:"):]
	s.Replica = server("--replicaof", host, port)
	waitInfo(tb, s.Replica, "master_link_status:up")
	for range n {
		sp := testenv.FreePort(tb, "tcp")
		dir := tb.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s %s %s %d\n"+
			"sentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 5000\nsentinel parallel-syncs %s 1\n",
			sp, dir, s.Master, host, port, n/2+1, s.Master, s.Master, s.Master)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
		testenv.Run(tb, exec.Command("redis-server", conf, "--sentinel"), filepath.Join(dir, "sentinel.log"))
		addr := "127.0.0.1:" + strconv.Itoa(sp)
		waitPing(tb, addr)
		s.Sentinels = append(s.Sentinels, addr)
	}
	// a failover needs the sentinels to know the replica and each other
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for _, a := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: a})
		for {
			reps, err1 := c.Replicas(ctx, s.Master).Result()
			sens, err2 := c.Sentinels(ctx, s.Master).Result()
			if err1 == nil && err2 == nil && len(reps) == 1 && len(sens) == n-1 {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				tb.Fatalf("sentinel %s does not know the replica and the other sentinels within 15 s: %v %v %v %v", a, reps, err1, sens, err2)
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
	return s
}

// waitPing waits up to 10 s for a redis-server at addr to answer.
func waitPing(tb testing.TB, addr string) {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			tb.Fatalf("redis-server at %s did not answer within 10 s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitInfo waits up to 10 s for the INFO of the redis-server at addr to
// say want.
func waitInfo(tb testing.TB, addr, want string) {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := c.Info(context.Background(), "replication").Result()
		if err == nil && strings.Contains(info, want) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redis-server at %s: no %q in its INFO within 10 s:\n%s", addr, want, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
