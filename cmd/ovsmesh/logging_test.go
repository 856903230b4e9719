package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestIsJournal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	tests := []struct {
		name, env string
		want      bool
	}{
		{"names the file", fmt.Sprintf("%d:%d", st.Dev, st.Ino), true},
		{"another inode", fmt.Sprintf("%d:%d", st.Dev, st.Ino+1), false},
		{"another device", fmt.Sprintf("%d:%d", st.Dev+1, st.Ino), false},
		{"unset", "", false},
		{"malformed", "journal", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := isJournal(f, tc.env); got != tc.want {
				t.Errorf("isJournal(%q) = %v, want %v", tc.env, got, tc.want)
			}
		})
	}
}

func TestLoggerLines(t *testing.T) {
	tests := []struct {
		name    string
		format  logFormat
		journal bool
		want    []string // the lines, with the time cut off where kept
	}{
		{"text in the journal", "text", true, []string{
			`<6>level=INFO msg=started app=learning n=1`,
			`<4>level=WARN msg=slow app=learning g.k=v`,
			`<3>level=ERROR msg=failed app=learning g.err=boom`,
		}},
		{"json in the journal", "json", true, []string{
			`<6>{"level":"INFO","msg":"started","app":"learning","n":1}`,
			`<4>{"level":"WARN","msg":"slow","app":"learning","g":{"k":"v"}}`,
			`<3>{"level":"ERROR","msg":"failed","app":"learning","g":{"err":"boom"}}`,
		}},
		{"text elsewhere", "", false, []string{
			`level=INFO msg=started app=learning n=1`,
			`level=WARN msg=slow app=learning g.k=v`,
			`level=ERROR msg=failed app=learning g.err=boom`,
		}},
		{"json elsewhere", "json", false, []string{
			`"level":"INFO","msg":"started","app":"learning","n":1}`,
			`"level":"WARN","msg":"slow","app":"learning","g":{"k":"v"}}`,
			`"level":"ERROR","msg":"failed","app":"learning","g":{"err":"boom"}}`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(newHandler(&buf, tc.format, slog.LevelInfo, tc.journal)).With("app", "learning")
			log.Debug("hidden")
			log.Info("started", "n", 1)
			g := log.WithGroup("g")
			g.Warn("slow", "k", "v")
			g.Error("failed", "err", "boom")
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(tc.want), buf.String())
			}
			for i, line := range lines {
				if tc.journal {
					if strings.Contains(line, "time") {
						t.Errorf("line %q has a time; the journal adds its own", line)
					}
				} else {
					var ok bool
					if line, ok = cutTime(line, tc.format); !ok {
						t.Errorf("line %q does not start with its time", lines[i])
					}
				}
				if line != tc.want[i] {
					t.Errorf("line %d:\n got %s\nwant %s", i, line, tc.want[i])
				}
			}
			if tc.format == "json" {
				for _, l := range lines {
					var v map[string]any
					if err := json.Unmarshal([]byte(strings.TrimPrefix(l, l[:strings.IndexByte(l, '{')])), &v); err != nil {
						t.Errorf("line %q is not JSON after its prefix: %v", l, err)
					}
				}
			}
		})
	}
}

// cutTime removes the leading time attribute of a text or JSON line.
func cutTime(line string, format logFormat) (string, bool) {
	if format == "json" {
		if !strings.HasPrefix(line, `{"time":"`) {
			return line, false
		}
		_, rest, ok := strings.Cut(line, `",`)
		return rest, ok
	}
	if !strings.HasPrefix(line, "time=") {
		return line, false
	}
	_, rest, ok := strings.Cut(line, " ")
	return rest, ok
}

func TestLogFormatFlag(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{{"text", false}, {"json", false}, {"logfmt", true}, {"", true}}
	for _, tc := range tests {
		var f logFormat
		if err := f.Set(tc.in); (err != nil) != tc.wantErr {
			t.Errorf("Set(%q) = %v, want error %v", tc.in, err, tc.wantErr)
		}
	}
	_, stderr, code := runOvsmesh(t, "controller", "--log-format", "xml")
	if want := `invalid argument "xml" for "--log-format" flag: "xml": want text or json`; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("controller --log-format xml: exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}
