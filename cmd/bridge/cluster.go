package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/cluster"
	"qianliyan/configs"
	"qianliyan/ingest"
)

// memberFlags are the flags that let several bridges run from one config
// file on one host: each overrides its field of the file when set.
type memberFlags struct {
	addr, metricsAddr, node, dataDir *string
	udpPort                          *int
}

func addMemberFlags(fs *flag.FlagSet) memberFlags {
	return memberFlags{
		addr:        fs.String("addr", "", "listen on this host:port, overriding server.addr"),
		metricsAddr: fs.String("metrics-addr", "", "serve /metrics on this host:port, overriding server.metrics_addr"),
		node:        fs.String("node", "", "this bridge's name in the cluster, overriding cluster.node"),
		dataDir:     fs.String("data-dir", "", "keep snapshots, recordings and uploads here, overriding data_dir (two bridges on one host must not share one)"),
		udpPort:     fs.Int("udp-port", 0, "WebRTC UDP port, overriding webrtc.udp_port (and tcp_port when it is the same port)"),
	}
}

// apply overrides the config with the flags that were set. A new -addr
// moves this member's public URL to its port too, unless
// cluster.public_url names it: two members on one host must not send
// viewers to each other's address.
func (f memberFlags) apply(c *configs.Config) {
	if *f.addr != "" {
		c.Server.Addr = *f.addr
		if c.Cluster.PublicURL == "" {
			c.Cluster.PublicURL = withPort(c.Server.PublicURL, *f.addr)
		}
	}
	if *f.metricsAddr != "" {
		c.Server.MetricsAddr = *f.metricsAddr
	}
	if *f.node != "" {
		c.Cluster.Node = *f.node
	}
	if *f.dataDir != "" {
		c.DataDir = *f.dataDir
	}
	if *f.udpPort != 0 {
		if c.WebRTC.TCPPort == c.WebRTC.UDPPort {
			c.WebRTC.TCPPort = *f.udpPort
		}
		c.WebRTC.UDPPort = *f.udpPort
	}
}

// withPort returns publicURL with the port of addr; publicURL as it is
// when either cannot be read (validation then names it).
func withPort(publicURL, addr string) string {
	u, err := url.Parse(publicURL)
	_, port, perr := net.SplitHostPort(addr)
	if err != nil || perr != nil || port == "" || port == "0" {
		return publicURL
	}
	u.Host = net.JoinHostPort(u.Hostname(), port)
	return u.String()
}

// newRedis builds the one Redis client of the bridge: a Redis Cluster
// client for redis.addrs, a Sentinel-backed one for redis.sentinel, else
// one client of redis.url. The URL's user, password, database and TLS
// apply to all three.
func newRedis(cfgPath string, r configs.Redis) (redis.UniversalClient, string, error) {
	o, err := redis.ParseURL(r.URL)
	if err != nil {
		// the URL may hold a password: the error names the field, not the URL
		return nil, "", fmt.Errorf("%s: redis.url: cannot be used: %w", cfgPath, err)
	}
	uo := &redis.UniversalOptions{Username: o.Username, Password: o.Password, DB: o.DB, TLSConfig: o.TLSConfig}
	switch {
	case len(r.Addrs) > 0:
		// IsClusterMode: one seed node is enough to find the others
		uo.Addrs, uo.IsClusterMode = r.Addrs, true
		return redis.NewUniversalClient(uo), fmt.Sprintf("redis cluster %v", r.Addrs), nil
	case r.Sentinel.Master != "":
		uo.Addrs, uo.MasterName = r.Sentinel.Addrs, r.Sentinel.Master
		return redis.NewUniversalClient(uo), fmt.Sprintf("sentinel %v, primary %s", r.Sentinel.Addrs, r.Sentinel.Master), nil
	}
	// a unix socket too, which UniversalOptions cannot name
	return redis.NewClient(o), o.Addr, nil
}

// joinCluster makes this bridge a member of the cluster on rdb: the hub
// reads only the cameras the membership gives it, from its first reading
// of the members on. A bridge alone is a cluster of one and reads every
// camera.
func joinCluster(cfg *configs.Config, rdb redis.UniversalClient, hub *ingest.Hub, log *slog.Logger) *cluster.Cluster {
	m := cluster.New(rdb, cfg, nil, log)
	hub.Gated = true
	m.OnChange(hub.Own)
	return m
}

// overdueDuty is the duty of looking for overdue tasks, held by one member
// at a time. Its lease is the membership's, at least 3 s: the task store
// renews it at each check, every second.
func overdueDuty(cfg *configs.Config, rdb redis.UniversalClient) *cluster.Duty {
	return cluster.NewDuty(rdb, cfg.Redis.Prefix, "overdue", cfg.Cluster.Node, max(cfg.Cluster.Lease.D(), 3*time.Second))
}
