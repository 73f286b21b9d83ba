package main

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"strings"

	"qianliyan/internal/scene"
)

// scenes holds the scripted scenes that -scene knows by name.
//
//go:embed scenes/*.yaml
var scenes embed.FS

// Script is a scripted scene (see package scene: the YAML, the timeline
// and the ground truth the evaluation takes from it).
type Script = scene.Script

// loadScript reads a scripted scene: the name of an embedded one (bin,
// quiet) or the path of a YAML file.
func loadScript(ref string) (*Script, error) {
	var data []byte
	var err error
	if strings.ContainsAny(ref, "/.") {
		data, err = os.ReadFile(ref)
	} else {
		data, err = scenes.ReadFile("scenes/" + ref + ".yaml")
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("-scene %s: no such built-in scene (built in: %s); give a path to a YAML file for your own", ref, builtinScenes())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("-scene %s: %w", ref, err)
	}
	s, err := scene.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("-scene %s: %w", ref, err)
	}
	if _, err := walkerImages(); err != nil {
		return nil, fmt.Errorf("-scene %s: the people cut-outs: %w", ref, err)
	}
	return s, nil
}

func builtinScenes() string {
	entries, _ := scenes.ReadDir("scenes")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return strings.Join(names, ", ")
}
