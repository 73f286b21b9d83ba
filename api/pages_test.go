package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The pages' files are revalidated on each load and answered 304 when
// they did not change, so a phone on mobile data does not fetch the
// scripts again each time the app opens.
func TestWebFilesAreRevalidatedNotFetchedAgain(t *testing.T) {
	b := serve(t, taskConfig(t))
	get := func(path, etag string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", b.url+path, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	for _, f := range []struct{ path, ctype, holds string }{
		{"/web/screen.js", "text/javascript", "import"},
		{"/web/style.css", "text/css", "{"},
		{"/web/vendor/leaflet/leaflet.js", "text/javascript", "Leaflet"},
	} {
		res, body := get(f.path, "")
		etag := res.Header.Get("ETag")
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), f.ctype) || !strings.Contains(body, f.holds) ||
			etag == "" || res.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s = %d %q, ETag %q, Cache-Control %q, %d bytes; want %s with an ETag, revalidated",
				f.path, res.StatusCode, res.Header.Get("Content-Type"), etag, res.Header.Get("Cache-Control"), len(body), f.ctype)
			continue
		}
		if res, body := get(f.path, etag); res.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("GET %s again with its ETag = %d, %d bytes; want 304 and nothing", f.path, res.StatusCode, len(body))
		}
		if res, _ := get(f.path, `"something-else"`); res.StatusCode != 200 {
			t.Errorf("GET %s with another ETag = %d, want 200", f.path, res.StatusCode)
		}
	}
	for _, path := range []string{"/web/nosuch.js", "/web/", "/web/../api/server.go", "/web/vendor"} {
		if res, _ := get(path, ""); res.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", path, res.StatusCode)
		}
	}
}
