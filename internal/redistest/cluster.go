package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/internal/testenv"
)

// StartCluster starts a Redis Cluster of n masters (no replicas) on
// loopback, each redis-server in a temporary folder, and returns their
// addresses once every slot is served; the servers stop when the test
// ends. It skips the test when redis-server has no cluster support.
func StartCluster(tb testing.TB, n int) []string {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Fatalf("redis-server is not installed (make deps installs it): %v", err)
	}
	addrs := make([]string, n)
	for i := range addrs {
		port := clusterPort(tb)
		dir := tb.TempDir()
		addrs[i] = "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "2000", "--dir", dir, "--save", "", "--appendonly", "no")
		testenv.Run(tb, cmd, filepath.Join(dir, "redis.log"))
	}
	ctx := context.Background()
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		var err error
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err = c.ClusterInfo(ctx).Result(); err == nil || time.Now().After(deadline) {
				break
			}
			if strings.Contains(err.Error(), "cluster support disabled") {
				c.Close()
				tb.Skipf("redis-server at %s has no cluster support: %v", a, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
		if err != nil {
			tb.Fatalf("redis-server at %s did not start within 10 s: %v", a, err)
		}
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		// every node must know the whole map before clients can rely on it
		ok := true
		for _, a := range addrs {
			nc := redis.NewClient(&redis.Options{Addr: a})
			info, err := nc.ClusterInfo(ctx).Result()
			nc.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok = false
			}
		}
		if ok && c.Ping(ctx).Err() == nil {
			return addrs
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redis cluster %v not ready within 15 s", addrs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ClusterClient starts a Redis Cluster of three masters (StartCluster) and
// returns a client of it, closed when the test ends.
func ClusterClient(tb testing.TB) (*redis.ClusterClient, []string) {
	tb.Helper()
	addrs := StartCluster(tb, 3)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	tb.Cleanup(func() { c.Close() })
	return c, addrs
}

// clusterPort is a free loopback port whose cluster bus port (port+10000)
// is free too.
func clusterPort(tb testing.TB) int {
	tb.Helper()
	for range 100 {
		p := testenv.FreePort(tb, "tcp")
		if p+10000 > 65535 {
			continue
		}
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p+10000))
		if err != nil {
			continue
		}
		l.Close()
		return p
	}
	tb.Fatal("no free port with a free cluster bus port (+10000) in 100 tries")
	return 0
}
