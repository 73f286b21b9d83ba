package task_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/internal/redistest"
	"qianliyan/task"
)

// onCluster, while set, is the Redis of every newEnv instead of the test
// Redis (TestStoreOnRedisCluster).
var onCluster redis.UniversalClient

// TestStoreOnRedisCluster runs the store's tests of transactions,
// retries, races, deadlines, ratings and restarts on a real Redis
// Cluster of three masters: every transaction must stay in one slot.
func TestStoreOnRedisCluster(t *testing.T) {
	c, _ := redistest.ClusterClient(t)
	onCluster = c
	t.Cleanup(func() { onCluster = nil })
	for name, test := range map[string]func(*testing.T){
		"EveryActionStateAndRole":                TestEveryActionStateAndRole,
		"RetryWithTheSameRequestIDGivesTheFirst": TestRetryWithTheSameRequestIDGivesTheFirstResult,
		"ConcurrentDispatchAndRejectOneWins":     TestConcurrentDispatchAndRejectOneWins,
		"HappyPathTimeline":                      TestHappyPathTimeline,
		"IncidentTaskOncePerIncidentAndAutoAcc":  TestIncidentTaskOncePerIncidentAndAutoAccept,
		"ListFiltersAndPages":                    TestListFiltersAndPages,
		"RatingRules":                            TestRatingRules,
		"RestartLosesNothing":                    TestRestartLosesNothing,
		"OverdueOncePerStageAndAcrossRestarts":   TestOverdueOncePerStageAndAcrossRestarts,
		"RacingFallsMakeOneTask":                 TestRacingFallsMakeOneTask,
		"ProblemBackSoonAfterCloseReopens":       TestProblemBackSoonAfterCloseReopens,
		"StatsByHand":                            TestStatsByHand,
	} {
		t.Run(name, test)
	}
}

func TestOldKeyLayoutIsMovedUnderTheSlotTag(t *testing.T) {
	e := newEnv(t, defaultLimits)
	tk := inState(t, e.Store, task.Claimed)
	// put every key back where a bridge of the layout before {t} kept it
	keys, err := e.rdb.Keys(ctx, e.prefix+"{t}:*").Result()
	if err != nil || len(keys) < 5 {
		t.Fatalf("keys of a claimed task: %v %v", keys, err)
	}
	for _, k := range keys {
		if err := e.rdb.Rename(ctx, k, strings.Replace(k, "{t}:", "", 1)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	again := e.restart()
	if _, err := again.Get(ctx, tk.ID); !errors.Is(err, task.ErrNotFound) {
		t.Fatalf("before the move: Get = %v, want not found (the test would prove nothing)", err)
	}
	moved, err := again.Migrate(ctx)
	if err != nil || moved != len(keys) {
		t.Fatalf("Migrate moved %d keys (%v), want %d", moved, err, len(keys))
	}
	if got, err := again.Get(ctx, tk.ID); err != nil || got.State != task.Claimed {
		t.Errorf("after the move: %+v %v, want the claimed task", got, err)
	}
	if moved, err := again.Migrate(ctx); moved != 0 || err != nil {
		t.Errorf("a second Migrate moved %d (%v), want nothing", moved, err)
	}
}

// TestWaitForReplicasRefusesAChangeNoReplicaConfirms: with no replica to
// confirm it, a store that waits for one reports its changes as not made
// (ErrNotReplicated), after the wait; one that waits for none does not.
func TestWaitForReplicasRefusesAChangeNoReplicaConfirms(t *testing.T) {
	e := newEnv(t, defaultLimits)
	if info, _ := e.rdb.Info(ctx, "replication").Result(); !strings.Contains(info, "connected_slaves:0") {
		t.Skip("the test Redis has replicas")
	}
	tk := inState(t, e.Store, task.Reported)
	e.WaitForReplicas(1, 50*time.Millisecond)
	start := time.Now()
	_, _, err := e.Transition(ctx, tk.ID, staff, task.Accept, task.Request{})
	if !errors.Is(err, task.ErrNotReplicated) || time.Since(start) < 50*time.Millisecond {
		t.Errorf("accept with no replica to confirm it: %v after %s, want ErrNotReplicated after the 50ms wait", err, time.Since(start))
	}
	if _, err := e.Create(ctx, staff, task.NewTask{Title: "井盖松动", Grid: "g1"}); !errors.Is(err, task.ErrNotReplicated) {
		t.Errorf("create with no replica to confirm it: %v, want ErrNotReplicated", err)
	}
	e.WaitForReplicas(0, 0)
	if _, err := e.Create(ctx, staff, task.NewTask{Title: "井盖松动", Grid: "g1"}); err != nil {
		t.Errorf("create waiting for no replica: %v", err)
	}
}
