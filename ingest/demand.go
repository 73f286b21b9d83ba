package ingest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSubLinger is how long a sub-stream is still read after its last
// reader left, so that a wall tile switching to the main stream and back
// does not pay for a new RTSP session (one to two seconds to a picture).
const DefaultSubLinger = 10 * time.Second

// demand runs a Reader only while its Stream is needed: while it has
// video subscribers, and for linger after the last one left or after a
// Want. Its Run owns the reader's goroutine.
type demand struct {
	r      *Reader
	linger atomic.Int64 // a time.Duration; set by Hub.Run
	wake   chan struct{}
	// released: another member of the cluster reads the camera, so this
	// one does not, whoever asks (Hub.Own)
	released atomic.Bool

	mu    sync.Mutex
	until time.Time // wanted at least until then (Want, the linger)
}

func newDemand(r *Reader, linger time.Duration) *demand {
	r.health.Idle = true
	r.health.setReason(idleReason)
	d := &demand{r: r, wake: make(chan struct{}, 1)}
	d.linger.Store(int64(linger))
	return d
}

// release stops (true) or allows again (false) reading the stream.
func (d *demand) release(released bool) {
	d.released.Store(released)
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Want asks for the stream for at least the linger from now (a viewer is
// about to subscribe) and starts its reader if it is not running.
func (d *demand) Want() {
	d.mu.Lock()
	d.until = time.Now().Add(time.Duration(d.linger.Load()))
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run starts and stops the reader as the demand comes and goes, until ctx
// ends; it returns once the reader has stopped.
func (d *demand) Run(ctx context.Context) {
	var (
		stop    context.CancelCauseFunc
		done    chan struct{}
		hadSubs bool
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		now := time.Now()
		subs := d.r.stream.Stats().Subscribers > 0
		d.mu.Lock()
		if subs || hadSubs {
			// the linger counts from when the last subscriber left
			d.until = now.Add(time.Duration(d.linger.Load()))
		}
		until := d.until
		d.mu.Unlock()
		hadSubs = subs
		released := d.released.Load()
		wanted := (subs || now.Before(until)) && !released
		switch {
		case wanted && stop == nil:
			var rctx context.Context
			rctx, stop = context.WithCancelCause(ctx)
			done = make(chan struct{})
			go func() {
				defer close(done)
				_ = d.r.Run(rctx)
			}()
		case !wanted && stop != nil:
			if released {
				stop(errReleased)
			} else {
				stop(errIdle)
			}
			<-done
			stop = nil
		}
		if stop != nil && !subs {
			timer.Reset(until.Sub(now)) // look again when the linger ends
		}
		select {
		case <-ctx.Done():
			if stop != nil {
				stop(ctx.Err())
				<-done
			}
			return
		case <-d.r.stream.Demand():
		case <-d.wake:
		case <-timer.C:
		}
	}
}
