package configs

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written like "5s" or "1m30s" in YAML.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reads a duration such as "500ms", "5s" or "1m30s". A bare
// number other than 0 is refused: "5" could mean seconds or milliseconds.
// A null value leaves d as it is.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	n = resolveAlias(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a duration like 5s, not %s", describe(n))
	}
	if tag := n.ShortTag(); (tag == "!!int" || tag == "!!float") && n.Value != "0" {
		return fmt.Errorf("%s has no unit; write it like %ss or %sms", shorten(n.Value), shorten(n.Value), shorten(n.Value))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%s is not a duration; write it like 5s, 1m30s or 500ms", quote(n.Value))
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration the way UnmarshalYAML reads it.
func (d Duration) MarshalYAML() (any, error) {
	return d.text(), nil
}

// text is time.Duration's String without its zero minutes and seconds:
// "1h" rather than "1h0m0s".
func (d Duration) text() string {
	s := time.Duration(d).String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}
