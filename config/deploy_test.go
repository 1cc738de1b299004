package config_test

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/identityd/identityd/config"
)

// knownEnv is every environment variable name identityd reads.
func knownEnv() []string {
	var names []string
	for _, s := range config.Settings() {
		names = append(names, "IDENTITYD_"+upper(s.Key))
		if s.Secret {
			names = append(names, "IDENTITYD_"+upper(s.Key)+"_FILE")
		}
	}
	return names
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// TestDeploymentFilesUseOnlyRealSettings keeps compose.yaml and the Dockerfile in step
// with the settings: a renamed setting would otherwise be silently ignored there.
func TestDeploymentFilesUseOnlyRealSettings(t *testing.T) {
	known := knownEnv()
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	data, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	svc, ok := compose.Services["identityd"]
	if !ok || len(svc.Environment) == 0 {
		t.Fatal("compose.yaml has no identityd service with an environment")
	}
	var env []string
	for name, value := range svc.Environment {
		if !slices.Contains(known, name) {
			t.Errorf("compose.yaml sets %s, which is not a setting", name)
		}
		if name == "IDENTITYD_ENCRYPTION_KEYS" {
			value = key(1) // compose takes it from the operator's shell
		}
		env = append(env, name+"="+value)
	}
	if _, err := config.Load(config.Sources{Env: env, Serving: true}); err != nil {
		t.Errorf("compose.yaml's settings do not make a valid configuration:\n%v", err)
	}
	docker, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`IDENTITYD_[A-Z_]+`).FindAllString(string(docker), -1) {
		if !slices.Contains(known, name) {
			t.Errorf("Dockerfile sets %s, which is not a setting", name)
		}
	}
}
