package web_test

import (
	"io/fs"
	"regexp"
	"slices"
	"testing"

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
