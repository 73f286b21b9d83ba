package cluster

import (
	"context"
	"testing"
	"time"

	"qianliyan/internal/redistest"
)

func TestDutyIsHeldByOneMemberAndPassesOnWhenItLapses(t *testing.T) {
	rdb, prefix := redistest.Client(t, "duty")
	ctx := context.Background()
	ttl := 300 * time.Millisecond
	a := NewDuty(rdb, prefix, "overdue", "a", ttl)
	b := NewDuty(rdb, prefix, "overdue", "b", ttl)
	if !a.Held(ctx) {
		t.Fatal("a free duty was not taken by a")
	}
	// a renews it faster than its TTL: b never gets it
	for range 6 {
		if b.Held(ctx) {
			t.Fatal("b holds the duty while a renews it")
		}
		time.Sleep(ttl / 3)
		if !a.Held(ctx) {
			t.Fatal("a lost the duty it renews")
		}
	}
	// a stops renewing: b takes it once the lease lapses, not before
	if b.Held(ctx) {
		t.Fatal("b took the duty before a's lease lapsed")
	}
	time.Sleep(ttl + 50*time.Millisecond)
	if !b.Held(ctx) {
		t.Fatal("b did not take the duty after a's lease lapsed")
	}
	if a.Held(ctx) {
		t.Fatal("a holds the duty again while b renews it")
	}
	// b gives it up: a takes it at once
	a.Release(ctx) // not a's: changes nothing
	if a.Held(ctx) {
		t.Fatal("a's Release of b's lease let a take it")
	}
	b.Release(ctx)
	if !a.Held(ctx) {
		t.Fatal("a did not take the duty b released")
	}
}
