package cluster

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"qianliyan/configs"
	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
)

// testLease is short so that a lapse takes a fraction of a second.
const testLease = 600 * time.Millisecond

// config is a cluster member's config of 24 cameras under prefix, with
// testLease.
func config(prefix, node string, holdDown time.Duration) *configs.Config {
	return configLease(prefix, node, holdDown, testLease)
}

func configLease(prefix, node string, holdDown, lease time.Duration) *configs.Config {
	c := &configs.Config{Redis: configs.Redis{Prefix: prefix},
		Cluster: configs.Cluster{Node: node, Lease: configs.Duration(lease), HoldDown: configs.Duration(holdDown),
			PublicURL: "http://" + node + ".example.org:8080"}}
	for _, id := range cams(24) {
		c.Cameras = append(c.Cameras, configs.Camera{ID: id})
	}
	return c
}

// run runs m until the test ends.
func run(t *testing.T, m *Cluster) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return cancel
}

func nodes(ms []Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Node)
	}
	return out
}

func TestMemberThatStopsRenewingIsGoneWithinItsLease(t *testing.T) {
	rdb, prefix := redistest.Client(t, "cluster")
	a := New(rdb, config(prefix, "a", 0), nil, nil)
	b := New(rdb, config(prefix, "b", 0), nil, nil)
	run(t, a)
	ctx := context.Background()
	stopped := time.Now() // b's last renewal is after this
	if err := b.Step(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "a to see b", time.Second, func() bool { return slices.Equal(nodes(a.Members()), []string{"a", "b"}) })
	for _, m := range a.Members() {
		if m.Node == "b" && (m.URL != "http://b.example.org:8080" || m.Expires.Sub(stopped) > testLease+5*time.Millisecond) {
			t.Errorf("b as a sees it: %+v, want its URL and a lease ending within %v", m, testLease)
		}
	}
	// b stops renewing: a must see it gone once the lease has run out,
	// plus one of a's rounds (lease/3), plus scheduling
	testenv.WaitFor(t, "b gone", testLease+testLease/3+500*time.Millisecond, func() bool {
		return slices.Equal(nodes(a.Members()), []string{"a"})
	})
	if since := time.Since(stopped); since < testLease-50*time.Millisecond {
		t.Errorf("b gone %v after its last renewal, before its lease of %v ran out", since, testLease)
	}
	for _, cam := range cams(24) {
		if !a.Owns(cam) {
			t.Errorf("%s not owned by a, the only member left", cam)
		}
	}
	if n, _ := rdb.SCard(ctx, prefix+"{cluster}:members").Result(); n != 1 {
		t.Errorf("the set of members still has %d names, want b dropped", n)
	}
}

func TestLeavingHandsCamerasOverAtOnce(t *testing.T) {
	// a lease long enough that handing over at once cannot be mistaken
	// for the lease lapsing
	const lease = 3 * time.Second
	rdb, prefix := redistest.Client(t, "cluster")
	a := New(rdb, configLease(prefix, "a", 0, lease), nil, nil)
	b := New(rdb, configLease(prefix, "b", 0, lease), nil, nil)
	var mu sync.Mutex
	var told [][]string
	a.OnChange(func(owned []string) { mu.Lock(); told = append(told, owned); mu.Unlock() })
	run(t, a)
	stopB := run(t, b)
	// each sees the other within one round (lease/3)
	testenv.WaitFor(t, "both members own cameras as both see it", 5*time.Second, func() bool {
		ms := a.Members()
		return len(ms) == 2 && len(ms[0].Cameras) > 0 && len(ms[1].Cameras) > 0 && len(b.Members()) == 2
	})
	for _, cam := range cams(24) {
		if a.Owns(cam) == b.Owns(cam) {
			t.Errorf("%s: owned by a %v, by b %v; want exactly one", cam, a.Owns(cam), b.Owns(cam))
		}
		if o, ok := a.Owner(cam); !ok || o.Node == "b" && !b.Owns(cam) {
			t.Errorf("%s: a says its owner is %+v", cam, o)
		}
	}
	stopB()
	left := time.Now()
	testenv.WaitFor(t, "a owns every camera", lease/2, func() bool {
		ms := a.Members()
		return len(ms) == 1 && len(ms[0].Cameras) == 24
	})
	t.Logf("a took b's cameras %v after b left", time.Since(left))
	mu.Lock()
	defer mu.Unlock()
	if len(told) < 2 || len(told[len(told)-1]) != 24 {
		t.Errorf("a was told %v, want its share then all 24 cameras", told)
	}
}

func TestReturningMemberTakesItsCamerasBackAfterTheHoldDown(t *testing.T) {
	const hold = 1500 * time.Millisecond
	rdb, prefix := redistest.Client(t, "cluster")
	a := New(rdb, config(prefix, "a", hold), nil, nil)
	b := New(rdb, config(prefix, "b", hold), nil, nil)
	run(t, a)
	aStarted := time.Now()
	ctx := context.Background()
	_ = b.Step(ctx)
	// members starting together share at once, without the hold-down
	testenv.WaitFor(t, "b owns cameras at start", time.Second, func() bool { _ = b.Step(ctx); return len(a.Members()) == 2 && ownedBy(a, "b") > 0 })
	share := ownedBy(a, "b")
	// b's lease lapses: a takes everything
	testenv.WaitFor(t, "a owns all", 3*time.Second, func() bool { return ownedBy(a, "a") == 24 })
	// b comes back to a cluster running for longer than the hold-down: it
	// is live, but owns nothing until the hold-down has passed
	time.Sleep(time.Until(aStarted.Add(hold + 100*time.Millisecond)))
	back := time.Now()
	if err := b.Step(ctx); err != nil {
		t.Fatal(err)
	}
	for time.Since(back) < hold-200*time.Millisecond {
		_ = b.Step(ctx)
		if n := ownedBy(a, "b"); n != 0 || len(a.Members()) == 2 && ownedBy(b, "b") != 0 {
			t.Fatalf("%v after b came back (hold-down %v): b owns %d as a sees it, %d as b sees it; want 0",
				time.Since(back), hold, n, ownedBy(b, "b"))
		}
		time.Sleep(testLease / 6)
	}
	testenv.WaitFor(t, "b's cameras back to b", 3*time.Second, func() bool { _ = b.Step(ctx); return ownedBy(a, "b") == share })
	for _, cam := range cams(24) {
		if a.Owns(cam) == b.Owns(cam) {
			t.Errorf("%s: owned by a %v, by b %v after the hold-down; want exactly one", cam, a.Owns(cam), b.Owns(cam))
		}
	}
}

// ownedBy counts the cameras of node as m sees them.
func ownedBy(m *Cluster, node string) int {
	for _, mm := range m.Members() {
		if mm.Node == node {
			return len(mm.Cameras)
		}
	}
	return 0
}

func TestRunGivesTheLeaseUpAndLeavesNoGoroutine(t *testing.T) {
	rdb, prefix := redistest.Client(t, "cluster")
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m := New(rdb, config(prefix, "a", 0), nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	testenv.WaitFor(t, "a live", time.Second, func() bool { return len(m.Members()) == 1 })
	cancel()
	<-done
	if n, err := rdb.Exists(context.Background(), prefix+"{cluster}:member:a").Result(); n != 0 || err != nil {
		t.Errorf("after Run ended the member's key exists: %d %v, want it given up", n, err)
	}
	if ok, _ := rdb.SIsMember(context.Background(), prefix+"{cluster}:members", "a").Result(); ok {
		t.Error("after Run ended the member is still in the set of members")
	}
}
