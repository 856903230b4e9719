package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decode fills v (a pointer) from n, field by field, over the values v
// already holds (the defaults): a mapping key overrides one field, a
// sequence replaces the whole slice. Every error is a *FieldError naming
// the field's YAML path (path is where n sits) and line:
//   - a key that is not a field of the struct ("field tunel not found in
//     mesh", with the fields it knows);
//   - a key given twice in one mapping;
//   - a value of the wrong kind (a string where a number belongs, a
//     scalar where a mapping belongs), with the value as written;
//   - an error of a type's own UnmarshalYAML or UnmarshalText.
func decode(n *yaml.Node, v reflect.Value, path []string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && v.Kind() != reflect.Pointer {
		return nil // "key:" with no value keeps the default
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return decode(n, v.Elem(), path)
	}
	if leaf(t) {
		return decodeLeaf(n, v, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return kindErr(n, path, "a mapping")
		}
		fields := fieldsOf(t)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if line, dup := seen[k.Value]; dup {
				return &FieldError{Field: joinPath(append(slices.Clone(path), k.Value)), Line: k.Line,
					Msg: fmt.Sprintf("given twice (also line %d)", line), path: append(slices.Clone(path), k.Value)}
			}
			seen[k.Value] = k.Line
			idx, ok := fields[k.Value]
			if !ok {
				return unknownField(k, path, fields)
			}
			if err := decode(val, v.Field(idx), append(slices.Clone(path), k.Value)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return kindErr(n, path, "a list")
		}
		out := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := decode(item, out.Index(i), append(slices.Clone(path), idx(i))); err != nil {
				return err
			}
		}
		v.Set(out)
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return kindErr(n, path, "a mapping")
		}
		out := reflect.MakeMap(t)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if line, dup := seen[k.Value]; dup {
				return &FieldError{Field: joinPath(append(slices.Clone(path), k.Value)), Line: k.Line,
					Msg: fmt.Sprintf("given twice (also line %d)", line), path: append(slices.Clone(path), k.Value)}
			}
			seen[k.Value] = k.Line
			key := reflect.New(t.Key()).Elem()
			if err := decodeLeaf(k, key, path); err != nil {
				return err
			}
			elem := reflect.New(t.Elem()).Elem()
			if err := decode(val, elem, append(slices.Clone(path), k.Value)); err != nil {
				return err
			}
			out.SetMapIndex(key, elem)
		}
		v.Set(out)
		return nil
	}
	return decodeLeaf(n, v, path)
}

var (
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType        = reflect.TypeFor[time.Duration]()
)

// leaf reports whether values of t are decoded whole by yaml.v3: types
// with their own UnmarshalYAML or UnmarshalText, durations and scalars.
func leaf(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	if pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType) || t == durationType {
		return true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Slice, reflect.Map, reflect.Pointer:
		return false
	}
	return true
}

// decodeLeaf decodes a scalar (or a value with its own unmarshaler).
func decodeLeaf(n *yaml.Node, v reflect.Value, path []string) error {
	err := n.Decode(v.Addr().Interface())
	if err == nil {
		return nil
	}
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = lineRE.ReplaceAllString(msg, "")
	if m := cannotRE.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("%q is not %s", m[1], kindName(v.Type()))
	}
	return &FieldError{Field: joinPath(path), Line: n.Line, Msg: msg, path: slices.Clone(path)}
}

var (
	lineRE   = regexp.MustCompile(`^(yaml: )?(unmarshal errors:\s*)?line \d+: `)
	cannotRE = regexp.MustCompile("^cannot unmarshal !!\\w+ `(.*)` into ")
)

// kindName describes what a value of t must look like.
func kindName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration like 30s or 5m"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "an integer"
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		return "a non-negative integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.String:
		return "a string"
	}
	return "a valid " + t.String()
}

func kindErr(n *yaml.Node, path []string, want string) error {
	got := map[yaml.Kind]string{yaml.ScalarNode: "a scalar", yaml.SequenceNode: "a list", yaml.MappingNode: "a mapping"}[n.Kind]
	if got == "" {
		got = "something else"
	}
	return &FieldError{Field: joinPath(path), Line: n.Line, Msg: fmt.Sprintf("want %s, got %s", want, got), path: slices.Clone(path)}
}

// fieldsOf maps a struct's YAML keys (its yaml tags, or the lower-cased
// field name) to field indexes; fields tagged "-" and unexported fields
// are left out.
func fieldsOf(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = i
	}
	return out
}

// unknownField reports key k, which is not a field at path. The message
// starts as yaml.v3's own ("field X not found"), then says where and
// lists the fields that exist.
func unknownField(k *yaml.Node, path []string, fields map[string]int) error {
	known := make([]string, 0, len(fields))
	for name := range fields {
		known = append(known, name)
	}
	slices.Sort(known)
	where := "the top level"
	if len(path) > 0 {
		where = joinPath(path)
	}
	return &FieldError{Field: joinPath(append(slices.Clone(path), k.Value)), Line: k.Line, bare: true,
		Msg:  fmt.Sprintf("field %s not found in %s (known: %s)", k.Value, where, strings.Join(known, ", ")),
		path: append(slices.Clone(path), k.Value)}
}
