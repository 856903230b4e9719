package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Section declares a part of the file that an app decodes with its own
// type, at a path of one or two keys: "apps.learning" (under apps:, the
// usual place) or "nat" (a top-level key the app owns).
type Section struct {
	// Path is the dotted YAML path of the section.
	Path string
	// Default returns a new pointer to the section's type holding its
	// defaults; the file's values are decoded over it. The type may
	// implement Validator.
	Default func() any
}

// Validator is implemented by section types that check their values
// after decoding. Return *FieldError values (FieldErr) with paths
// relative to the section; Parse prefixes the section's path and finds
// the line. Any other error is reported at the section's path.
type Validator interface {
	Validate() error
}

// CoreValidator is implemented by section types whose values must agree
// with the core settings (a host name that must be one of hosts, say).
// ValidateCore runs after Validate, once the core settings are valid;
// errors are reported as Validate's are.
type CoreValidator interface {
	ValidateCore(core *Config) error
}

// FieldErr returns a validation error for the field at path (YAML keys
// and "[i]" indexes, relative to the section being validated) saying
// msg.
func FieldErr(msg string, path ...string) *FieldError {
	return fieldErr(msg, path...)
}

// Index renders a list index for a FieldErr path: Index(2) is "[2]".
func Index(i int) string { return idx(i) }

// Section returns the decoded value of the section at path: a pointer
// to the section's type, with its defaults when the file leaves it out.
// It is nil for a path no Section given to Parse declares, and for a
// Config that Default made. Callers must not modify the value; use
// WithSection.
func (c Config) Section(path string) any { return c.sections[path] }

// WithSection returns a copy of c whose section at path holds v (a
// pointer to the section's type), for tests and tools that write
// configuration files; c itself is unchanged. It is not validated until
// the file is parsed again.
func (c Config) WithSection(path string, v any) Config {
	c.sections = maps.Clone(c.sections)
	if c.sections == nil {
		c.sections = map[string]any{}
	}
	c.sections[path] = v
	return c
}

// coreKeys are the top-level keys Config itself decodes.
var coreKeys = fieldsOf(reflect.TypeFor[Config]())

// checkSections refuses section paths that cannot be told apart: empty,
// more than two keys, a core key, or declared twice.
func checkSections(sections []Section) error {
	seen := map[string]bool{}
	for _, s := range sections {
		parts := strings.Split(s.Path, ".")
		switch {
		case s.Path == "" || len(parts) > 2 || slices.Contains(parts, ""):
			return fmt.Errorf("config section %q: want a path of one or two keys, like apps.NAME or NAME", s.Path)
		case s.Default == nil:
			return fmt.Errorf("config section %s: no Default", s.Path)
		case seen[s.Path]:
			return fmt.Errorf("config section %s declared twice", s.Path)
		}
		if _, core := coreKeys[parts[0]]; core {
			return fmt.Errorf("config section %s: %s is a core section", s.Path, parts[0])
		}
		seen[s.Path] = true
	}
	return nil
}

// decode fills c from the document root: core keys into c's fields,
// section keys into each section's default value.
func (c *Config) decode(root *yaml.Node, sections []Section) error {
	if err := checkSections(sections); err != nil {
		return err
	}
	c.sections = map[string]any{}
	top := map[string]bool{}    // one-key sections: "nat"
	nested := map[string]bool{} // first keys of two-key sections: "apps"
	for _, s := range sections {
		c.sections[s.Path] = s.Default()
		first, _, two := strings.Cut(s.Path, ".")
		if two {
			nested[first] = true
		} else {
			top[first] = true
		}
	}
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // an empty file
	}
	if n.Kind != yaml.MappingNode {
		return kindErr(n, nil, "a mapping of sections")
	}
	coreNode := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, dup := seen[k.Value]; dup {
			return &FieldError{Field: k.Value, Line: k.Line, Msg: fmt.Sprintf("given twice (also line %d)", line), path: []string{k.Value}}
		}
		seen[k.Value] = k.Line
		switch {
		case top[k.Value]:
			if err := decode(v, reflect.ValueOf(c.sections[k.Value]), []string{k.Value}); err != nil {
				return err
			}
		case nested[k.Value]:
			if err := c.decodeNested(k.Value, v); err != nil {
				return err
			}
		default:
			coreNode.Content = append(coreNode.Content, k, v)
		}
	}
	fields := maps.Clone(coreKeys)
	for name := range top {
		fields[name] = -1
	}
	for name := range nested {
		fields[name] = -1
	}
	for i := 0; i+1 < len(coreNode.Content); i += 2 {
		if _, ok := coreKeys[coreNode.Content[i].Value]; !ok {
			return unknownField(coreNode.Content[i], nil, fields)
		}
	}
	return decode(coreNode, reflect.ValueOf(c), nil)
}

// decodeNested decodes the mapping under first (such as apps:), whose
// keys must each be a declared section.
func (c *Config) decodeNested(first string, n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return kindErr(n, []string{first}, "a mapping")
	}
	known := map[string]int{}
	for p := range c.sections {
		if f, second, ok := strings.Cut(p, "."); ok && f == first {
			known[second] = 0
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, dup := seen[k.Value]; dup {
			return &FieldError{Field: first + "." + k.Value, Line: k.Line, Msg: fmt.Sprintf("given twice (also line %d)", line), path: []string{first, k.Value}}
		}
		seen[k.Value] = k.Line
		if _, ok := known[k.Value]; !ok {
			return unknownField(k, []string{first}, known)
		}
		path := first + "." + k.Value
		if err := decode(v, reflect.ValueOf(c.sections[path]), []string{first, k.Value}); err != nil {
			return err
		}
	}
	return nil
}

// validateSections runs each section's Validator, then its
// CoreValidator, prefixing the section's path to the errors.
func (c *Config) validateSections(sections []Section) error {
	for _, s := range sections {
		v := c.sections[s.Path]
		if val, ok := v.(Validator); ok {
			if err := val.Validate(); err != nil {
				return sectionErr(s.Path, err)
			}
		}
		if cv, ok := v.(CoreValidator); ok {
			if err := cv.ValidateCore(c); err != nil {
				return sectionErr(s.Path, err)
			}
		}
	}
	return nil
}

// sectionErr places a section validator's error at the section's path.
func sectionErr(path string, err error) error {
	prefix := strings.Split(path, ".")
	var fe *FieldError
	if errors.As(err, &fe) {
		fe.path = append(slices.Clone(prefix), fe.path...)
		fe.Field = joinPath(fe.path)
		return fe
	}
	return &FieldError{Field: path, Msg: err.Error(), path: prefix}
}

// setPath puts value under the keys of path in the mapping root
// (creating mappings on the way), replacing what was there.
func setPath(root *yaml.Node, path []string, value *yaml.Node) {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for i, key := range path {
		var next *yaml.Node
		for k := 0; k+1 < len(n.Content); k += 2 {
			if n.Content[k].Value == key {
				next = n.Content[k+1]
				if i == len(path)-1 {
					n.Content[k+1] = value
					return
				}
			}
		}
		if next == nil {
			if i == len(path)-1 {
				next = value
			} else {
				next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, next)
		}
		n = next
	}
}
