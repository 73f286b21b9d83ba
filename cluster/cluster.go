// Package cluster makes several bridges on one Redis one: each bridge is a
// member that holds a lease in Redis, each camera has one owner among the
// live members (rendezvous hashing, or the member it is pinned to), and a
// member learns which cameras are its own from Run's changes.
//
// There is no consensus of our own: a member is live while its key in
// Redis is, and every member computes the same owners from the same list
// of members. While they see different lists (for at most one renewal
// period) a camera may have two owners or none for a moment.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
)

// Member is one bridge of the cluster as the others see it.
type Member struct {
	Node string `json:"node"`
	// URL is where the member is reached (its cluster.public_url).
	URL string `json:"url"`
	// Started is when the member's process started.
	Started time.Time `json:"started"`
	// Since is when its current lease began: when it started, or came back
	// after its lease lapsed.
	Since time.Time `json:"since"`
	// Expires is when its lease ends unless renewed.
	Expires time.Time `json:"lease_expires"`
	// Cameras are the cameras it owns, in config order.
	Cameras []string `json:"cameras"`
}

// lease is what a member's key holds.
type lease struct {
	URL       string `json:"url"`
	StartedMS int64  `json:"started_ms"`
	SinceMS   int64  `json:"since_ms"`
}

// Cluster is this bridge's membership and its view of the others. Under
// the Redis prefix (e.g. "qly:"):
//
//	{cluster}:member:<node>  string, JSON of the member's URL, start and
//	                         lease start; expires with the lease (PX)
//	{cluster}:members        set of node names; a name whose key has
//	                         expired is dropped by the next member to see it
//
// The braces put every key of the cluster in one Redis Cluster slot. Run
// renews the lease every lease/3 and reads the members as often.
type Cluster struct {
	rdb      redis.UniversalClient
	prefix   string
	node     string
	url      string
	lease    time.Duration
	holdDown time.Duration
	cameras  []string
	pins     map[string]string
	now      func() time.Time
	log      *slog.Logger
	started  time.Time

	mu      sync.Mutex
	since   time.Time         // this member's lease start; zero while it holds none
	members []Member          // as last read, by node name
	owners  map[string]string // camera → node, as last computed
	owned   []string          // this member's cameras, as last told
	told    bool              // OnChange functions have been called once
	subs    []func(owned []string)
}

// New returns the membership of this bridge (cfg.Cluster.Node) over the
// cameras of cfg. now gives the time (nil: time.Now); log may be nil.
func New(rdb redis.UniversalClient, cfg *configs.Config, now func() time.Time, log *slog.Logger) *Cluster {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{rdb: rdb, prefix: cfg.Redis.Prefix, node: cfg.Cluster.Node, url: cfg.MemberURL(),
		lease: cfg.Cluster.Lease.D(), holdDown: cfg.Cluster.HoldDown.D(), pins: map[string]string{},
		now: now, log: log.With("node", cfg.Cluster.Node), started: now(), owners: map[string]string{}}
	for _, cam := range cfg.Cameras {
		c.cameras = append(c.cameras, cam.ID)
		if cam.Node != "" {
			c.pins[cam.ID] = cam.Node
		}
	}
	return c
}

func (c *Cluster) memberKey(node string) string { return c.prefix + "{cluster}:member:" + node }
func (c *Cluster) membersKey() string           { return c.prefix + "{cluster}:members" }

// Node is this member's name.
func (c *Cluster) Node() string { return c.node }

// OnChange adds fn to the functions told this member's cameras (in config
// order) after the first reading of the members and whenever they change,
// in Run's goroutine. fn must not block for long.
func (c *Cluster) OnChange(fn func(owned []string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs = append(c.subs, fn)
}

// Run holds this member's lease and follows the others until ctx ends;
// then it gives the lease up, so the others take its cameras at once.
// Redis being down is not fatal: the owners stay as they were and the
// next round tries again.
func (c *Cluster) Run(ctx context.Context) error {
	t := time.NewTicker(c.lease / 3)
	defer t.Stop()
	for {
		if err := c.Step(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("cluster: cannot renew the lease or read the members", "err", err)
		}
		select {
		case <-ctx.Done():
			c.leave()
			return nil
		case <-t.C:
		}
	}
}

// Step renews the lease once, reads the members and tells the OnChange
// functions when this member's cameras changed. Run calls it every
// lease/3; tests call it to step without waiting.
func (c *Cluster) Step(ctx context.Context) error {
	if err := c.renew(ctx); err != nil {
		return err
	}
	members, err := c.read(ctx)
	if err != nil {
		return err
	}
	c.update(members)
	return nil
}

// leave gives the lease up without waiting for it to expire.
func (c *Cluster) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, c.memberKey(c.node))
		p.SRem(ctx, c.membersKey(), c.node)
		return nil
	})
	if err != nil {
		c.log.Warn("cluster: cannot give the lease up; it expires by itself", "err", err)
	}
	c.mu.Lock()
	c.since = time.Time{}
	c.mu.Unlock()
}

// renew extends the lease, or takes a new one (starting a new Since)
// when it has lapsed.
func (c *Cluster) renew(ctx context.Context) error {
	c.mu.Lock()
	since := c.since
	c.mu.Unlock()
	now := c.now()
	if !since.IsZero() {
		ok, err := c.rdb.SetXX(ctx, c.memberKey(c.node), c.leaseJSON(since), c.lease).Result()
		if err != nil {
			return fmt.Errorf("renew the lease of %s: %w", c.node, err)
		}
		if ok {
			return nil
		}
		c.log.Warn("cluster: the lease lapsed; taking a new one", "lease", c.lease)
	}
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, c.memberKey(c.node), c.leaseJSON(now), c.lease)
		p.SAdd(ctx, c.membersKey(), c.node)
		return nil
	})
	if err != nil {
		return fmt.Errorf("take the lease of %s: %w", c.node, err)
	}
	c.mu.Lock()
	c.since = now
	c.mu.Unlock()
	c.log.Info("cluster: member live", "url", c.url, "lease", c.lease)
	return nil
}

func (c *Cluster) leaseJSON(since time.Time) string {
	b, _ := json.Marshal(lease{URL: c.url, StartedMS: c.started.UnixMilli(), SinceMS: since.UnixMilli()})
	return string(b)
}

// read returns the live members by name, dropping from the set the names
// whose lease has expired.
func (c *Cluster) read(ctx context.Context) ([]Member, error) {
	nodes, err := c.rdb.SMembers(ctx, c.membersKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("read the members: %w", err)
	}
	slices.Sort(nodes)
	gets := make([]*redis.StringCmd, len(nodes))
	ttls := make([]*redis.DurationCmd, len(nodes))
	_, err = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range nodes {
			gets[i] = p.Get(ctx, c.memberKey(n))
			ttls[i] = p.PTTL(ctx, c.memberKey(n))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read the members' leases: %w", err)
	}
	now := c.now()
	var out []Member
	var gone []string
	for i, n := range nodes {
		var l lease
		v, err := gets[i].Result()
		if errors.Is(err, redis.Nil) || json.Unmarshal([]byte(v), &l) != nil {
			gone = append(gone, n)
			continue
		}
		out = append(out, Member{Node: n, URL: l.URL, Started: time.UnixMilli(l.StartedMS), Since: time.UnixMilli(l.SinceMS),
			Expires: now.Add(max(ttls[i].Val(), 0))})
	}
	for _, n := range gone {
		// it may have come back meanwhile: drop it only while it has no key
		if k, err := c.rdb.Exists(ctx, c.memberKey(n)).Result(); err == nil && k == 0 {
			c.rdb.SRem(ctx, c.membersKey(), n)
		}
	}
	return out, nil
}

// update computes the owners from members and tells the OnChange
// functions when this member's cameras changed.
func (c *Cluster) update(members []Member) {
	owners := Assign(c.cameras, c.pins, members, c.holdDown, c.now())
	var owned []string
	for _, cam := range c.cameras {
		if owners[cam] == c.node {
			owned = append(owned, cam)
		}
	}
	c.mu.Lock()
	c.members, c.owners = members, owners
	changed := !c.told || !slices.Equal(owned, c.owned)
	c.owned, c.told = owned, true
	subs := slices.Clone(c.subs)
	c.mu.Unlock()
	if !changed {
		return
	}
	c.log.Info("cluster: cameras of this member", "cameras", len(owned), "members", len(members))
	for _, fn := range subs {
		fn(slices.Clone(owned))
	}
}

// Owner returns the member that owns camera, as last read; ok is false
// when no live member owns it (no member read yet, or an unknown camera).
func (c *Cluster) Owner(camera string) (m Member, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	node, ok := c.owners[camera]
	if !ok {
		return Member{}, false
	}
	for _, m := range c.members {
		if m.Node == node {
			return m, true
		}
	}
	return Member{}, false
}

// Owns reports whether this member owns camera. Before the members are
// first read it owns none.
func (c *Cluster) Owns(camera string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.owners[camera] == c.node
}

// Members returns the live members as last read, by name, each with the
// cameras it owns.
func (c *Cluster) Members() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.members)
	for i := range out {
		out[i].Cameras = []string{}
		for _, cam := range c.cameras {
			if c.owners[cam] == out[i].Node {
				out[i].Cameras = append(out[i].Cameras, cam)
			}
		}
	}
	return out
}
