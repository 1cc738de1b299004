package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fromFile reads the settings in the YAML file at path. It walks yaml.Node rather than
// decoding into a struct so that every problem can name its line, and so that values
// reach the parsers as the text the operator wrote, exactly as from the environment.
func fromFile(path string) (map[string]input, Problems) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		why := "cannot read it: " + reason(err)
		if errors.Is(err, fs.ErrNotExist) {
			why = "the file does not exist"
		}
		return nil, Problems{{Key: configFileKey, Source: path, Why: why, Fix: "create it, or name the right file"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // an empty file sets nothing
		}
		return nil, Problems{syntaxProblem(path, err)}
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, Problems{syntaxProblem(path, err)}
		}
		// Only the first document would be read; say so rather than drop the rest.
		return nil, Problems{{
			Key: configFileKey, Source: at(path, next.Line),
			Why: "holds a second YAML document", Fix: "keep a single document, without another ---",
		}}
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return nil, nil // a file of only comments sets nothing
	}
	if root.Kind != yaml.MappingNode {
		return nil, Problems{{
			Key: configFileKey, Source: at(path, root.Line),
			Why: "the top level must map setting names to values, got " + kind(root),
			Fix: "write one setting per line, e.g. log_level: info",
		}}
	}
	return fileSettings(path, root)
}

// fileSettings reads the settings of the top-level mapping.
func fileSettings(path string, root *yaml.Node) (map[string]input, Problems) {
	inputs := make(map[string]input)
	var ps Problems
	firstLine := make(map[string]int) // name as written -> line it first appeared on
	// setting key -> the name that set it, either key or key_file, and its line
	type setAt struct {
		name string
		line int
	}
	setBy := make(map[string]setAt)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		source := at(path, k.Line)
		if k.Kind != yaml.ScalarNode {
			ps = append(ps, Problem{
				Key: configFileKey, Source: source,
				Why: "a setting name must be plain text, got " + kind(k), Fix: "write one setting per line, e.g. log_level: info",
			})
			continue
		}
		name := k.Value
		s, viaFile := yamlSetting(name)
		if s == nil {
			ps = append(ps, unknownKey(name, source))
			continue
		}
		if line, dup := firstLine[name]; dup {
			inputs[s.key] = input{source: source, broken: &refusal{
				why: fmt.Sprintf("set twice, first on line %d", line), fix: "keep one of them",
			}}
			continue
		}
		firstLine[name] = k.Line
		if isNull(v) || v.Kind == yaml.ScalarNode && strings.TrimSpace(v.Value) == "" {
			continue // null or empty means unset, as an empty variable does
		}
		if other, both := setBy[s.key]; both {
			inputs[s.key] = input{source: source, broken: &refusal{
				why: fmt.Sprintf("set together with %s on line %d, so it is unclear which to use", other.name, other.line),
				fix: "keep one of them",
			}}
			continue
		}
		setBy[s.key] = setAt{name, k.Line}
		inputs[s.key] = yamlInput(s, name, viaFile, v, source)
	}
	return inputs, ps
}

// yamlSetting finds the setting a YAML name sets; viaFile says it was spelt key_file,
// naming a file that holds a secret.
func yamlSetting(name string) (s *setting, viaFile bool) {
	if s, _ := lookup(name); s != nil {
		return s, false
	}
	if base, ok := strings.CutSuffix(name, "_file"); ok {
		if s, _ := lookup(base); s != nil && s.secret {
			return s, true
		}
	}
	return nil, false
}

// yamlInput reads the value of one setting from its node.
func yamlInput(s *setting, name string, viaFile bool, v *yaml.Node, source string) input {
	wrongKind := func(why string) input {
		return input{source: source, broken: &refusal{why: why, fix: "write a single value, as in " + name + ": value"}}
	}
	switch {
	case v.Kind == yaml.ScalarNode && viaFile:
		text, r := readSecretFile(strings.TrimSpace(v.Value), name)
		if r != nil {
			return input{source: source, broken: r}
		}
		return valueInput(s, source, text)
	case v.Kind == yaml.ScalarNode:
		return valueInput(s, source, strings.TrimSpace(v.Value))
	case v.Kind == yaml.SequenceNode && s.list && !viaFile:
		var items []string
		for n, item := range v.Content {
			item = resolve(item)
			if item.Kind != yaml.ScalarNode {
				return input{source: source, broken: &refusal{
					why: fmt.Sprintf("expected a list of single values, item %d is %s", n+1, kind(item)),
					fix: "write each item as a single value, or all of them comma-separated on one line",
				}}
			}
			if text := strings.TrimSpace(item.Value); !isNull(item) && text != "" {
				items = append(items, text)
			}
		}
		return input{source: source, items: items}
	case v.Kind == yaml.MappingNode && s.list && !viaFile:
		return input{source: source, broken: &refusal{
			why: "expected a list or a single value, got a mapping",
			fix: "write a list of values, or the values comma-separated on one line",
		}}
	}
	return wrongKind("expected a single value, got " + kind(v))
}

// unknownKey reports a name that is not a setting, suggesting the one it most likely
// misspells. The suggestion also catches names written as environment variables
// (IDENTITYD_LOG_LEVEL) or in the wrong case.
func unknownKey(name, source string) Problem {
	var known []string
	for i := range settings {
		known = append(known, settings[i].key)
		if settings[i].secret {
			known = append(known, settings[i].key+"_file")
		}
	}
	p := Problem{Key: printableName(name), Source: source,
		Why: "not a known setting", Fix: "remove it, or correct it to one of the settings listed in the README"}
	plain := strings.TrimPrefix(strings.ToLower(name), "identityd_")
	if base, ok := strings.CutSuffix(plain, "_file"); ok {
		if s, _ := lookup(base); s != nil && !s.secret {
			p.Why, p.Fix = "only secret settings can be read from a file", "set "+base+" to the value itself"
			return p
		}
	}
	if match, ok := closest(plain, known); ok {
		p.Why, p.Fix = "not a known setting; did you mean "+match+"?", "rename it to "+match
	}
	return p
}

// syntaxProblem turns a YAML parser error into a problem naming the file. The parser's
// "line N" stays inside its message rather than becoming the Source, because for some
// errors yaml.v3 counts it from where the enclosing construct began, off by one.
func syntaxProblem(path string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	// One problem is one line of output.
	msg = strings.Join(strings.Fields(msg), " ")
	return Problem{Key: configFileKey, Source: path, Why: "not valid YAML: " + msg, Fix: "correct the YAML syntax"}
}

// at names a line of the file, as Problem.Source shows it.
func at(path string, line int) string { return path + " line " + strconv.Itoa(line) }

// resolve follows an alias (*name) to the node its anchor (&name) marks.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// kind names a node's kind the way an operator would.
func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return "a single value"
}
