package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"qianliyan/configs"
)

// The roles a Principal may have: configs.Roles, under the API's names.
const (
	RoleAdmin    = configs.RoleAdmin    // the center, and whoever runs the bridge
	RoleStaff    = configs.RoleStaff    // the center's staff on duty (值班人员)
	RoleWorker   = configs.RoleWorker   // a grid worker (网格员)
	RoleResident = configs.RoleResident // a resident (居民), with an account, a device token or neither
)

// StaffTokenID is the Principal.ID of a request that carries the static
// server.staff_token (scripts, the wall): a service with the role staff.
// It cannot be a login name, which has no '@'.
const StaffTokenID = "@staff_token"

// Principal is who makes a request. The authenticate middleware puts one
// in every API request's context; principal(c) gives it. A request without
// a token is an anonymous resident: empty ID, role resident.
type Principal struct {
	ID    string   `json:"id"`    // the login, "dev-…" for a resident's device, StaffTokenID, or "" when anonymous
	Name  string   `json:"name"`  // what people see
	Role  string   `json:"role"`  // one of the Role constants
	Grids []string `json:"grids"` // a worker's grids
}

// Anonymous reports whether the request carried no token.
func (p Principal) Anonymous() bool { return p.ID == "" }

// HasRole reports whether p has one of roles.
func (p Principal) HasRole(roles ...string) bool { return slices.Contains(roles, p.Role) }

// SeesAll reports whether p is the center (staff or admin), which sees
// every camera, incident and event.
func (p Principal) SeesAll() bool { return p.HasRole(RoleStaff, RoleAdmin) }

// InGrid reports whether p is a worker of grid.
func (p Principal) InGrid(grid string) bool {
	return p.Role == RoleWorker && grid != "" && slices.Contains(p.Grids, grid)
}

// MayWatch reports whether p may see and play the camera: the center every
// camera, a worker the public ones and those of the worker's grids, anyone
// else the public ones.
func (p Principal) MayWatch(cam *configs.Camera) bool { return p.mayWatch(cam.Public, cam.Grid) }

func (p Principal) mayWatch(public bool, grid string) bool {
	return public || p.SeesAll() || p.InGrid(grid)
}

// Claims are what a token says, signed: the body of GET /api/me.
type Claims struct {
	Sub   string   `json:"sub"`
	Name  string   `json:"name"`
	Role  string   `json:"role"`
	Grids []string `json:"grids"`
	Exp   int64    `json:"exp,omitempty"` // expiry, Unix ms; 0 for the static staff token
	Iat   int64    `json:"iat,omitempty"` // issued at, Unix ms
	// Ver is the version of the user's config entry the token was given
	// for (see userVersion); empty for device tokens.
	Ver string `json:"ver,omitempty"`
}

const (
	principalKey = "qly.principal"
	claimsKey    = "qly.claims"
)

// anonymous is the principal of a request without a token.
var anonymous = Principal{Role: RoleResident, Grids: []string{}}

// staffTokenClaims is what the static staff token stands for.
var staffTokenClaims = Claims{Sub: StaffTokenID, Name: "staff_token", Role: RoleStaff, Grids: []string{}}

// principal returns who makes the request (anonymous when no token came).
func principal(c *gin.Context) Principal {
	if v, ok := c.Get(principalKey); ok {
		return v.(Principal)
	}
	return anonymous
}

// bearer returns the request's token: "Authorization: Bearer …", or
// ?token= for EventSource and <img>, which cannot set headers.
func bearer(c *gin.Context) string {
	if tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	return c.Query("token")
}

// authenticate is the middleware of every API route: it checks the token,
// when there is one, and puts the caller's Principal in the context. A
// token that does not check out is refused here (401) rather than taken as
// no token at all, so a client learns it must log in again.
func (s *Server) authenticate(c *gin.Context) error {
	tok := bearer(c)
	if tok == "" {
		c.Set(principalKey, anonymous)
		return nil
	}
	cl, err := s.verify(c.Request.Context(), tok)
	if err != nil {
		return err
	}
	sig := tokenSig(tok)
	if sig != "" && s.revoked.revoked(c.Request.Context(), sig) {
		return errLoggedOut
	}
	c.Set(tokenSigKey, sig)
	c.Set(claimsKey, cl)
	c.Set(principalKey, Principal{ID: cl.Sub, Name: cl.Name, Role: cl.Role, Grids: cl.Grids})
	return nil
}

// requireRole is a middleware that lets through only callers with one of
// roles: 401 without a token, 403 with another role.
func (s *Server) requireRole(roles ...string) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error { return needRole(principal(c), roles...) })
}

func needRole(p Principal, roles ...string) error {
	if p.HasRole(roles...) {
		return nil
	}
	want := strings.Join(roles, " or ")
	if p.Anonymous() {
		return Coded(http.StatusUnauthorized, MsgRoleNeeded, map[string]any{"role": want}, "this needs the role %s: log in (POST /api/login) and send the token as Authorization: Bearer <token>", want)
	}
	return Coded(http.StatusForbidden, MsgRoleNeeded, map[string]any{"role": want}, "this needs the role %s; you are logged in as %s (%s)", want, p.ID, p.Role)
}

// Token errors; each one is a sentence for the person who has to log in again.
var (
	errGarbled  = Coded(http.StatusUnauthorized, MsgTokenBad, nil, "the token is neither the staff token nor one this bridge gives out; log in again")
	errBadSig   = Coded(http.StatusUnauthorized, MsgTokenBad, nil, "the token's signature does not match: it was changed, or signed with another key; log in again")
	errNoSecret = Coded(http.StatusServiceUnavailable, MsgStoreDown, nil, "tokens cannot be checked now: the store (Redis) that keeps their key does not answer; try again")
)

// b64 decodes the parts of a token. Strict: the spare bits of the last
// character must be zero, so each token has one spelling (tokenChars keeps
// out the line breaks that base64 decoders skip).
var b64 = base64.RawURLEncoding.Strict()

// tokenChars reports whether tok is made of base64url characters and dots only.
func tokenChars(tok string) bool {
	for i := 0; i < len(tok); i++ {
		switch b := tok[i]; {
		case 'A' <= b && b <= 'Z', 'a' <= b && b <= 'z', '0' <= b && b <= '9', b == '-', b == '_', b == '.':
		default:
			return false
		}
	}
	return true
}

// tokenSig is the signature part of a signed token, which names it on the
// denylist.
func tokenSig(tok string) string {
	_, sig, _ := strings.Cut(tok, ".")
	return sig
}

// userVersion is a short MAC of what a user's token stands for in the
// config (name, role, grids, password hash): a token given before any of
// them changed no longer checks out. It is keyed, so a token does not
// carry a plain digest of the password hash.
func userVersion(key []byte, u *configs.User) string {
	mac := hmac.New(sha256.New, key)
	for _, f := range append([]string{"user-version", u.Name, u.Role, u.PasswordHash}, u.Grids...) {
		mac.Write([]byte(f))
		mac.Write([]byte{0})
	}
	return b64.EncodeToString(mac.Sum(nil)[:12])
}

// verify checks a token: the static staff token, or a signed one that has
// not expired and whose user's config entry is the one it was given for.
// The denylist of logged-out tokens is checked by authenticate.
func (s *Server) verify(ctx context.Context, tok string) (Claims, error) {
	if st := s.cfg.Server.StaffToken; st != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(st)) == 1 {
		return staffTokenClaims, nil
	}
	body, sig, ok := strings.Cut(tok, ".")
	if !ok || body == "" || sig == "" || !tokenChars(tok) {
		return Claims{}, errGarbled
	}
	got, err := b64.DecodeString(sig)
	if err != nil {
		if _, lax := base64.RawURLEncoding.DecodeString(sig); lax == nil {
			return Claims{}, errBadSig // another spelling, or cut short: changed
		}
		return Claims{}, errGarbled
	}
	key, err := s.secret.get(ctx)
	if err != nil {
		return Claims{}, err
	}
	if !hmac.Equal(got, sign(key, body)) {
		return Claims{}, errBadSig
	}
	raw, err := b64.DecodeString(body)
	if err != nil {
		return Claims{}, errGarbled
	}
	var cl Claims
	if err := json.Unmarshal(raw, &cl); err != nil || cl.Sub == "" || !slices.Contains(configs.Roles, cl.Role) {
		return Claims{}, errGarbled
	}
	if cl.Grids == nil {
		cl.Grids = []string{}
	}
	if s.now().UnixMilli() >= cl.Exp {
		return Claims{}, Coded(http.StatusUnauthorized, MsgTokenExpired, map[string]any{"at_ms": cl.Exp}, "the token expired at %s; log in again",
			s.stamp(cl.Exp)+" "+s.cfg.Server.Location().String())
	}
	if strings.HasPrefix(cl.Sub, configs.DevicePrefix) {
		if cl.Role != RoleResident {
			return Claims{}, errGarbled
		}
		return cl, nil
	}
	// A user taken out of the config, or given another role, other grids or
	// another password, loses what the old token granted. Every token issue
	// gives has a version; one without (given before versions, or signed by
	// hand with the key, which could as well sign a version) is checked on
	// role and grids only.
	u := s.cfg.User(cl.Sub)
	if u == nil || u.Role != cl.Role || !slices.Equal(u.Grids, cl.Grids) || (cl.Ver != "" && !hmac.Equal([]byte(cl.Ver), []byte(userVersion(key, u)))) {
		return Claims{}, Coded(http.StatusUnauthorized, MsgTokenBad, nil, "the account %q was removed or changed since this token was given; log in again", cl.Sub)
	}
	return cl, nil
}

func sign(key []byte, body string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(body))
	return mac.Sum(nil)
}

// issue signs a token for p that lasts ttl: base64url(JSON claims) "."
// base64url(HMAC-SHA256 of the first part). u is p's config entry, nil for
// a device.
func (s *Server) issue(ctx context.Context, p Principal, u *configs.User, ttl time.Duration) (string, Claims, error) {
	key, err := s.secret.get(ctx)
	if err != nil {
		return "", Claims{}, err
	}
	now := s.now()
	cl := Claims{Sub: p.ID, Name: p.Name, Role: p.Role, Grids: p.Grids, Exp: now.Add(ttl).UnixMilli(), Iat: now.UnixMilli()}
	if cl.Grids == nil {
		cl.Grids = []string{}
	}
	if u != nil {
		cl.Ver = userVersion(key, u)
	}
	body := b64.EncodeToString(mustJSON(cl))
	return body + "." + b64.EncodeToString(sign(key, body)), cl, nil
}

// secret is the key that signs tokens: auth.secret from the config, or a
// random one kept in Redis so that restarts (and other bridges sharing the
// store) accept the tokens already given. It is read from Redis when first
// needed, so a bridge started while Redis is down still serves video.
type secret struct {
	mu  sync.Mutex
	key []byte
	rdb redis.UniversalClient
	at  string // the Redis key
}

func newSecret(cfg *configs.Config, rdb redis.UniversalClient) *secret {
	k := &secret{rdb: rdb, at: cfg.Redis.Prefix + "auth:secret"}
	if cfg.Auth.Secret != "" {
		k.key = []byte(cfg.Auth.Secret)
	}
	return k
}

func (k *secret) get(ctx context.Context) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, nil
	}
	if k.rdb == nil {
		return nil, errNoSecret
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	// SETNX: the first bridge to get here makes the key; the others read it.
	if err := k.rdb.SetNX(ctx, k.at, hex.EncodeToString(b), 0).Err(); err != nil {
		return nil, &HTTPError{Code: errNoSecret.Code, Msg: errNoSecret.Msg, Err: err, Key: errNoSecret.Key}
	}
	v, err := k.rdb.Get(ctx, k.at).Result()
	if err != nil || len(v) < 32 {
		if err == nil {
			err = errBadStoredSecret
		}
		return nil, &HTTPError{Code: errNoSecret.Code, Msg: errNoSecret.Msg, Err: err, Key: errNoSecret.Key}
	}
	k.key = []byte(v)
	return k.key, nil
}

var errBadStoredSecret = errors.New("the token key in Redis is shorter than 32 bytes; delete it and the bridge makes a new one")

// TokenResponse is the answer to POST /api/login and POST /api/device.
type TokenResponse struct {
	Token     string   `json:"token"`
	User      string   `json:"user"`
	Name      string   `json:"name"`
	Role      string   `json:"role"`
	Grids     []string `json:"grids"`
	ExpiresMS int64    `json:"expires_ms"`
	// Adopted is how many reports of the device token a resident sent
	// with the login (device) became the account's.
	Adopted int `json:"adopted,omitempty"`
}

func (s *Server) respondToken(c *gin.Context, code int, p Principal, u *configs.User, ttl time.Duration, adopted int) error {
	tok, cl, err := s.issue(c.Request.Context(), p, u, ttl)
	if err != nil {
		return err
	}
	c.JSON(code, TokenResponse{Token: tok, User: cl.Sub, Name: cl.Name, Role: cl.Role, Grids: cl.Grids, ExpiresMS: cl.Exp, Adopted: adopted})
	return nil
}

// dummyHash is compared against when the user does not exist, so that a
// wrong login name takes as long as a wrong password.
var dummyHash = []byte("$2a$10$JeRVGRxFfh/hKtsj79GZy.hTPxW80ZS48Ou3.Bek5LFd9suLfMYlC")

// login answers POST /api/login {"user", "password"} with a signed token.
// A wrong user and a wrong password get the same answer. Failures are
// throttled per user name and per client address (limit.go): after five,
// each further attempt waits, 1 s doubling with each failure; a throttled
// attempt is refused (429) before bcrypt runs. Each failed or refused login
// is a log line. A resident who sends the device token they used as a
// guest (device) gets that device's reports in their account (adoptDevice).
func (s *Server) login(c *gin.Context) error {
	var body loginBody
	if err := bindJSON(c, &body, `{"user": "worker1", "password": "…"}`, false); err != nil {
		return err
	}
	if body.User == "" || body.Password == "" {
		return Coded(http.StatusBadRequest, MsgLoginFields, nil, "both user and password are needed")
	}
	ctx, addr, now := c.Request.Context(), clientAddr(c), s.now()
	addrKey, userKey := "login:addr:"+addr, "login:user:"+body.User
	refuse := func(wait time.Duration, reason, sentence string) error {
		s.log.Warn("login refused", "user", plainName(body.User), "addr", addr, "reason", reason, "retry_after_s", retrySeconds(wait))
		return s.tooMany(c, wait, "%s; try again in %s", sentence, s.waitWords(wait))
	}
	if wait := s.limits.attempt(ctx, addrKey, now); wait > 0 {
		return refuse(wait, "too many failed logins from the address", "too many failed logins from your address")
	}
	if wait := s.limits.attempt(ctx, userKey, now); wait > 0 {
		s.limits.forgive(ctx, addrKey)
		return refuse(wait, "too many failed logins for the user", "too many failed logins for "+plainName(body.User))
	}
	u := s.cfg.User(body.User)
	hash := dummyHash
	if u != nil {
		hash = []byte(u.PasswordHash)
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(body.Password)); err != nil || u == nil {
		s.log.Warn("login failed", "user", plainName(body.User), "addr", addr, "known_user", u != nil)
		return Coded(http.StatusUnauthorized, MsgLoginBad, nil, "wrong user name or password")
	}
	s.limits.forgive(ctx, addrKey)
	s.limits.forgive(ctx, userKey)
	name := u.DisplayName
	if name == "" {
		name = u.Name
	}
	adopted := 0
	if body.Device != "" && u.Role == RoleResident {
		var err error
		if adopted, err = s.adoptDevice(c, body.Device, u.Name); err != nil {
			return err
		}
	}
	return s.respondToken(c, http.StatusOK, Principal{ID: u.Name, Name: name, Role: u.Role, Grids: u.Grids}, u, s.cfg.Auth.TokenTTL.D(), adopted)
}

// adoptDevice gives the reports of the device token tok to the resident
// user who just signed in with it (task.Store.Adopt) and logs the token
// out: the device now acts as the account. A token that does not check
// out (expired, logged out, not a device's) adopts nothing and does not
// stop the login; a store that fails does, so the reports are not left
// behind with a token the page forgets.
func (s *Server) adoptDevice(c *gin.Context, tok, user string) (int, error) {
	ctx := c.Request.Context()
	cl, err := s.verify(ctx, tok)
	sig := tokenSig(tok)
	reason := ""
	switch {
	case err != nil:
		reason = err.Error()
	case !strings.HasPrefix(cl.Sub, configs.DevicePrefix):
		reason = "not a device token"
	case s.revoked.revoked(ctx, sig):
		reason = "logged out"
	}
	if reason != "" {
		s.log.Info("login: device token not adopted", "user", user, "reason", reason)
		return 0, nil
	}
	if s.tasks == nil {
		return 0, nil
	}
	n, err := s.tasks.Adopt(ctx, cl.Sub, user)
	if err != nil {
		return 0, err
	}
	if err := s.revoked.revoke(ctx, sig, cl.Exp, s.now()); err != nil {
		s.log.Warn("login: adopted device token not logged out", "user", user, "device", cl.Sub, "err", err)
	}
	s.log.Info("login: device reports adopted", "user", user, "device", cl.Sub, "reports", n)
	return n, nil
}

// device answers POST /api/device with a token for a resident without an
// account: a new id ("dev-" and 16 hex digits) that the resident's reports
// and ratings are tied to, valid for auth.device_ttl. One address gets 10
// at once, then one every 6 s (deviceLimit).
func (s *Server) device(c *gin.Context) error {
	if err := s.limit(c, deviceLimit, clientAddr(c), "too many device tokens from your address"); err != nil {
		return err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	p := Principal{ID: configs.DevicePrefix + hex.EncodeToString(b), Role: RoleResident}
	return s.respondToken(c, http.StatusCreated, p, nil, s.cfg.Auth.DeviceTTL.D(), 0)
}

// plainName is a login name as sent, for a sentence: as is when it could be
// one, else quoted and cut.
func plainName(name string) string {
	if len(name) <= 32 && strconv.Quote(name) == `"`+name+`"` && !strings.ContainsAny(name, " ;") {
		return name
	}
	return clip(name)
}

// me answers GET /api/me with the caller's claims.
func (s *Server) me(c *gin.Context) error {
	v, ok := c.Get(claimsKey)
	if !ok {
		return Coded(http.StatusUnauthorized, MsgTokenNeeded, nil, "you are not logged in: log in (POST /api/login), or get a resident's device token (POST /api/device)")
	}
	cl := v.(Claims)
	cl.Ver = "" // the bridge's own business
	c.JSON(http.StatusOK, cl)
	return nil
}
