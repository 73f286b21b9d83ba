package api_test

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"qianliyan/api"
	"qianliyan/detect"
	"qianliyan/internal/testenv"
)

// serveDeps starts another bridge over deps (sharing their store and clock).
func serveDeps(t *testing.T, deps api.Deps) string {
	t.Helper()
	srv := httptest.NewServer(api.New(deps).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// deadRedis is a client of a port where nothing listens.
func deadRedis(t *testing.T) *redis.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Finding 4: 50 wrong passwords were 50 × 401 with no delay, each a bcrypt
// check (about 76 ms of CPU) that anyone could make the bridge run.
func TestLoginIsThrottledPerUserAndPerAddress(t *testing.T) {
	cfg := authConfig(t)
	// a hash that costs what a real one costs, so a bcrypt run shows in the time
	slow, err := bcrypt.GenerateFromPassword([]byte("worker1-pw"), 11)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Users[2].PasswordHash = string(slow)
	b := serve(t, cfg)
	var logs testenv.Buffer
	deps := b.deps
	deps.Log = slog.New(slog.NewTextHandler(&logs, nil))
	other := serveDeps(t, deps) // a second bridge on the same store
	a1, a2, a3 := clientFrom("127.0.0.1"), clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	const wrong, right = `{"user": "worker1", "password": "nope"}`, `{"user": "worker1", "password": "worker1-pw"}`

	var one time.Duration
	for i := range 5 {
		start := time.Now()
		if r := sendFrom(t, a1, "POST", b.url+"/api/login", "", wrong); r.code != 401 {
			t.Fatalf("wrong password #%d = %d %s; want 401", i+1, r.code, r.body)
		}
		one = time.Since(start)
	}
	// Five failures: the user waits a second, on every bridge, from every
	// address, even with the right password; bcrypt does not run.
	start := time.Now()
	for i := range 20 {
		r := sendFrom(t, a2, "POST", other+"/api/login", "", right)
		if r.code != 429 || r.header.Get("Retry-After") != "1" || !strings.HasPrefix(errorOf(r.body), "too many failed logins for worker1; try again in 1 second") {
			t.Fatalf("login #%d after 5 failures = %d Retry-After %q %s; want 429, Retry-After 1 and a sentence", i+6, r.code, r.header.Get("Retry-After"), r.body)
		}
	}
	if d := time.Since(start); d > one {
		t.Errorf("20 throttled logins took %v, more than one bcrypt check (%v): bcrypt still runs for them", d, one)
	}
	if r := sendFrom(t, a2, "POST", other+"/api/login", "", `{"user": "worker2", "password": "worker2-pw"}`); r.code != 200 {
		t.Errorf("another user from another address = %d %s; want 200", r.code, r.body)
	}
	// the delay doubles with each further failure, and a success ends it
	b.clock.Add(time.Second)
	if r := sendFrom(t, a1, "POST", b.url+"/api/login", "", wrong); r.code != 401 {
		t.Fatalf("wrong password after the delay = %d %s; want 401", r.code, r.body)
	}
	if r := sendFrom(t, a2, "POST", b.url+"/api/login", "", right); r.code != 429 || r.header.Get("Retry-After") != "2" {
		t.Fatalf("login after 6 failures = %d Retry-After %q %s; want 429 and 2 s", r.code, r.header.Get("Retry-After"), r.body)
	}
	b.clock.Add(2 * time.Second)
	if r := sendFrom(t, a2, "POST", b.url+"/api/login", "", right); r.code != 200 {
		t.Fatalf("right password after the delay = %d %s; want 200", r.code, r.body)
	}
	if r := sendFrom(t, a2, "POST", b.url+"/api/login", "", wrong); r.code != 401 {
		t.Fatalf("a wrong password after a success = %d %s; want 401 (the count starts again)", r.code, r.body)
	}

	// Per address: five failures on five names from one address hold back
	// the sixth name too.
	for _, u := range []string{"a", "b", "c", "d", "e"} {
		if r := sendFrom(t, a3, "POST", other+"/api/login", "", `{"user": "`+u+`", "password": "x"}`); r.code != 401 {
			t.Fatalf("unknown user %s = %d %s; want 401", u, r.code, r.body)
		}
	}
	r := sendFrom(t, a3, "POST", b.url+"/api/login", "", `{"user": "worker2", "password": "worker2-pw"}`)
	if r.code != 429 || !strings.HasPrefix(errorOf(r.body), "too many failed logins from your address; try again in 1 second") {
		t.Errorf("sixth user from one address = %d %s; want 429 naming the address", r.code, r.body)
	}
	for _, want := range []string{`msg="login failed" user=a addr=127.0.0.3`, `msg="login refused" user=worker1 addr=127.0.0.2 reason="too many failed logins for the user" retry_after_s=1`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no audit line %q in\n%s", want, logs.String())
		}
	}

	// Redis down: the bridge counts in its own memory.
	t.Run("without Redis", func(t *testing.T) {
		cfg := authConfig(t)
		cfg.Auth.Secret = strings.Repeat("s", 32)
		deps := b.deps
		deps.Config, deps.Redis, deps.Log = cfg, deadRedis(t), slog.New(slog.DiscardHandler)
		url := serveDeps(t, deps)
		for i := range 5 {
			if r := sendFrom(t, a1, "POST", url+"/api/login", "", `{"user": "staff", "password": "x"}`); r.code != 401 {
				t.Fatalf("wrong password #%d without Redis = %d %s; want 401", i+1, r.code, r.body)
			}
		}
		if r := sendFrom(t, a1, "POST", url+"/api/login", "", `{"user": "staff", "password": "staff-pw"}`); r.code != 429 {
			t.Errorf("sixth login without Redis = %d %s; want 429", r.code, r.body)
		}
	})
}

// Finding 9: no logout, a changed user's token lived on, and a token had
// four spellings.
func TestLogoutAndUserChangesRevokeTokens(t *testing.T) {
	cfg := authConfig(t)
	b := serve(t, cfg)
	tok1 := b.login(t, "worker1").Token
	b.clock.Add(time.Millisecond)
	tok2 := b.login(t, "worker1").Token
	other := serveDeps(t, b.deps)
	if code, body := call(t, "POST", b.url+"/api/logout", tok1, ""); code != 200 {
		t.Fatalf("POST /api/logout = %d %s; want 200", code, body)
	}
	for _, url := range []string{b.url, other} {
		code, body := call(t, "GET", url+"/api/me", tok1, "")
		wantError(t, "GET /api/me with a logged-out token", code, body, 401, "this token was logged out; log in again")
	}
	if code, body := call(t, "GET", b.url+"/api/me", tok2, ""); code != 200 {
		t.Errorf("the user's other token after logout = %d %s; want 200", code, body)
	}
	code, body := call(t, "POST", b.url+"/api/logout", "", "")
	wantError(t, "logout without a token", code, body, 401, "you are not logged in: there is no token to log out")
	code, body = call(t, "POST", b.url+"/api/logout", staffToken, "")
	wantError(t, "logout with the staff token", code, body, 400, "the staff token is set in the config (server.staff_token) and cannot be logged out; change it there")

	// A new password for worker1 in the config: the bridge restarted on it
	// refuses worker1's tokens and keeps worker2's.
	tokW2 := b.login(t, "worker2").Token
	changed := *cfg
	changed.Users = slices.Clone(cfg.Users)
	hash, _ := bcrypt.GenerateFromPassword([]byte("new-pw"), bcrypt.MinCost)
	changed.Users[2].PasswordHash = string(hash)
	deps := b.deps
	deps.Config = &changed
	url := serveDeps(t, deps)
	code, body = call(t, "GET", url+"/api/me", tok2, "")
	wantError(t, "worker1's token after a new password", code, body, 401, `the account "worker1" was removed or changed since this token was given; log in again`)
	if code, body := call(t, "GET", url+"/api/me", tokW2, ""); code != 200 {
		t.Errorf("worker2's token after worker1 changed = %d %s; want 200", code, body)
	}

	// One spelling per token: the signature's last character carries two
	// spare bits, which must be zero.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tokW2[len(tokW2)-1])
	alt := tokW2[:len(tokW2)-1] + string(alphabet[last^1])
	code, body = call(t, "GET", b.url+"/api/me", alt, "")
	wantError(t, "another spelling of a token", code, body, 401, "the token's signature does not match: it was changed, or signed with another key; log in again")
}

// Finding 10: bodies were read without a cap, and PUT .../detect echoed a
// 1 MB mode back.
func TestBodiesAreCappedAndNotEchoed(t *testing.T) {
	cfg := authConfig(t)
	b := serve(t, cfg)
	store := detect.NewStore(b.rdb, cfg.Redis.Prefix+"det:")
	deps := b.deps
	deps.Incidents = store
	deps.Detection = detect.NewDetector(cfg, b.hub, store, detect.Options{}, time.Hour)
	url := serveDeps(t, deps)

	huge := `{"mode": "` + strings.Repeat("x", 1<<20) + `"}`
	r := sendFrom(t, http1(), "PUT", url+"/api/cameras/cam1/detect", staffToken, huge)
	if r.code != 413 || len(r.body) > 200 {
		t.Errorf("PUT .../detect with 1 MB = %d, %d bytes: %.200s; want 413 and a short sentence", r.code, len(r.body), r.body)
	}
	long := `{"mode": "` + strings.Repeat("x", 10<<10) + `"}`
	r = sendFrom(t, http1(), "PUT", url+"/api/cameras/cam1/detect", staffToken, long)
	if r.code != 400 || len(r.body) > 200 {
		t.Errorf("PUT .../detect with a 10 KB mode = %d, %d bytes: %.200s; want 400 and a short sentence", r.code, len(r.body), r.body)
	}
	r = sendFrom(t, http1(), "POST", url+"/api/login", "", `{"user": "staff", "password": "`+strings.Repeat("p", 100<<10)+`"}`)
	if r.code != 413 {
		t.Errorf("POST /api/login with 100 KB = %d %.200s; want 413", r.code, r.body)
	}
	r = sendFrom(t, http1(), "PUT", url+"/api/cameras/cam1/detect", staffToken, `{"mode": "watch"}`)
	if r.code != 200 {
		t.Errorf("PUT .../detect watch = %d %s; want 200", r.code, r.body)
	}
}

func http1() *http.Client { return clientFrom("127.0.0.1") }
