package configs

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Point is a position in the picture, x and y from 0 (left/top) to 1; YAML `[0.2, 0.5]`.
type Point struct{ X, Y float64 }

// UnmarshalYAML reads a point written as a list of exactly two numbers,
// [x, y]. It does not check the range; validation does, with the field path.
func (p *Point) UnmarshalYAML(n *yaml.Node) error {
	n = resolveAlias(n)
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("must be two numbers [x, y], not %s", describeEmpty(n))
	}
	if len(n.Content) != 2 {
		return fmt.Errorf("must be two numbers [x, y], not a list of %d", len(n.Content))
	}
	var xy [2]float64
	for i, c := range n.Content {
		c = resolveAlias(c)
		tag := c.ShortTag()
		if c.Kind != yaml.ScalarNode || tag != "!!int" && tag != "!!float" || c.Decode(&xy[i]) != nil {
			return fmt.Errorf("%s is not a number", describe(c))
		}
	}
	p.X, p.Y = xy[0], xy[1]
	return nil
}

// MarshalYAML writes the point as a flow list, [x, y].
func (p Point) MarshalYAML() (any, error) {
	var n yaml.Node
	if err := n.Encode([]float64{p.X, p.Y}); err != nil {
		return nil, err
	}
	n.Style = yaml.FlowStyle
	return &n, nil
}

// describeEmpty is describe, with null called empty.
func describeEmpty(n *yaml.Node) string {
	if isNull(n) {
		return "empty"
	}
	return describe(n)
}

func (p Point) text() string {
	return "[" + formatFloat(p.X) + ", " + formatFloat(p.Y) + "]"
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}
