package testenv

import (
	"io"
	"net/http"
	"testing"
)

// Get fetches url with token as its bearer token (none when empty): the
// status, the headers and the body.
func Get(tb testing.TB, url, token string) (int, http.Header, []byte) {
	tb.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, body
}
