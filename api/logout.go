package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

// Revoked tokens: POST /api/logout puts the token's signature on a denylist
// in Redis (<prefix>auth:revoked:<signature>) until the token would have
// expired anyway, so every bridge sharing the store refuses it. This bridge
// also keeps the tokens logged out through it in memory, so that while
// Redis does not answer it still refuses those, and lets the others through
// (failing closed would end every viewer's video with Redis).

// tokenSigKey is where authenticate keeps the signature of the request's token.
const tokenSigKey = "qly.token_sig"

// revocations is the denylist.
type revocations struct {
	rdb    redis.UniversalClient
	prefix string
	pause  pause

	mu    sync.Mutex
	local map[string]int64 // signature → expiry (Unix ms)
}

func newRevocations(rdb redis.UniversalClient, prefix string) *revocations {
	return &revocations{rdb: rdb, prefix: prefix + "auth:revoked:", local: map[string]int64{}}
}

// revoke puts the token with signature sig, valid until expMS, on the list.
func (r *revocations) revoke(ctx context.Context, sig string, expMS int64, now time.Time) error {
	r.mu.Lock()
	for k, exp := range r.local {
		if exp <= now.UnixMilli() {
			delete(r.local, k)
		}
	}
	r.local[sig] = expMS
	r.mu.Unlock()
	if r.rdb == nil {
		return nil
	}
	ttl := time.Duration(expMS-now.UnixMilli()) * time.Millisecond
	if ttl <= 0 {
		return nil
	}
	return r.rdb.Set(ctx, r.prefix+sig, 1, ttl).Err()
}

// revoked reports whether the token with signature sig was logged out.
func (r *revocations) revoked(ctx context.Context, sig string) bool {
	r.mu.Lock()
	_, local := r.local[sig]
	r.mu.Unlock()
	if local || r.rdb == nil || r.pause.skip() {
		return local
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	n, err := r.rdb.Exists(ctx, r.prefix+sig).Result()
	if err != nil {
		r.pause.failed()
	}
	return err == nil && n > 0
}

var errLoggedOut = Errorf(http.StatusUnauthorized, "this token was logged out; log in again")

// logout answers POST /api/logout: the request's token is refused from now
// on, by every bridge on the store.
func (s *Server) logout(c *gin.Context) error {
	v, ok := c.Get(claimsKey)
	if !ok {
		return Errorf(http.StatusUnauthorized, "you are not logged in: there is no token to log out")
	}
	cl := v.(Claims)
	if cl.Sub == StaffTokenID {
		return Errorf(http.StatusBadRequest, "the staff token is set in the config (server.staff_token) and cannot be logged out; change it there")
	}
	if err := s.revoked.revoke(c.Request.Context(), c.GetString(tokenSigKey), cl.Exp, s.now()); err != nil {
		return errors.Join(errLoggedOutHere, err)
	}
	s.log.Info("logged out", "user", cl.Sub, "addr", clientAddr(c))
	c.JSON(http.StatusOK, gin.H{"status": "logged out"})
	return nil
}

// errLoggedOutHere goes with a Redis error: the token is refused by this
// bridge, and wrap says the store is not reachable.
var errLoggedOutHere = errors.New("logout recorded on this bridge only")
