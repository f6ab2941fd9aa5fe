package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// decodeArgs decodes raw tool arguments strictly and says what is wrong
// in words an agent can act on: an unknown argument (with the list of the
// known ones, so a typo is fixed in one step) or a value of the wrong JSON
// type. It is the only schema check (mcp-go's is off: its errors are Go
// struct dumps); a missing argument is left to the tool, whose message says
// where to find a value.
func decodeArgs(raw any, into any) error {
	data, err := rawJSON(raw)
	if err != nil {
		return err
	}
	names := argNames(reflect.TypeOf(into).Elem())
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return fmt.Errorf("the arguments must be a JSON object, got %s", jsonKind(data))
	}
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(names, k) {
			return fmt.Errorf("unknown argument %q; %s", k, knownArgs(names))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return typeError(err, obj)
	}
	return nil
}

// rawJSON is the arguments as JSON text; none at all is an empty object.
func rawJSON(raw any) ([]byte, error) {
	var data []byte
	switch v := raw.(type) {
	case nil:
	case json.RawMessage:
		data = v
	case []byte:
		data = v
	default:
		var err error
		if data, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("the arguments are not JSON: %v", err)
		}
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || string(t) == "null" {
		return []byte("{}"), nil
	}
	return data, nil
}

func knownArgs(names []string) string {
	if len(names) == 0 {
		return "this tool takes no arguments"
	}
	return "the arguments are: " + strings.Join(names, ", ")
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// typeError turns a decoding error into a sentence naming the argument.
func typeError(err error, obj map[string]json.RawMessage) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		name, want := te.Field, article(jsonType(te.Type))
		raw, ok := obj[name]
		if !ok || (jsonKind(raw) == "an array" && te.Type.Kind() != reflect.Slice) {
			// The wrong value is inside the argument (an element of a list).
			return fmt.Errorf("each element of %s must be %s, got %s", name, want, article(te.Value))
		}
		return fmt.Errorf("%s must be %s, got %s", name, want, jsonKind(raw))
	}
	return fmt.Errorf("the arguments do not decode: %v", err)
}

// jsonKind names the JSON type of a value: "a string", "an array".
func jsonKind(raw []byte) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case '{':
		return "an object"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	if bytes.ContainsAny(t, ".eE") {
		return "a number with a fraction"
	}
	return "a number"
}

// jsonType names the JSON type a Go type decodes from.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() != reflect.Uint8 {
			return "array of " + jsonType(t.Elem()) + "s"
		}
		return "string"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return "object"
}

func article(s string) string {
	if s == "" || strings.HasPrefix(s, "a ") || strings.HasPrefix(s, "an ") {
		return s
	}
	if strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

// argNames lists a tool's arguments in declaration order, embedded
// structs flattened as encoding/json flattens them.
func argNames(t reflect.Type) []string {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "":
			out = append(out, argNames(f.Type)...)
			continue
		case name == "":
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}
