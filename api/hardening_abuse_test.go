package api_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"qianliyan/api"
)

// Finding 8: 200 device tokens in 0.1 s, unlimited reports.
func TestDeviceTokensAndReportsAreLimitedPerAddress(t *testing.T) {
	cfg := taskConfig(t)
	b := serve(t, cfg, withTasks(), withLogins(), withEvents())
	a1, a2 := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	limited := func(what string, r reply, sentence string) {
		t.Helper()
		s, err := strconv.Atoi(r.header.Get("Retry-After"))
		if r.code != 429 || err != nil || s < 1 || !strings.HasPrefix(errorOf(r.body), sentence) {
			t.Errorf("%s = %d Retry-After %q %s; want 429, a Retry-After and %q…", what, r.code, r.header.Get("Retry-After"), r.body, sentence)
		}
	}

	minted, last := 0, reply{}
	for range 200 {
		if last = sendFrom(t, a1, "POST", b.url+"/api/device", "", ""); last.code != 201 {
			break
		}
		minted++
	}
	if minted == 0 || minted > 20 {
		t.Errorf("%d device tokens minted at once from one address; want a few, at most 20", minted)
	}
	limited("POST /api/device after the burst", last, "too many device tokens from your address; try again in")
	r := sendFrom(t, a2, "POST", b.url+"/api/device", "", "")
	if r.code != 201 {
		t.Fatalf("a device token from another address = %d %s; want 201", r.code, r.body)
	}
	var dev api.TokenResponse
	json.Unmarshal([]byte(r.body), &dev)

	const report = `{"title": "路灯不亮", "camera": "cam1"}`
	reported := 0
	for range 50 {
		if last = sendFrom(t, a2, "POST", b.url+"/api/reports", dev.Token, report); last.code != 201 {
			break
		}
		reported++
	}
	if reported == 0 || reported > 20 {
		t.Errorf("%d reports at once from one address; want a few, at most 20", reported)
	}
	limited("POST /api/reports after the burst", last, "too many reports from your address; try again in")
	if r := sendFrom(t, a1, "POST", b.url+"/api/reports", b.tokens["resident"], report); r.code != 201 {
		t.Errorf("a resident's report from another address = %d %s; want 201", r.code, r.body)
	}
	if r := sendFrom(t, a2, "POST", b.url+"/api/reports", b.tokens["worker1"], report); r.code != 201 {
		t.Errorf("a worker's patrol report from the limited address = %d %s; want 201 (workers are not limited)", r.code, r.body)
	}
	wait, _ := strconv.Atoi(last.header.Get("Retry-After"))
	b.clock.Add(time.Duration(wait) * time.Second)
	if r := sendFrom(t, a2, "POST", b.url+"/api/reports", dev.Token, report); r.code != 201 {
		t.Errorf("a report after Retry-After = %d %s; want 201", r.code, r.body)
	}
}

// Finding 8: 5 MB uploads with no quota and no delete.
func TestUploadsHaveADailyQuotaAndUnusedOnesGo(t *testing.T) {
	cfg := taskConfig(t)
	b := serve(t, cfg, withTasks(), withLogins(), withEvents())
	n := 0
	for {
		code, body := b.upload(t, "resident", pngBytes)
		if code == 429 {
			if !strings.HasPrefix(errorOf(body), "you have uploaded the "+strconv.Itoa(n)+" photos a day allows; the next may come in") {
				t.Errorf("upload over the quota = %d %s; want the quota in a sentence", code, body)
			}
			break
		}
		if code != 201 {
			t.Fatalf("upload #%d = %d %s", n+1, code, body)
		}
		if n++; n > 100 {
			t.Fatal("100 uploads by one resident in a moment, and no quota")
		}
	}
	if code, body := b.upload(t, "resident2", pngBytes); code != 201 {
		t.Errorf("another resident's upload = %d %s; want 201 (the quota is per token)", code, body)
	}
	b.clock.Add(24 * time.Hour)
	relogin(t, b, "resident", "resident2")
	if code, body := b.upload(t, "resident", pngBytes); code != 201 {
		t.Errorf("upload a day later = %d %s; want 201", code, body)
	}

	// A day after its upload, a photo no task uses is removed (the server's
	// Run sweeps); one a report uses stays.
	used, unused := b.photo(t, "resident2"), b.photo(t, "resident2")
	b.report(t, "resident2", map[string]any{"title": "路灯不亮", "camera": "cam1", "photo": used})
	b.clock.Add(25 * time.Hour)
	relogin(t, b, "resident2")
	fresh := b.photo(t, "resident2")
	deadline := time.Now().Add(3 * time.Second)
	for {
		code, _ := b.do(t, "GET", "/api/uploads/"+unused, "resident2", nil)
		if code == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET the unused photo 25 h after its upload = %d; want 404 (removed)", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, name := range []string{used, fresh} {
		if code, body := b.do(t, "GET", "/api/uploads/"+name, "resident2", nil); code != 200 {
			t.Errorf("GET %s (used, or uploaded just now) = %d %.100s; want 200", name, code, body)
		}
	}
}

// relogin gives users new tokens, after the clock passed their expiry.
func relogin(t *testing.T, b *bridge, users ...string) {
	t.Helper()
	for _, u := range users {
		b.tokens[u] = b.login(t, u).Token
	}
}
