package cluster

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Duty is a job that one member of the cluster does at a time, such as
// looking for overdue tasks: the member that holds the duty's lease, the
// key {cluster}:duty:<name> under the prefix, whose value is the holder's
// node name and which expires unless the holder renews it. A holder that
// stops (or loses Redis) lets it lapse and another member takes it at its
// next Held.
//
// A lease is not a lock: a holder paused past the TTL may act once more
// after another took over, so the job itself must be safe to do twice
// (the task store's overdue mark is a WATCH transaction and marks a stage
// once); the lease saves the work of every member scanning.
type Duty struct {
	rdb  redis.UniversalClient
	key  string
	node string
	ttl  time.Duration
}

// NewDuty returns the duty name of member node, with a lease of ttl.
func NewDuty(rdb redis.UniversalClient, prefix, name, node string, ttl time.Duration) *Duty {
	return &Duty{rdb: rdb, key: prefix + "{cluster}:duty:" + name, node: node, ttl: ttl}
}

// holdScript renews the lease of ARGV[1] or takes it when free; it
// returns 1 when ARGV[1] holds it after.
var holdScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`)

// Held renews this member's lease of the duty, or takes it when no member
// holds it, and reports whether this member holds it now. Call it more
// often than the TTL. Redis away: false (another member may hold it).
func (d *Duty) Held(ctx context.Context) bool {
	n, err := holdScript.Run(ctx, d.rdb, []string{d.key}, d.node, d.ttl.Milliseconds()).Int()
	return err == nil && n == 1
}

// Release gives the lease up when this member holds it, so another takes
// the duty at once rather than after the TTL.
func (d *Duty) Release(ctx context.Context) {
	releaseScript.Run(ctx, d.rdb, []string{d.key}, d.node)
}

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
