package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
)

// sourceEnvironment is the Source of problems about the environment as a whole, such as
// a misspelt variable.
const sourceEnvironment = "environment"

// fromEnv reads every setting given in env ("KEY=value" pairs, as os.Environ returns
// them) and reports variables that look like misspelt settings.
func fromEnv(env []string) (map[string]input, Problems) {
	vars := make(map[string]string, len(env))
	for _, kv := range env {
		// Later pairs win, as they do for os/exec.
		if name, value, ok := strings.Cut(kv, "="); ok && name != "" {
			vars[name] = value
		}
	}
	inputs := make(map[string]input)
	for i := range settings {
		if in, ok := envInput(&settings[i], vars); ok {
			inputs[settings[i].key] = in
		}
	}
	return inputs, unknownEnv(vars)
}

// envInput reads s from IDENTITYD_<KEY>, or for a secret from the file IDENTITYD_<KEY>_FILE
// names. An empty variable counts as unset, because orchestrators render an undefined
// variable as an empty one.
func envInput(s *setting, vars map[string]string) (input, bool) {
	name, fileName := s.env(), s.env()+"_FILE"
	value := strings.TrimSpace(vars[name])
	path := ""
	if s.secret {
		path = strings.TrimSpace(vars[fileName])
	}
	switch {
	case value != "" && path != "":
		return input{source: name + " and " + fileName, broken: &refusal{
			why: "both are set, so it is unclear which to use",
			fix: "unset one of them",
		}}, true
	case path != "":
		text, r := readSecretFile(path, fileName)
		if r != nil {
			return input{source: fileName, broken: r}, true
		}
		return valueInput(s, fileName, text), true
	case value != "":
		return valueInput(s, name, value), true
	}
	return input{}, false
}

// valueInput makes the input for a value given as text: list settings split it at commas.
func valueInput(s *setting, source, text string) input {
	if !s.list {
		return input{source: source, text: text}
	}
	var items []string
	for item := range strings.SplitSeq(text, ",") {
		// Dropping empty items forgives "a, b," and templated lists with a trailing comma.
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return input{source: source, items: items}
}

// maxSecretFile bounds what a secret file may hold, so a path like /dev/zero fails
// instead of eating memory.
const maxSecretFile = 64 << 10

// readSecretFile reads a secret from path, for the setting spelt name there. Problems
// name the path and the reason, never the contents.
func readSecretFile(path, name string) (string, *refusal) {
	fix := "point " + name + " at a readable file that holds the value"
	data, err := readLimited(path, maxSecretFile)
	switch {
	case err != nil:
		return "", refuse(fmt.Sprintf("cannot read %q: %s", path, reason(err)), fix)
	case len(data) > maxSecretFile:
		return "", refuse(fmt.Sprintf("file %q is larger than %s, far more than a secret needs", path, fmtSize(maxSecretFile)), fix)
	}
	// All surrounding whitespace goes, not just the final newline editors add: no
	// supported secret (a URL, base64 keys) can start or end with whitespace.
	text := strings.TrimSpace(string(data))
	if text == "" {
		return "", refuse(fmt.Sprintf("file %q is empty", path), "write the value into it, or unset "+name)
	}
	return text, nil
}

// readLimited reads path, at most limit+1 bytes so the caller can tell it was too long.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// reason is err without the path an *fs.PathError repeats, since messages name the path
// themselves.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// unknownEnv reports variables that are not settings but are within a typo of one.
// Everything else is ignored: the environment belongs to many programs, and Kubernetes
// alone injects IDENTITYD_PORT and friends for a service named identityd.
func unknownEnv(vars map[string]string) Problems {
	var known []string
	for i := range settings {
		known = append(known, settings[i].env())
		if settings[i].secret {
			known = append(known, settings[i].env()+"_FILE")
		}
	}
	var ps Problems
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		upper := strings.ToUpper(name)
		if slices.Contains(known, name) || strings.HasPrefix(upper, envPrefix+"TEST_") {
			continue
		}
		if base, ok := strings.CutSuffix(upper, "_FILE"); ok && isPlainEnv(base) {
			ps = append(ps, Problem{
				Key: printableName(name), Source: sourceEnvironment,
				Why: "only secret settings can be read from a file",
				Fix: "set " + base + " to the value itself",
			})
			continue
		}
		if match, ok := closest(name, known); ok {
			ps = append(ps, Problem{
				Key: printableName(name), Source: sourceEnvironment,
				Why: "not a known setting; did you mean " + match + "?",
				Fix: "rename it to " + match,
			})
		}
	}
	return ps
}

// isPlainEnv reports whether name is the variable of a setting that is not secret.
func isPlainEnv(name string) bool {
	for i := range settings {
		if settings[i].env() == name {
			return !settings[i].secret
		}
	}
	return false
}
