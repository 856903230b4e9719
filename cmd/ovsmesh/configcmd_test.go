package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/config"
)

// TestConfigCheckBadConfigs runs `ovsmesh config check` on every bad
// configuration the config tests cover: it must exit 1 and print exactly
// the error config.Load returns, the one `ovsmesh controller` prints
// when it refuses the same file.
func TestConfigCheckBadConfigs(t *testing.T) {
	f, err := os.Open(filepath.Join(badDir, "want.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		name, want, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("want.txt: bad line %q", sc.Text())
		}
		n++
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(badDir, name+".yaml")
			_, loadErr := checkConfig(controllerFlags{config: path})
			if loadErr == nil || !strings.Contains(loadErr.Error(), want) {
				t.Fatalf("loading %s: %v, want an error containing %q", path, loadErr, want)
			}
			stdout, stderr, code := runOvsmesh(t, "config", "check", path)
			if code != 1 || stdout != "" {
				t.Errorf("config check %s: exit %d, stdout %q; want 1 and nothing", path, code, stdout)
			}
			if wantErr := "ovsmesh: " + loadErr.Error() + "\n"; stderr != wantErr {
				t.Errorf("config check stderr:\n%s\nwant:\n%s", stderr, wantErr)
			}
			// The controller refuses the file with the same words,
			// before it opens a state file or a listener. Not tried on
			// files with hosts: should the controller accept one, it
			// must not dial their (non-loopback) OVSDB addresses.
			doc, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(doc), "hosts") {
				return
			}
			dir := t.TempDir()
			_, ctlErr, ctlCode := runOvsmesh(t, "controller", "--config", path, "--state", filepath.Join(dir, "state.db"),
				"--listen", "tcp:127.0.0.1:"+freePort(t), "--api", "127.0.0.1:0")
			if ctlCode != 1 || ctlErr != stderr {
				t.Errorf("controller --config %s: exit %d, stderr:\n%s\nwant exit 1 and:\n%s", path, ctlCode, ctlErr, stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "state.db")); !os.IsNotExist(err) {
				t.Errorf("the refused controller created its state file (stat: %v)", err)
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("want.txt lists %d cases; the config tests cover more", n)
	}
}

// TestConfigCheckGood checks the shipped configuration (the package's
// /etc/ovsmesh/ovsmesh.yaml) and the README's configuration reference:
// `config check` accepts both, and --print writes the effective
// configuration, defaults filled in, which reads back the same.
func TestConfigCheckGood(t *testing.T) {
	readme := filepath.Join(t.TempDir(), "readme.yaml")
	if err := os.WriteFile(readme, []byte(readmeConfig(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"../../packaging/ovsmesh.yaml", readme} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, err := checkConfig(controllerFlags{config: path})
			if err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := runOvsmesh(t, "config", "check", path)
			if code != 0 || stdout != path+": ok\n" || stderr != "" {
				t.Fatalf("config check %s: exit %d, stdout %q, stderr %q", path, code, stdout, stderr)
			}
			stdout, stderr, code = runOvsmesh(t, "config", "check", "--print", path)
			if code != 0 || stderr != "" {
				t.Fatalf("config check --print %s: exit %d, stderr %q", path, code, stderr)
			}
			got, err := config.Parse([]byte(stdout), sections(t)...)
			if err != nil {
				t.Fatalf("--print output does not parse: %v\n%s", err, stdout)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("--print output reads back as %+v, want %+v", got, want)
			}
		})
	}
}

// TestConfigCheckPrintsDefaults checks that --print shows the defaults a
// file leaves out.
func TestConfigCheckPrintsDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "min.yaml")
	if err := os.WriteFile(path, []byte("mesh:\n  tunnel: gre\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runOvsmesh(t, "config", "check", "--print", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"tunnel: gre", "datapath_type: system", "listen: 127.0.0.1:9633", "state: /var/lib/ovsmesh/state.db", "idle_timeout: 5m0s"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--print output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestConfigCheckUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"config", "check"}, "accepts 1 arg(s), received 0"},
		{"missing file", []string{"config", "check", "/nonexistent/ovsmesh.yaml"}, "read config: open /nonexistent/ovsmesh.yaml: no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runOvsmesh(t, tc.args...)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tc.want)
			}
		})
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// readmeConfig returns the YAML block under "## Configuration reference"
// in the README.
func readmeConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## Configuration reference")
	if !ok {
		t.Fatal("README.md has no Configuration reference section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	if !ok {
		t.Fatal("README.md's Configuration reference has no yaml block")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md's yaml block does not end")
	}
	return block
}

// sections are the built-in apps' configuration sections.
func sections(t *testing.T) []config.Section {
	t.Helper()
	r, err := apps.NewRegistry(builtins...)
	if err != nil {
		t.Fatal(err)
	}
	return r.Sections()
}
