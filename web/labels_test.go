package web_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"qianliyan/configs"
	"qianliyan/task"
	"qianliyan/web"
)

// TestEveryIncidentKindHasItsLabels: the pages' labels (web/i18n.js) and
// the task titles name exactly the incident kinds of configs.IncidentKinds,
// so a new kind cannot reach a page as a bare code.
func TestEveryIncidentKindHasItsLabels(t *testing.T) {
	src, err := fs.ReadFile(web.Files, "i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	var labelled []string
	for _, m := range regexp.MustCompile(`'inc\.kind\.([a-z_]+)':\s*\['[^']+',\s*'[^']+'\]`).FindAllSubmatch(src, -1) {
		labelled = append(labelled, string(m[1]))
	}
	kinds := slices.Sorted(slices.Values(configs.IncidentKinds))
	if slices.Sort(labelled); !slices.Equal(labelled, kinds) {
		t.Errorf("i18n.js labels the kinds %v (zh and en each), want exactly %v", labelled, kinds)
	}
	for _, k := range kinds {
		if task.KindTitles[k] == "" {
			t.Errorf("task.KindTitles has no title for %s", k)
		}
	}
	if len(task.KindTitles) != len(kinds) {
		t.Errorf("task.KindTitles has %d titles for %d kinds", len(task.KindTitles), len(kinds))
	}
}

// TestEveryMessageCodeHasItsSentences: every message code the server
// emits (the Msg* constants of the packages that write messages people
// read) has a zh-CN and an English sentence in web/i18n.js, so no page
// falls back to the server's English; and no key of the table is given
// twice (the later one would silently win).
func TestEveryMessageCodeHasItsSentences(t *testing.T) {
	src, err := fs.ReadFile(web.Files, "i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	table := map[string][2]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*'([a-z0-9_.]+)':\s*\['((?:[^'\\]|\\.)*)',\s*'((?:[^'\\]|\\.)*)'\],`).FindAllSubmatch(src, -1) {
		key := string(m[1])
		if _, dup := table[key]; dup {
			t.Errorf("i18n.js gives %q twice", key)
		}
		table[key] = [2]string{string(m[2]), string(m[3])}
	}
	codes := map[string]string{} // code → where it is declared
	for _, dir := range []string{"../api", "../task", "../detect", "../confirm", "../ingest"} {
		for code, where := range messageCodes(t, dir) {
			codes[code] = where
		}
	}
	if len(codes) < 50 {
		t.Fatalf("found %d message codes in the Go sources, want the Msg* constants of api, task, detect, confirm and ingest", len(codes))
	}
	for _, code := range slices.Sorted(maps.Keys(codes)) {
		row, ok := table[code]
		switch {
		case !ok:
			t.Errorf("%s (%s) has no row in web/i18n.js", code, codes[code])
		case strings.TrimSpace(row[0]) == "" || strings.TrimSpace(row[1]) == "":
			t.Errorf("%s (%s) lacks its zh-CN or English sentence: %q", code, codes[code], row)
		case !hasHan(row[0]):
			t.Errorf("%s: the zh-CN sentence %q has no Chinese", code, row[0])
		}
	}
}

// messageCodes gives the string constants named Msg* of the Go package in
// dir, with the file that declares each.
func messageCodes(t *testing.T, dir string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Msg") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						code, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						out[code] = filepath.Base(dir) + "." + name.Name
					}
				}
			}
		}
	}
	return out
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
