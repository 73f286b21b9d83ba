package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// decoder copies a YAML node tree into the config structs field by field
// rather than with yaml.Unmarshal, so that every value keeps its path and
// position, and unknown fields and type mistakes are all reported with their
// line instead of stopping at the first.
type decoder struct {
	file  string
	nodes map[string]*yaml.Node // path → the node its value came from
	bad   map[string]bool       // paths whose value could not be decoded
	probs []Problem
	fatal bool // the file could not be read as YAML; nothing to validate

	// budget counts node visits left. Anchors and aliases let a small file
	// name the same subtree many times over; the budget keeps the work and
	// memory in proportion to the size of the file.
	budget   int
	overflow bool
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, nodes: map[string]*yaml.Node{}, bad: map[string]bool{}}
}

// decodeFile parses data and decodes its one document into cfg.
func (d *decoder) decodeFile(data []byte, cfg *Config) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.syntaxError(err, data)
		}
		return // an empty file: validation reports the missing cameras
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.add("", &next, "a second YAML document starts here; the config must be one document")
	case !errors.Is(err, io.EOF):
		d.syntaxError(err, data)
		return
	}
	if len(doc.Content) == 0 {
		return
	}
	d.budget = 10*countNodes(&doc) + 10000
	d.value("", doc.Content[0], reflect.ValueOf(cfg).Elem())
}

var (
	lineMsg       = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// syntaxError turns one of yaml.v3's "yaml: line 3: did not find expected key"
// messages into a Problem.
func (d *decoder) syntaxError(err error, data []byte) {
	d.fatal = true
	msg := err.Error()
	p := Problem{File: d.file, Msg: strings.TrimPrefix(msg, "yaml: ")}
	if m := lineMsg.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Msg = m[2]
	} else if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		// yaml.v3 gives no line for this one; the first use of the alias is
		// almost always the culprit.
		p.Msg = "alias *" + m[1] + " refers to no anchor &" + m[1] + " before it"
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			p.Line = 1 + bytes.Count(data[:i], []byte("\n"))
			p.Column = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
		}
	}
	p.Msg = "not valid YAML: " + p.Msg
	d.probs = append(d.probs, p)
}

// add records a problem at node n, or when n is nil at the nearest node known
// for path or one of its parents.
func (d *decoder) add(path string, n *yaml.Node, msg string) {
	p := Problem{File: d.file, Path: path, Msg: msg}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	} else {
		p.Line, p.Column = d.pos(path)
	}
	d.probs = append(d.probs, p)
}

// fail records a value that could not be decoded; validation then stays
// quiet about that path and what is below it.
func (d *decoder) fail(path string, n *yaml.Node, msg string) {
	d.add(path, n, msg)
	d.bad[path] = true
}

// pos is the position of the value at path; for a field the file leaves out,
// that of the nearest parent the file has.
func (d *decoder) pos(path string) (line, col int) {
	for {
		if n := d.nodes[path]; n != nil {
			return n.Line, n.Column
		}
		if path == "" {
			return 0, 0
		}
		path = parent(path)
	}
}

// parent strips the last ".field" or "[i]" from path.
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// join adds a field name to path.
func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// check records a problem validation found, unless the value at path or above
// it was already reported as unreadable: that would only repeat the problem.
func (d *decoder) check(path, msg string) {
	for p := path; ; p = parent(p) {
		if d.bad[p] {
			return
		}
		if p == "" {
			break
		}
	}
	d.add(path, nil, msg)
}

// badBelow tells whether a value under path could not be decoded.
func (d *decoder) badBelow(path string) bool {
	for p := range d.bad {
		if strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			return true
		}
	}
	return false
}

// sorted gives the problems in file order.
func (d *decoder) sorted() []Problem {
	out := append([]Problem(nil), d.probs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Column < out[j].Column
	})
	return out
}

// value decodes node n into v, the field at path. A null value leaves v as it
// is, so fields left empty keep their defaults. Problems point at n itself
// (at), which for an alias is where the alias is used.
func (d *decoder) value(path string, n *yaml.Node, v reflect.Value) {
	if d.budget--; d.budget < 0 {
		d.tooBig(path, n)
		return
	}
	d.nodes[path] = n
	at := n
	n = resolveAlias(n)
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		if err := u.UnmarshalYAML(n); err != nil {
			d.fail(path, at, err.Error())
		}
		return
	}
	if isNull(n) {
		return // keep the default
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(path, at, n, v)
	case reflect.Slice:
		d.list(path, at, n, v)
	default:
		d.scalar(path, at, n, v)
	}
}

// tooBig reports, once, that the budget of node visits is spent.
func (d *decoder) tooBig(path string, n *yaml.Node) {
	if !d.overflow {
		d.overflow = true
		d.fail(path, n, "the file repeats too much through anchors and aliases (&name, *name)")
	}
}

// field is one YAML field of a struct.
type field struct {
	name  string
	index int
}

// fieldsOf lists the YAML fields of a struct type in their order.
func fieldsOf(t reflect.Type) []field {
	fs := make([]field, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fs = append(fs, field{name, i})
		}
	}
	return fs
}

// knownNames lists field names for messages: "addr, public_url, staff_token".
func knownNames(fs []field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// mapping decodes a mapping node into struct v, reporting unknown fields and
// fields set twice.
func (d *decoder) mapping(path string, at, n *yaml.Node, v reflect.Value) {
	fs := fieldsOf(v.Type())
	if n.Kind != yaml.MappingNode {
		d.fail(path, at, fmt.Sprintf("must be a mapping of fields (%s), not %s", knownNames(fs), describe(n)))
		return
	}
	seen := map[string]*yaml.Node{}
	for _, kv := range d.pairs(path, n, 0) {
		key := resolveAlias(kv.key)
		if key.Kind != yaml.ScalarNode {
			d.add(path, kv.key, fmt.Sprintf("has %s where a field name should be", describe(key)))
			continue
		}
		name := key.Value
		p := join(path, name)
		if first := seen[name]; first != nil {
			if !kv.merged {
				d.add(p, kv.key, fmt.Sprintf("is set twice (first at line %d)", first.Line))
			}
			continue
		}
		seen[name] = kv.key
		i := -1
		for _, f := range fs {
			if f.name == name {
				i = f.index
			}
		}
		if i < 0 {
			d.add(p, kv.key, fmt.Sprintf("unknown field (known: %s)", knownNames(fs)))
			continue
		}
		d.value(p, kv.value, v.Field(i))
	}
}

// pair is one key and value of a mapping; merged ones come from a "<<" merge
// key and give way to the mapping's own.
type pair struct {
	key, value *yaml.Node
	merged     bool
}

// pairs lists the mapping's own pairs, then those merged into it with "<<".
func (d *decoder) pairs(path string, n *yaml.Node, depth int) []pair {
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if d.budget--; d.budget < 0 {
			d.tooBig(path, k)
			break
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!merge" {
			own = append(own, pair{key: k, value: v})
			continue
		}
		if depth > 10 {
			d.fail(path, k, "merges (<<) are nested too deeply, or loop back on themselves")
			continue
		}
		from := []*yaml.Node{v}
		if src := resolveAlias(v); src.Kind == yaml.SequenceNode {
			from = src.Content
		}
		for _, s := range from {
			src := resolveAlias(s)
			if src.Kind != yaml.MappingNode {
				d.fail(path, s, fmt.Sprintf("can only merge (<<) mappings, not %s", describe(src)))
				continue
			}
			for _, kv := range d.pairs(path, src, depth+1) {
				kv.merged = true
				merged = append(merged, kv)
			}
		}
	}
	return append(own, merged...)
}

// list decodes a sequence node into slice v; an empty list gives nil.
func (d *decoder) list(path string, at, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.fail(path, at, "must be a list, not "+describe(n))
		return
	}
	if len(n.Content) == 0 {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if len(n.Content) > d.budget {
		d.tooBig(path, at)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(fmt.Sprintf("%s[%d]", path, i), item, s.Index(i))
	}
	v.Set(s)
}

// scalar decodes a scalar node into a string, int, float64 or bool.
func (d *decoder) scalar(path string, at, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.fail(path, at, "must be a single value, not "+describe(n))
		return
	}
	tag := n.ShortTag()
	var err error
	switch v.Kind() {
	case reflect.String:
		var s string
		if err = n.Decode(&s); err == nil {
			v.SetString(s)
			return
		}
		d.fail(path, at, "cannot be read as text")
	case reflect.Int:
		// yaml.v3 would quietly cut 8189.5 down to 8189.
		var i int
		if tag == "!!int" {
			if err = n.Decode(&i); err == nil {
				v.SetInt(int64(i))
				return
			}
		}
		d.fail(path, at, notA(n, "a whole number"))
	case reflect.Float64:
		var f float64
		if tag == "!!int" || tag == "!!float" {
			if err = n.Decode(&f); err == nil {
				v.SetFloat(f)
				return
			}
		}
		d.fail(path, at, notA(n, "a number"))
	case reflect.Bool:
		var b bool
		if err = n.Decode(&b); err == nil {
			v.SetBool(b)
			return
		}
		d.fail(path, at, describe(n)+" is not true or false")
	default:
		panic("configs: no decoder for " + v.Type().String())
	}
}

// notA says a scalar is not what was wanted, with a hint for a number in quotes.
func notA(n *yaml.Node, what string) string {
	if _, err := strconv.ParseFloat(n.Value, 64); err == nil && n.ShortTag() == "!!str" {
		return fmt.Sprintf("%s is text because of the quotes; write it without them", describe(n))
	}
	return fmt.Sprintf("%s is not %s", describe(n), what)
}

// resolveAlias gives the node an alias refers to. An alias never refers to
// another alias; the bound is there only to be sure.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// isNull tells whether n is an empty value ("", ~ or null).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node holds, for messages: a scalar by its value.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" || n.ShortTag() == "!!binary" {
			return quote(n.Value)
		}
		return shorten(n.Value)
	}
	return "an alias"
}

// quote puts s in quotes for a message, cut short when long.
func quote(s string) string {
	return strconv.Quote(shorten(s))
}

func shorten(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}

// countNodes counts the nodes of a tree without following aliases.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, ch := range n.Content {
		c += countNodes(ch)
	}
	return c
}
