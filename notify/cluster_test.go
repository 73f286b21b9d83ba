package notify_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"qianliyan/internal/redistest"
	"qianliyan/internal/testenv"
	"qianliyan/notify"
)

// TestWebhooksOnRedisCluster runs the delivery tests on a real Redis
// Cluster of three masters: the queue, the deliveries and the dead-letter
// list move in transactions that must stay in one slot.
func TestWebhooksOnRedisCluster(t *testing.T) {
	c, _ := redistest.ClusterClient(t)
	onCluster = c
	t.Cleanup(func() { onCluster = nil })
	for name, test := range map[string]func(*testing.T){
		"FailingTwiceIsDeliveredOnTheThirdTry": TestWebhookFailingTwiceIsDeliveredOnTheThirdTry,
		"AlwaysFailsIsDeadThenRetried":         TestWebhookThatAlwaysFailsIsDeadThenRetried,
		"RefusalIsNotRetried":                  TestWebhookRefusalIsNotRetried,
		"DeliverySurvivesARestart":             TestWebhookDeliverySurvivesARestart,
	} {
		t.Run(name, test)
	}
}

func TestWebhookQueueOfTheOldLayoutIsMovedAndDelivered(t *testing.T) {
	rcv := newReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	e := newEnv(t, hook(rcv.URL, 5, 300*time.Millisecond, "created"))
	_, stop := e.start(t)
	e.create(t)
	testenv.WaitFor(t, "the first try, recorded", 5*time.Second, func() bool {
		raws, _ := e.rdb.HVals(context.Background(), e.prefix+"{w}:webhooks:delivery").Result()
		return len(raws) == 1 && strings.Contains(raws[0], `"attempts":1`)
	})
	stop()
	// put the queue back where a bridge of the layout before {w} kept it
	ctx := context.Background()
	for _, k := range []string{"queue", "delivery"} {
		if err := e.rdb.Rename(ctx, e.prefix+"{w}:webhooks:"+k, e.prefix+"webhooks:"+k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if q := e.count(t, "queue"); q != 0 {
		t.Fatalf("%d queued under the new names before the move, want 0 (the test would prove nothing)", q)
	}
	other := notify.New(e.cfg, e.rdb, notify.Options{Poll: 20 * time.Millisecond})
	runCtx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go func() { _ = other.Run(runCtx) }()
	testenv.WaitFor(t, "the second try, after the move", 5*time.Second, func() bool { return len(rcv.got()) == 2 })
	if hits := rcv.got(); hits[1].delivery != hits[0].delivery {
		t.Errorf("after the move: delivery %s, want %s", hits[1].delivery, hits[0].delivery)
	}
	testenv.WaitFor(t, "the queue to empty", 2*time.Second, func() bool {
		return e.count(t, "queue") == 0 && e.count(t, "delivery") == 0
	})
	if n, _ := e.rdb.Exists(ctx, e.prefix+"webhooks:queue", e.prefix+"webhooks:delivery").Result(); n != 0 {
		t.Errorf("%d keys left under the old names, want 0", n)
	}
}
