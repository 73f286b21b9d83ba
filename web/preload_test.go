package web

import (
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	entryScript = regexp.MustCompile(`<script type="module" src="/web/([\w.-]+\.js)"></script>`)
	preloadLink = regexp.MustCompile(`<link rel="modulepreload" href="/web/([\w.-]+\.js)">`)
	// a static import or re-export of a module of this folder
	staticImport = regexp.MustCompile(`(?s)(?:^|\n)\s*(?:import|export)\b[^;'"]*?(?:from\s*)?['"]\./([\w.-]+\.js)['"]`)
)

// moduleGraph is every module entry imports statically, itself left out.
func moduleGraph(t *testing.T, entry string) []string {
	t.Helper()
	seen := map[string]bool{entry: true}
	todo := []string{entry}
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		src, err := fs.ReadFile(Files, name)
		if err != nil {
			t.Fatalf("%s imports %s, which is not there: %v", entry, name, err)
		}
		for _, m := range staticImport.FindAllStringSubmatch(string(src), -1) {
			if dep := path.Clean(m[1]); !seen[dep] {
				seen[dep] = true
				todo = append(todo, dep)
			}
		}
	}
	delete(seen, entry)
	var out []string
	for m := range seen {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// TestPagesPreloadEveryModuleTheyImport: each page names, in its head, every
// module its script imports, however deep, so the browser asks for them
// all at once instead of one level of imports per round trip (three
// levels cost the wall 640 ms on a busy machine here, and a phone on
// mobile data a round trip each), and names none it no longer imports.
func TestPagesPreloadEveryModuleTheyImport(t *testing.T) {
	pages, err := fs.Glob(Files, "*.html")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, page := range pages {
		b, err := fs.ReadFile(Files, page)
		if err != nil {
			t.Fatal(err)
		}
		html := string(b)
		entry := entryScript.FindStringSubmatch(html)
		if entry == nil {
			continue // no module of its own (index.html's is inline)
		}
		checked++
		want := moduleGraph(t, entry[1])
		var got []string
		for _, m := range preloadLink.FindAllStringSubmatch(html, -1) {
			got = append(got, m[1])
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s preloads %v; its script %s imports %v", page, got, entry[1], want)
		}
		if i, j := strings.Index(html, "modulepreload"), strings.Index(html, "</head>"); len(want) > 0 && (i < 0 || i > j) {
			t.Errorf("%s: the preloads belong in its head", page)
		}
	}
	if checked < 5 {
		t.Errorf("%d pages with a module script, want the five pages'", checked)
	}
}
