package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// JSON re-encodes the JSON document raw with the value of every sensitive key — at any
// depth, inside arrays too — replaced by the string Redacted. Any JSON value is accepted
// at the top level. Object keys come out sorted and numbers keep their exact text.
// Keys are compared after JSON unescaping, so "pass\u0077ord" is caught too.
//
// Invalid JSON (including trailing data after the value) is an error, and the error
// never repeats the input. A caller that gets one must log that the body was invalid,
// not the body itself: whether it holds a secret cannot be told.
func JSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // so 12345678901234567890 is not rounded through float64
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("redact: json: %w", describe(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("redact: json: unexpected data after the top-level value")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // logs are not HTML; keep <, > and & readable
	if err := enc.Encode(new(walker).value(doc)); err != nil {
		return nil, fmt.Errorf("redact: json: encode: %w", err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// describe keeps a decoding error's position and kind but drops anything quoting the
// input.
func describe(err error) error {
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("invalid JSON at byte offset %d", syntax.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON: unexpected end of input")
	default:
		return errors.New("invalid JSON")
	}
}

// Map returns a deep copy of m with the value of every sensitive key, at any depth,
// replaced by Redacted. It is meant for JSON-like data — audit details, decoded
// bodies — and copies maps with string keys (of any value type: map[string]string,
// http.Header, url.Values) as map[string]any, and slices and arrays as []any, since a
// Redacted string no longer fits the original element type. Other values are copied as
// they are: structs and pointers are not looked into, so do not put secrets in them. A
// map or slice that contains itself is cut at the repetition with Redacted. The input is
// not modified and the result shares no map or slice with it; a nil m gives nil.
func Map(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out, _ := new(walker).value(m).(map[string]any)
	return out
}

// walker copies a value with sensitive keys redacted. It remembers the maps and slices
// on the path from the root, so a value that contains itself ends instead of recursing
// until the stack runs out.
type walker struct {
	path map[container]bool
}

// container identifies a map or slice by where its elements live (and, for a slice,
// how many it has: a slice and a shorter slice of it are different values).
type container struct {
	ptr uintptr
	len int
}

func (w *walker) value(v any) any {
	switch v := v.(type) {
	case nil, string, bool, json.Number, float64, float32,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return v
	case json.RawMessage:
		// Marshalled inline, so its keys are as visible as a map's.
		redacted, err := JSON(v)
		if err != nil {
			return Redacted
		}
		return json.RawMessage(redacted)
	case []byte:
		return bytes.Clone(v)
	}
	return w.reflected(reflect.ValueOf(v))
}

func (w *walker) reflected(rv reflect.Value) any {
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return rv.Interface()
		}
		if rv.IsNil() {
			return map[string]any(nil)
		}
		id := container{ptr: uintptr(rv.UnsafePointer())}
		if !w.enter(id) {
			return Redacted
		}
		defer w.leave(id)
		out := make(map[string]any, rv.Len())
		for iter := rv.MapRange(); iter.Next(); {
			name := iter.Key().String()
			if IsSensitive(name) {
				out[name] = Redacted
			} else {
				out[name] = w.value(iter.Value().Interface())
			}
		}
		return out
	case reflect.Slice:
		if rv.IsNil() {
			return []any(nil)
		}
		id := container{ptr: uintptr(rv.UnsafePointer()), len: rv.Len()}
		if !w.enter(id) {
			return Redacted
		}
		defer w.leave(id)
		return w.elements(rv)
	case reflect.Array:
		return w.elements(rv) // arrays are values: they cannot contain themselves
	default:
		return rv.Interface()
	}
}

func (w *walker) elements(rv reflect.Value) []any {
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = w.value(rv.Index(i).Interface())
	}
	return out
}

// enter records a container on the current path; it reports false if the container is
// already on it.
func (w *walker) enter(id container) bool {
	if w.path == nil {
		w.path = make(map[container]bool)
	}
	if w.path[id] {
		return false
	}
	w.path[id] = true
	return true
}

func (w *walker) leave(id container) { delete(w.path, id) }
