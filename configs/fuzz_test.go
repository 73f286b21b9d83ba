package configs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParse checks that Parse never panics, that every error it returns names
// the file, and that a config it accepts survives being written back out:
// yaml.Marshal of it parses again, to the same config.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range append(files, "demo.yaml") {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, tt := range badFiles {
		f.Add([]byte(tt.yaml))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err != nil {
			if cfg != nil {
				t.Fatalf("got both a config and an error: %v", err)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
					t.Fatalf("error does not name the file: %v", err)
				}
				return
			}
			if len(ce.Problems) == 0 {
				t.Fatal("*Error with no problems")
			}
			for _, p := range ce.Problems {
				if p.File != "fuzz.yaml" || p.Msg == "" {
					t.Fatalf("problem without file or message: %#v", p)
				}
			}
			return
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("cannot marshal an accepted config: %v", err)
		}
		again, err := Parse("again.yaml", out)
		if err != nil {
			t.Fatalf("accepted config, marshalled back, is refused:\n%v\n--- input\n%s\n--- marshalled\n%s", err, data, out)
		}
		if !reflect.DeepEqual(again, cfg) {
			t.Fatalf("round trip changed the config\n got: %#v\nwant: %#v\n--- marshalled\n%s", again, cfg, out)
		}
	})
}
