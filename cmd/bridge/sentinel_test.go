package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
	"qianliyan/internal/redistest"
	"qianliyan/task"
)

// TestSentinelFailoverLosesNoAcknowledgedTaskWrite: a task store over the
// bridge's Sentinel client (newRedis with redis.sentinel) creates and
// accepts tasks in a loop while the sentinels fail the primary over to its
// replica (SENTINEL FAILOVER); afterwards every task the store said it
// created is there, in at least the state it said it moved it to, and the
// writes went on against the new primary.
func TestSentinelFailoverLosesNoAcknowledgedTaskWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five redis-servers and fails one over")
	}
	s := redistest.StartSentinel(t, 3)
	rdb, at, err := newRedis("sentinel-test.yaml", configs.Redis{URL: "redis://" + s.Primary + "/0",
		Sentinel: configs.Sentinel{Master: s.Master, Addrs: s.Sentinels}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	t.Logf("store over %s", at)
	const prefix = "qly:failover:"
	store := task.NewStore(rdb, prefix, configs.Tasks{}, nil)
	store.WaitForReplicas(1, time.Second) // as redis.wait_replicas: 1 sets it
	staff := task.Actor{ID: "staff1", Role: task.Staff}
	ctx := context.Background()

	var (
		mu       sync.Mutex
		acked    = map[string]task.State{} // task id → the state the store said it is in
		failed   int                       // writes the store refused (not acknowledged)
		switched time.Time                 // when the sentinels named the new primary
		after    int                       // writes acknowledged after that
		lastErr  error                     // the first refusal after it
	)
	ack := func(id string, st task.State) {
		mu.Lock()
		defer mu.Unlock()
		acked[id] = st
		if !switched.IsZero() {
			after++
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tk, err := store.Create(ctx, staff, task.NewTask{Title: fmt.Sprintf("井盖松动 %d-%d", w, i), Grid: "hexia-01"})
				if err != nil {
					mu.Lock()
					failed++
					if !switched.IsZero() && lastErr == nil {
						lastErr = err
					}
					mu.Unlock()
					time.Sleep(20 * time.Millisecond)
					continue
				}
				ack(tk.ID, task.Reported)
				if _, _, err := store.Transition(ctx, tk.ID, staff, task.Accept, task.Request{}); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					continue
				}
				ack(tk.ID, task.Accepted)
			}
		})
	}

	time.Sleep(2 * time.Second)
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0]})
	defer sc.Close()
	if err := sc.Failover(ctx, s.Master).Err(); err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		addr, err := sc.GetMasterAddrByName(ctx, s.Master).Result()
		if err == nil && len(addr) == 2 && addr[0]+":"+addr[1] == s.Replica {
			break
		}
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("the sentinels did not name the replica %s primary within 15 s (now %v %v)", s.Replica, addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	switched = time.Now()
	mu.Unlock()
	// the store follows the new primary once go-redis hears of the switch,
	// and its writes are confirmed once the old primary replicates the new
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		n := after
		mu.Unlock()
		if n >= 100 {
			break
		}
	}
	close(stop)
	wg.Wait()

	// read back from the new primary directly, not through the store's client
	check := task.NewStore(redis.NewClient(&redis.Options{Addr: s.Replica}), prefix, configs.Tasks{}, nil)
	var lost, behind []string
	for id, st := range acked {
		got, err := check.Get(ctx, id)
		switch {
		case err != nil:
			lost = append(lost, id)
		case st == task.Accepted && got.State != task.Accepted:
			behind = append(behind, id+" "+string(got.State))
		}
	}
	t.Logf("%d tasks acknowledged (%d writes after the switch, %s later), %d writes refused during the failover (after the switch: %v)",
		len(acked), after, time.Since(switched).Round(time.Millisecond), failed, lastErr)
	if len(lost) > 0 || len(behind) > 0 {
		t.Errorf("after the failover: %d acknowledged tasks lost %v, %d acknowledged acceptances lost %v", len(lost), lost, len(behind), behind)
	}
	if after == 0 {
		t.Error("no write was acknowledged after the failover: the store did not follow the new primary")
	}
}
