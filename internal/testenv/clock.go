package testenv

import (
	"sync"
	"time"
)

// Clock is a time that moves only when the test says, for the code under
// test to read through a func() time.Time (pass c.Now). It is safe for
// concurrent use: servers read it while the test moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a Clock that reads t until it is moved.
func NewClock(t time.Time) *Clock {
	return &Clock{t: t}
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t, forward or back.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
