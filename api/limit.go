package api

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

// Limits on what a client may ask for, counted in Redis so that every
// bridge sharing the store shares the counts (a client behind a load
// balancer does not get N times the limit), and in this process's memory
// while Redis does not answer, so a Redis outage neither opens the doors
// nor locks everyone out. golang.org/x/time/rate would count per process
// only.
//
// Keys, under the config's prefix:
//
//	limit:<what>:<who>   string, a rate's theoretical arrival time (Unix ms), expires when idle
//	login:user:<name>    hash {n, until}: failed logins of a user name
//	login:addr:<addr>    hash {n, until}: failed logins from an address

// rateLimit is a rate with a burst (GCRA, the token bucket's twin): burst
// requests at once, then one every every.
type rateLimit struct {
	what  string // in the key
	every time.Duration
	burst int
}

// The limits per client address and per token.
var (
	// deviceLimit: a phone asks once a year; a school's NAT a few a minute.
	deviceLimit = rateLimit{what: "device", every: 6 * time.Second, burst: 10}
	// reportLimit: residents' reports, 10 at once then 30 an hour.
	reportLimit = rateLimit{what: "report", every: 2 * time.Minute, burst: 10}
	// residentUploads and staffUploads: photos per token and day.
	residentUploads = rateLimit{what: "upload", every: 24 * time.Hour / 20, burst: 20}
	staffUploads    = rateLimit{what: "upload", every: 24 * time.Hour / 200, burst: 200}
)

// Login throttling: after loginFree failures of a user name, or from an
// address, each further attempt waits loginDelay, doubling with each
// failure up to loginMaxDelay. The counts end loginWindow after the last
// attempt.
const (
	loginFree     = 5
	loginDelay    = time.Second
	loginMaxDelay = 15 * time.Minute
	loginWindow   = 15 * time.Minute
	// memEntries bounds the memory fallback; past it, idle entries go.
	memEntries = 100_000
)

// gcraScript is rateLimit's check in Redis: ARGV now, every, burst (ms,
// ms, count). It returns 0 when allowed, else the ms to wait.
var gcraScript = redis.NewScript(`
local now, every, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local wait = tat + every - every * burst - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], tat + every, 'PX', tat + every - now)
return 0`)

// attemptScript counts a login attempt before its password is checked:
// ARGV now, free, delay, max delay, window (ms). It returns 0 when the
// attempt may go on, else the ms to wait (the attempt is then not counted).
var attemptScript = redis.NewScript(`
local now, free = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local untl = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if n >= free and untl > now then return untl - now end
n = n + 1
local wait = 0
if n >= free then wait = math.min(tonumber(ARGV[3]) * 2 ^ (n - free), tonumber(ARGV[4])) end
redis.call('HSET', KEYS[1], 'n', n, 'until', now + wait)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]) + wait)
return 0`)

// forgiveScript takes back the count of an attempt that succeeded.
var forgiveScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'n', -1)
  redis.call('HSET', KEYS[1], 'until', 0)
end
return 0`)

// pause skips Redis for a moment after a call failed: while Redis is down
// go-redis redials and retries each call for about a second, which a login
// or a camera list should not wait for every time.
type pause struct{ until atomic.Int64 }

const pauseFor = 2 * time.Second

func (p *pause) skip() bool { return time.Now().UnixNano() < p.until.Load() }
func (p *pause) failed()    { p.until.Store(time.Now().Add(pauseFor).UnixNano()) }

// limiter counts in Redis, or in memory while Redis fails.
type limiter struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	down   atomic.Bool // Redis failed last time: log once per outage
	pause  pause

	mu  sync.Mutex
	mem map[string]*memCount
}

// memCount is one key of the memory fallback.
type memCount struct {
	tat, n, until, expires int64 // ms
}

func newLimiter(rdb redis.UniversalClient, prefix string, log *slog.Logger) *limiter {
	return &limiter{rdb: rdb, prefix: prefix, log: log, mem: map[string]*memCount{}}
}

// run runs a script on key in Redis; ok is false when Redis failed, and
// the caller counts in memory instead.
func (l *limiter) run(ctx context.Context, sc *redis.Script, key string, args ...any) (ms int64, ok bool) {
	if l.rdb != nil && !l.pause.skip() {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		n, err := sc.Run(ctx, l.rdb, []string{l.prefix + key}, args...).Int64()
		if err == nil {
			if l.down.Swap(false) {
				l.log.Info("limits counted in Redis again")
			}
			return n, true
		}
		l.pause.failed()
		if !l.down.Swap(true) {
			l.log.Warn("limits counted in this bridge's memory: Redis does not answer", "err", err)
		}
	}
	return 0, false
}

// entry is the memory fallback's count of key (l.mu held).
func (l *limiter) entry(key string, now int64) *memCount {
	e := l.mem[key]
	if e == nil || e.expires <= now {
		if len(l.mem) >= memEntries {
			for k, v := range l.mem {
				if v.expires <= now {
					delete(l.mem, k)
				}
			}
			if len(l.mem) >= memEntries {
				clear(l.mem) // a flood of addresses: start again rather than grow
			}
		}
		e = &memCount{}
		l.mem[key] = e
	}
	return e
}

// allow takes one request of who from r at now; it returns 0, or how long
// to wait when the request is over the limit.
func (l *limiter) allow(ctx context.Context, r rateLimit, who string, now time.Time) time.Duration {
	key, ms := "limit:"+r.what+":"+who, now.UnixMilli()
	every := r.every.Milliseconds()
	if wait, ok := l.run(ctx, gcraScript, key, ms, every, r.burst); ok {
		return time.Duration(wait) * time.Millisecond
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(key, ms)
	tat := max(e.tat, ms)
	if wait := tat + every - every*int64(r.burst) - ms; wait > 0 {
		return time.Duration(wait) * time.Millisecond
	}
	e.tat, e.expires = tat+every, tat+every
	return 0
}

// attempt counts a login attempt under key before the password is checked
// (so that a burst of parallel attempts is counted too); it returns 0, or
// how long to wait.
func (l *limiter) attempt(ctx context.Context, key string, now time.Time) time.Duration {
	ms := now.UnixMilli()
	if wait, ok := l.run(ctx, attemptScript, key, ms, loginFree, loginDelay.Milliseconds(), loginMaxDelay.Milliseconds(), loginWindow.Milliseconds()); ok {
		return time.Duration(wait) * time.Millisecond
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(key, ms)
	if e.n >= loginFree && e.until > ms {
		return time.Duration(e.until-ms) * time.Millisecond
	}
	e.n++
	wait := int64(0)
	if e.n >= loginFree {
		wait = int64(math.Min(float64(loginDelay.Milliseconds())*math.Pow(2, float64(e.n-loginFree)), float64(loginMaxDelay.Milliseconds())))
	}
	e.until, e.expires = ms+wait, ms+wait+loginWindow.Milliseconds()
	return 0
}

// forgive takes back an attempt under key that succeeded.
func (l *limiter) forgive(ctx context.Context, key string) {
	if _, ok := l.run(ctx, forgiveScript, key); ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.mem[key]; e != nil {
		e.n, e.until = max(e.n-1, 0), 0
	}
}

// clientAddr is who a per-address limit counts: the peer's IP address (a
// proxy's X-Forwarded-For is not trusted: anyone can send one), an IPv6
// address by its /64, which one subscriber usually holds whole.
func clientAddr(c *gin.Context) string {
	ip := net.ParseIP(c.RemoteIP())
	if ip == nil {
		return c.RemoteIP()
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// limit takes one request of who from r; over the limit it answers 429
// with Retry-After and says what was refused (about: "too many reports
// from your address").
func (s *Server) limit(c *gin.Context, r rateLimit, who, about string) error {
	wait := s.limits.allow(c.Request.Context(), r, who, s.now())
	if wait <= 0 {
		return nil
	}
	return s.tooMany(c, wait, "%s; try again in %s", about, s.waitWords(wait))
}

// tooMany is a 429 with Retry-After in whole seconds.
func (s *Server) tooMany(c *gin.Context, wait time.Duration, format string, args ...any) error {
	c.Header("Retry-After", strconv.FormatInt(retrySeconds(wait), 10))
	n := retrySeconds(wait)
	return Coded(http.StatusTooManyRequests, MsgTooMany, map[string]any{"wait_s": n, "until_ms": s.now().Add(time.Duration(n) * time.Second).UnixMilli()},
		format, args...)
}

func retrySeconds(wait time.Duration) int64 { return max(1, int64(math.Ceil(wait.Seconds()))) }

// waitWords says a wait in words and when it ends in the center's time:
// "1 second (at 11:04:06)", "12 minutes (at 11:16:05)".
func (s *Server) waitWords(wait time.Duration) string {
	n := retrySeconds(wait)
	at := s.now().Add(time.Duration(n) * time.Second).In(s.cfg.Server.Location()).Format("15:04:05")
	unit := "second"
	switch {
	case n >= 2*3600:
		n, unit = (n+1799)/3600, "hour"
	case n >= 120:
		n, unit = (n+29)/60, "minute"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s (at %s)", n, unit, at)
}
