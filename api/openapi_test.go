package api_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"qianliyan/api"
)

// isPage tells the pages and their files (/, /screen, /app, /web/*...),
// which are not API and not in the document: every route outside /api/ and
// /whep/ but /healthz and /metrics.
func isPage(path string) bool {
	return !strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/whep/") && path != "/healthz" && path != "/metrics"
}

// TestOpenAPIListsEveryRoute walks the routes gin has and the paths the
// document lists: each must be in the other.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	b := serve(t, taskConfig(t), withTasks(), withEvents(), withLogins())
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	b.must(t, 200, "GET", "/api/openapi.json", "", nil, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}

	// a server of the same build: the routes do not depend on the parts
	engine, ok := api.New(api.Deps{Config: b.cfg, Log: nil}).Handler().(*gin.Engine)
	if !ok {
		t.Fatal("the handler is not a gin engine")
	}
	param := regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)
	registered := map[string]bool{}
	for _, r := range engine.Routes() {
		if isPage(r.Path) {
			continue
		}
		key := r.Method + " " + param.ReplaceAllString(r.Path, "{$1}")
		registered[key] = true
		if _, ok := doc.Paths[param.ReplaceAllString(r.Path, "{$1}")][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s is registered but not in /api/openapi.json", r.Method, r.Path)
		}
	}
	n := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			n++
			if !registered[strings.ToUpper(method)+" "+path] {
				t.Errorf("/api/openapi.json lists %s %s, which is not registered", strings.ToUpper(method), path)
			}
			var o struct {
				Responses  map[string]json.RawMessage
				Parameters []struct{ Name, In string }
			}
			if err := json.Unmarshal(op, &o); err != nil || len(o.Responses) == 0 {
				t.Errorf("%s %s has no responses", method, path)
			}
			for _, m := range param.FindAllStringSubmatch(strings.NewReplacer("{", ":", "}", "").Replace(path), -1) {
				if !slices.ContainsFunc(o.Parameters, func(p struct{ Name, In string }) bool { return p.Name == m[1] && p.In == "path" }) {
					t.Errorf("%s %s does not declare its path parameter %s", method, path, m[1])
				}
			}
		}
	}
	if n < 30 {
		t.Errorf("the document lists %d operations, want every route (30 or more)", n)
	}
}
