package api_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"qianliyan/api"
	"qianliyan/configs"
	"qianliyan/internal/redistest"
	"qianliyan/internal/whepclient"
)

// authConfig is three cameras that never come online (cam1 public in g1,
// cam2 private in g1, cam3 private in g2) and a user of every role whose
// password is the login followed by "-pw".
func authConfig(t *testing.T) *configs.Config {
	t.Helper()
	hash := func(user string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(user+"-pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	cfg, err := configs.Parse("auth.yaml", []byte(fmt.Sprintf(`
cameras:
  - {id: cam1, name: 花巷口, grid: g1, url: "rtsp://127.0.0.1:1/a", public: true}
  - {id: cam2, name: 估衣街, grid: g1, url: "rtsp://127.0.0.1:1/b"}
  - {id: cam3, name: 竹巷街, grid: g2, url: "rtsp://127.0.0.1:1/c"}
users:
  - {name: admin, role: admin, password_hash: %q}
  - {name: staff, display_name: 值班员 王敏, role: staff, password_hash: %q}
  - {name: worker1, display_name: 网格员 李强, role: worker, grids: [g1], password_hash: %q}
  - {name: worker2, role: worker, grids: [g2], password_hash: %q}
  - {name: resident, role: resident, password_hash: %q}
`, hash("admin"), hash("staff"), hash("worker1"), hash("worker2"), hash("resident"))))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.StaffToken = staffToken
	// Each test keeps its own token key in Redis.
	_, cfg.Redis.Prefix = redistest.Client(t, "authtest")
	return cfg
}

// cameraIDs lists the ids GET /api/cameras gives with token.
func (b *bridge) cameraIDs(t *testing.T, token string) []string {
	t.Helper()
	code, body := call(t, "GET", b.url+"/api/cameras", token, "")
	var list struct{ Cameras []api.Camera }
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
		t.Fatalf("GET /api/cameras = %d %s", code, body)
	}
	ids := []string{}
	for _, c := range list.Cameras {
		ids = append(ids, c.ID)
	}
	return ids
}

const notLoggedIn = "this needs the role staff or admin: log in (POST /api/login) and send the token as Authorization: Bearer <token>"

func TestLoginGivesASignedTokenOfTheUsersRole(t *testing.T) {
	b := serve(t, authConfig(t))
	tr := b.login(t, "worker1")
	want := api.TokenResponse{Token: tr.Token, User: "worker1", Name: "网格员 李强", Role: "worker", Grids: []string{"g1"},
		ExpiresMS: t0.Add(12 * time.Hour).UnixMilli()}
	if !slices.Equal(tr.Grids, want.Grids) || tr.User != want.User || tr.Name != want.Name || tr.Role != want.Role || tr.ExpiresMS != want.ExpiresMS {
		t.Errorf("login = %+v\nwant %+v", tr, want)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$`).MatchString(tr.Token) {
		t.Errorf("token %q is not base64url(claims).base64url(HMAC-SHA256)", tr.Token)
	}
	code, body := call(t, "GET", b.url+"/api/me", tr.Token, "")
	wantMe := fmt.Sprintf(`{"sub":"worker1","name":"网格员 李强","role":"worker","grids":["g1"],"exp":%d,"iat":%d}`,
		t0.Add(12*time.Hour).UnixMilli(), t0.UnixMilli())
	if code != 200 || body != wantMe {
		t.Errorf("GET /api/me = %d %s\nwant 200 %s", code, body, wantMe)
	}
	// the token also works as ?token=, for EventSource
	if code, body := call(t, "GET", b.url+"/api/me?token="+tr.Token, "", ""); code != 200 || !strings.Contains(body, `"sub":"worker1"`) {
		t.Errorf("GET /api/me?token= = %d %s", code, body)
	}
	// a user without a display name is shown by login name
	if tr := b.login(t, "worker2"); tr.Name != "worker2" || tr.Role != "worker" {
		t.Errorf("worker2 login = %+v, want name worker2", tr)
	}
}

func TestWrongUserAndWrongPasswordGetTheSameAnswer(t *testing.T) {
	b := serve(t, authConfig(t))
	for _, tc := range []struct {
		name, body string
		code       int
		msg        string
	}{
		{"wrong password", `{"user": "staff", "password": "staff-pw!"}`, 401, "wrong user name or password"},
		{"no such user", `{"user": "nobody", "password": "staff-pw"}`, 401, "wrong user name or password"},
		{"another user's password", `{"user": "staff", "password": "admin-pw"}`, 401, "wrong user name or password"},
		{"no password", `{"user": "staff"}`, 400, "both user and password are needed"},
		{"not JSON", `user=staff&password=staff-pw`, 400, `the body is not JSON of the right shape (invalid character 'u' looking for beginning of value); send JSON like {"user": "worker1", "password": "…"}`},
	} {
		code, body := call(t, "POST", b.url+"/api/login", "", tc.body)
		wantError(t, tc.name, code, body, tc.code, tc.msg)
	}
	code, body := call(t, "GET", b.url+"/api/me", "", "")
	wantError(t, "GET /api/me without a token", code, body, 401,
		"you are not logged in: log in (POST /api/login), or get a resident's device token (POST /api/device)")
}

func TestTokenExpires(t *testing.T) {
	b := serve(t, authConfig(t))
	tok := b.login(t, "staff").Token
	b.clock.Add(12*time.Hour - time.Millisecond)
	if code, body := call(t, "GET", b.url+"/api/me", tok, ""); code != 200 {
		t.Fatalf("a millisecond before it expires: GET /api/me = %d %s", code, body)
	}
	b.clock.Add(time.Millisecond)
	code, body := call(t, "GET", b.url+"/api/cameras", tok, "")
	wantError(t, "GET /api/cameras with an expired token", code, body, 401, "the token expired at 2030-01-02 23:04:05 Asia/Shanghai; log in again")
	// logging in again works whatever old token the client still sends
	req, _ := http.NewRequest("POST", b.url+"/api/login", strings.NewReader(`{"user": "staff", "password": "staff-pw"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("login with an expired token in the header = %d, want 200", res.StatusCode)
	}
}

// forge signs claims the way the bridge does, with key.
func forge(key string, claims any) string {
	b, _ := json.Marshal(claims)
	body := base64.RawURLEncoding.EncodeToString(b)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(body))
	return body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func TestTamperedAndForeignTokensAreRefused(t *testing.T) {
	cfg := authConfig(t)
	cfg.Auth.Secret = strings.Repeat("s", 32)
	b := serve(t, cfg)
	tok := b.login(t, "worker1").Token

	// a worker who makes itself staff
	body, sig, _ := strings.Cut(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(body)
	promoted := strings.Replace(string(raw), `"role":"worker"`, `"role":"staff"`, 1)
	tampered := base64.RawURLEncoding.EncodeToString([]byte(promoted)) + "." + sig

	exp := t0.Add(time.Hour).UnixMilli()
	claims := func(sub, role string, grids []string, exp int64) map[string]any {
		return map[string]any{"sub": sub, "name": sub, "role": role, "grids": grids, "exp": exp, "iat": t0.UnixMilli()}
	}
	const badSig = "the token's signature does not match: it was changed, or signed with another key; log in again"
	const garbled = "the token is neither the staff token nor one this bridge gives out; log in again"
	for _, tc := range []struct {
		name, token string
		code        int
		msg         string
	}{
		{"role changed in the claims", tampered, 401, badSig},
		{"signed with another key", forge(strings.Repeat("x", 32), claims("staff", "staff", nil, exp)), 401, badSig},
		{"signature cut short", tok[:len(tok)-4], 401, badSig},
		{"not a token at all", "let-me-in", 401, garbled},
		{"signature not base64", body + ".!!!", 401, garbled},
		{"signed claims that are not JSON", forge(cfg.Auth.Secret, "just text"), 401, garbled},
		{"signed claims of an unknown role", forge(cfg.Auth.Secret, claims("staff", "boss", nil, exp)), 401, garbled},
		{"well signed but expired", forge(cfg.Auth.Secret, claims("staff", "staff", nil, t0.UnixMilli())), 401,
			"the token expired at 2030-01-02 11:04:05 Asia/Shanghai; log in again"},
		{"a user that is not in the config", forge(cfg.Auth.Secret, claims("ghost", "staff", nil, exp)), 401,
			`the account "ghost" was removed or changed since this token was given; log in again`},
		{"a worker's grids made larger", forge(cfg.Auth.Secret, claims("worker1", "worker", []string{"g1", "g2"}, exp)), 401,
			`the account "worker1" was removed or changed since this token was given; log in again`},
		{"a device token of another role", forge(cfg.Auth.Secret, claims("dev-0123456789abcdef", "staff", nil, exp)), 401, garbled},
	} {
		code, body := call(t, "GET", b.url+"/api/cameras", tc.token, "")
		wantError(t, tc.name, code, body, tc.code, tc.msg)
	}
	// the same key signs what the bridge accepts
	code, body := call(t, "GET", b.url+"/api/me", forge(cfg.Auth.Secret, claims("staff", "staff", []string{}, exp)), "")
	if code != 200 || !strings.Contains(body, `"sub":"staff","name":"staff","role":"staff"`) {
		t.Errorf("a token forged with the configured secret = %d %s, want 200", code, body)
	}
	// a 401 tells the client how to authenticate
	res, err := http.Get(b.url + "/api/me?token=let-me-in")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("WWW-Authenticate"); got != `Bearer realm="qianliyan"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}

func TestWrongRoleIsForbidden(t *testing.T) {
	b := serve(t, authConfig(t))
	worker := b.login(t, "worker1").Token
	resident := b.login(t, "resident").Token
	staff := b.login(t, "staff").Token
	admin := b.login(t, "admin").Token
	for _, tc := range []struct {
		name, method, path, token, body string
		code                            int
		msg                             string
	}{
		{"worker lists incidents", "GET", "/api/incidents", worker, "", 403, "this needs the role staff or admin; you are logged in as worker1 (worker)"},
		{"resident reads an incident", "GET", "/api/incidents/x", resident, "", 403, "this needs the role staff or admin; you are logged in as resident (resident)"},
		{"worker takes a zone reference", "POST", "/api/cameras/cam2/zones/x/reference", worker, "", 403, "this needs the role staff or admin; you are logged in as worker1 (worker)"},
		{"worker sets detection", "PUT", "/api/cameras/cam2/detect", worker, `{"mode":"watch"}`, 403, "this needs the role staff or admin; you are logged in as worker1 (worker)"},
		{"nobody lists incidents", "GET", "/api/incidents", "", "", 401, notLoggedIn},
		{"nobody reads an incident's picture", "GET", "/api/incidents/x/snapshot.jpg", "", "", 401, notLoggedIn},
		// staff and admin pass the door; this bridge runs no detection
		{"staff lists incidents", "GET", "/api/incidents", staff, "", 503, "detection is not running on this bridge"},
		{"admin sets detection", "PUT", "/api/cameras/cam2/detect", admin, `{"mode":"watch"}`, 503, "detection is not running on this bridge"},
		{"staff token lists incidents", "GET", "/api/incidents", staffToken, "", 503, "detection is not running on this bridge"},
	} {
		code, body := call(t, tc.method, b.url+tc.path, tc.token, tc.body)
		wantError(t, tc.name, code, body, tc.code, tc.msg)
	}
}

func TestWorkerSeesPublicAndOwnGridCameras(t *testing.T) {
	b := serve(t, authConfig(t))
	w1, w2 := b.login(t, "worker1").Token, b.login(t, "worker2").Token
	if got := b.cameraIDs(t, w1); !slices.Equal(got, []string{"cam1", "cam2"}) {
		t.Errorf("worker1 (grid g1) lists %v, want [cam1 cam2]", got)
	}
	if got := b.cameraIDs(t, w2); !slices.Equal(got, []string{"cam1", "cam3"}) {
		t.Errorf("worker2 (grid g2) lists %v, want [cam1 cam3]", got)
	}
	const notPublic = `camera "cam3" is not public: only the center's staff and the workers of grid g2 may watch it`
	code, body := call(t, "GET", b.url+"/api/cameras/cam3", w1, "")
	wantError(t, "worker1 GET cam3", code, body, 403, notPublic)
	code, body = call(t, "GET", b.url+"/api/cameras/cam3/snapshot.jpg", w1, "")
	wantError(t, "worker1 GET cam3's snapshot", code, body, 403, notPublic)
	code, body = call(t, "GET", b.url+"/api/cameras/cam2", w1, "")
	if code != 200 || !strings.Contains(body, `"id":"cam2"`) || strings.Contains(body, `"sessions"`) {
		t.Errorf("worker1 GET cam2 = %d %s, want 200 without the viewers' sessions", code, body)
	}

	// WHEP: the own grid's private camera passes the door (and is offline),
	// another grid's is refused
	_, offer, err := whepclient.Offer()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		camera string
		code   int
		msg    string
	}{
		{"cam2", 503, "offline"},
		{"cam3", 403, notPublic},
	} {
		req, _ := http.NewRequest("POST", b.url+"/whep/"+tc.camera, strings.NewReader(offer))
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Authorization", "Bearer "+w1)
		code, body := send(t, req)
		if code != tc.code || !strings.Contains(errorOf(body), tc.msg) {
			t.Errorf("worker1 WHEP %s = %d %s, want %d with %q", tc.camera, code, body, tc.code, tc.msg)
		}
	}

	// events: the cameras worker1 may watch, nothing else
	if got := cameraEvents(t, b.url, w1, 2); !slices.Equal(got, []string{"cam1", "cam2"}) {
		t.Errorf("worker1's camera events = %v, want [cam1 cam2]", got)
	}
}

// cameraEvents reads /api/events?token= until n camera events came (or 3 s
// passed) and gives their camera ids, sorted.
func cameraEvents(t *testing.T, base, token string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/events?token="+token, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET /api/events = %d %s", res.StatusCode, b)
	}
	ids := []string{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	event := ""
	for len(ids) < n && sc.Scan() {
		if e, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			event = e
		} else if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if event != "camera" {
				t.Errorf("unexpected %s event: %s", event, d)
				continue
			}
			var c api.Camera
			if err := json.Unmarshal([]byte(d), &c); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

func TestResidentSeesPublicCamerasOnly(t *testing.T) {
	b := serve(t, authConfig(t))
	code, body := call(t, "POST", b.url+"/api/device", "", "")
	var dev api.TokenResponse
	if err := json.Unmarshal([]byte(body), &dev); code != 201 || err != nil {
		t.Fatalf("POST /api/device = %d %s", code, body)
	}
	for who, tok := range map[string]string{"a resident's account": b.login(t, "resident").Token, "a device": dev.Token, "nobody": ""} {
		if got := b.cameraIDs(t, tok); !slices.Equal(got, []string{"cam1"}) {
			t.Errorf("%s lists %v, want [cam1]", who, got)
		}
		code, body := call(t, "GET", b.url+"/api/cameras/cam2", tok, "")
		wantError(t, who+" GET cam2", code, body, 403, `camera "cam2" is not public: only the center's staff and the workers of grid g1 may watch it`)
		if got := cameraEvents(t, b.url, tok, 1); !slices.Equal(got, []string{"cam1"}) {
			t.Errorf("%s's camera events = %v, want [cam1]", who, got)
		}
	}
	// the center sees every camera
	for _, tok := range []string{b.login(t, "staff").Token, b.login(t, "admin").Token, staffToken} {
		if got := b.cameraIDs(t, tok); !slices.Equal(got, []string{"cam1", "cam2", "cam3"}) {
			t.Errorf("the center lists %v, want all three", got)
		}
	}
}

func TestDeviceTokenIsAResidentOfItsOwn(t *testing.T) {
	b := serve(t, authConfig(t))
	device := func() api.TokenResponse {
		code, body := call(t, "POST", b.url+"/api/device", "", "")
		var tr api.TokenResponse
		if err := json.Unmarshal([]byte(body), &tr); code != 201 || err != nil {
			t.Fatalf("POST /api/device = %d %s", code, body)
		}
		return tr
	}
	d1, d2 := device(), device()
	if !regexp.MustCompile(`^dev-[0-9a-f]{16}$`).MatchString(d1.User) || d1.User == d2.User {
		t.Errorf("device ids %q and %q, want two different dev- and 16 hex digits", d1.User, d2.User)
	}
	if d1.Role != "resident" || d1.ExpiresMS != t0.Add(8760*time.Hour).UnixMilli() || d1.Grids == nil || len(d1.Grids) != 0 {
		t.Errorf("device token = %+v, want a resident's for a year", d1)
	}
	code, body := call(t, "GET", b.url+"/api/me", d1.Token, "")
	if want := fmt.Sprintf(`{"sub":%q,"name":"","role":"resident","grids":[],"exp":%d,"iat":%d}`, d1.User, d1.ExpiresMS, t0.UnixMilli()); code != 200 || body != want {
		t.Errorf("GET /api/me with a device token = %d %s\nwant 200 %s", code, body, want)
	}
	code, body = call(t, "GET", b.url+"/api/incidents", d1.Token, "")
	wantError(t, "device lists incidents", code, body, 403, fmt.Sprintf("this needs the role staff or admin; you are logged in as %s (resident)", d1.User))
	b.clock.Add(8760 * time.Hour)
	code, body = call(t, "GET", b.url+"/api/me", d1.Token, "")
	wantError(t, "a year later", code, body, 401, "the token expired at "+t0.Add(8760*time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05")+" Asia/Shanghai; log in again")
}

func TestStaffTokenIsAStaffService(t *testing.T) {
	b := serve(t, authConfig(t))
	code, body := call(t, "GET", b.url+"/api/me", staffToken, "")
	if want := `{"sub":"@staff_token","name":"staff_token","role":"staff","grids":[]}`; code != 200 || body != want {
		t.Errorf("GET /api/me with the staff token = %d %s, want 200 %s", code, body, want)
	}
	if got := cameraEvents(t, b.url, staffToken, 3); !slices.Equal(got, []string{"cam1", "cam2", "cam3"}) {
		t.Errorf("staff token's camera events = %v, want all three", got)
	}
	// without a staff_token in the config, the old token is just wrong
	cfg := authConfig(t)
	cfg.Server.StaffToken = ""
	b2 := serve(t, cfg)
	code, body = call(t, "GET", b2.url+"/api/cameras", staffToken, "")
	wantError(t, "staff token on a bridge without one", code, body, 401, "the token is neither the staff token nor one this bridge gives out; log in again")
}

func TestSecretInRedisOutlivesTheServer(t *testing.T) {
	cfg := authConfig(t)
	first := serve(t, cfg)
	tok := first.login(t, "worker1").Token

	stored, err := first.rdb.Get(context.Background(), cfg.Redis.Prefix+"auth:secret").Result()
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(stored) {
		t.Fatalf("Redis %sauth:secret = %q, %v; want 32 random bytes in hex", cfg.Redis.Prefix, stored, err)
	}
	// a second server (a restart) over the same Redis takes the first one's token
	second := serve(t, cfg)
	if code, body := call(t, "GET", second.url+"/api/me", tok, ""); code != 200 || !strings.Contains(body, `"sub":"worker1"`) {
		t.Errorf("the second server refuses the first one's token: %d %s", code, body)
	}
	if again, _ := first.rdb.Get(context.Background(), cfg.Redis.Prefix+"auth:secret").Result(); again != stored {
		t.Errorf("the second server replaced the stored key")
	}
	// another prefix is another key: the token does not pass there
	other := *cfg
	other.Redis.Prefix = cfg.Redis.Prefix + "other:"
	third := serve(t, &other)
	code, body := call(t, "GET", third.url+"/api/me", tok, "")
	wantError(t, "token on a bridge with another key", code, body, 401,
		"the token's signature does not match: it was changed, or signed with another key; log in again")
	// a restart with the worker moved to another grid: the old token no longer holds
	moved := *cfg
	moved.Users = slices.Clone(cfg.Users)
	for i := range moved.Users {
		if moved.Users[i].Name == "worker1" {
			moved.Users[i].Grids = []string{"g2"}
		}
	}
	fourth := serve(t, &moved)
	code, body = call(t, "GET", fourth.url+"/api/cameras", tok, "")
	wantError(t, "token of a worker whose grids changed", code, body, 401,
		`the account "worker1" was removed or changed since this token was given; log in again`)
}

func TestTokensNeedRedisWhenNoSecretIsConfigured(t *testing.T) {
	cfg := authConfig(t)
	b := serve(t, cfg)
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer down.Close()
	deps := b.deps
	deps.Redis = down
	srv := httptest.NewServer(api.New(deps).Handler())
	defer srv.Close()
	code, body := call(t, "POST", srv.URL+"/api/login", "", `{"user": "staff", "password": "staff-pw"}`)
	wantError(t, "login while Redis is down", code, body, 503,
		"tokens cannot be checked now: the store (Redis) that keeps their key does not answer; try again")
	// the staff token and anonymous viewers do without
	if code, body := call(t, "GET", srv.URL+"/api/cameras", staffToken, ""); code != 200 {
		t.Errorf("staff token while Redis is down = %d %s", code, body)
	}
	if code, body := call(t, "GET", srv.URL+"/api/cameras", "", ""); code != 200 {
		t.Errorf("anonymous while Redis is down = %d %s", code, body)
	}
}
