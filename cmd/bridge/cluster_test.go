package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
)

func TestMemberFlagsOverrideTheConfig(t *testing.T) {
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	f := addMemberFlags(fs)
	if err := fs.Parse([]string{"-addr", ":8081", "-udp-port", "8190", "-node", "b2", "-metrics-addr", "127.0.0.1:9091", "-data-dir", "data2"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Load("../../configs/demo.yaml", f.apply)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{cfg.Server.Addr, cfg.WebRTC.UDPPort, cfg.WebRTC.TCPPort, cfg.Cluster.Node, cfg.Server.MetricsAddr, cfg.MemberURL(), cfg.DataDir}
	want := []any{":8081", 8190, 8190, "b2", "127.0.0.1:9091", "http://localhost:8081", "data2"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("addr, udp, tcp, node, metrics, member URL, data dir = %v, want %v", got, want)
			break
		}
	}

	fs = flag.NewFlagSet("bridge", flag.ContinueOnError)
	f = addMemberFlags(fs)
	_ = fs.Parse([]string{"-node", "bad name"})
	_, err = configs.Load("../../configs/demo.yaml", f.apply)
	if err == nil || !strings.Contains(err.Error(), `cluster.node: "bad name" must be`) {
		t.Errorf("-node with a space: want cluster.node refused, got %v", err)
	}
}

func TestNewRedisPicksTheClientOfTheConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    configs.Redis
		want string // %T of the client
	}{
		{"one redis", configs.Redis{URL: "redis://127.0.0.1:6379/0"}, "*redis.Client"},
		{"unix socket", configs.Redis{URL: "unix:///run/redis.sock"}, "*redis.Client"},
		{"cluster, one seed", configs.Redis{URL: "redis://127.0.0.1:6379/0", Addrs: []string{"127.0.0.1:7000"}}, "*redis.ClusterClient"},
		{"sentinel", configs.Redis{URL: "redis://127.0.0.1:6379/0", Sentinel: configs.Sentinel{Master: "m", Addrs: []string{"127.0.0.1:26379"}}}, "*redis.Client"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := newRedis("x.yaml", tt.r)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := typeName(c); got != tt.want {
				t.Errorf("client %s, want %s", got, tt.want)
			}
		})
	}
	if _, _, err := newRedis("x.yaml", configs.Redis{URL: "redis://127.0.0.1:6379/x"}); err == nil || !strings.HasPrefix(err.Error(), "x.yaml: redis.url: cannot be used") {
		t.Errorf("bad URL: want an error naming the file and field, got %v", err)
	}
}

func typeName(c redis.UniversalClient) string {
	switch c.(type) {
	case *redis.ClusterClient:
		return "*redis.ClusterClient"
	case *redis.Client:
		return "*redis.Client"
	}
	return "other"
}
