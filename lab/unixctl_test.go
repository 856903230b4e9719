package lab

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeUnixctl answers JSON-RPC 1.0 requests on a unix socket the way an
// OVS daemon's unixctl server does: params are the command's arguments as
// strings, the result is its output, a refused command has a string
// error and a null result.
func fakeUnixctl(t *testing.T, answer func(method string, params []string) (result, errMsg string)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctl")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		dec, enc := json.NewDecoder(c), json.NewEncoder(c)
		for {
			var req struct {
				Method string          `json:"method"`
				Params []string        `json:"params"`
				ID     json.RawMessage `json:"id"`
			}
			if err := dec.Decode(&req); err != nil {
				return
			}
			res, msg := answer(req.Method, req.Params)
			reply := map[string]any{"id": req.ID, "result": res, "error": nil}
			if msg != "" {
				reply["result"], reply["error"] = nil, msg
			}
			if err := enc.Encode(reply); err != nil {
				return
			}
		}
	}()
	return path
}

func TestAppctl(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		args    []string
		wantOut string
		wantErr string
	}{
		{"command with arguments", "tnl/neigh/set", []string{"br-phy", "198.18.0.2", "02:18:00:00:00:02"}, "OK\n", ""},
		{"command without arguments", "version", nil, "ovs-vswitchd 3.1.0\n", ""},
		{"refused command", "nope", nil, "", "\"nope\" is not a valid command"},
	}
	path := fakeUnixctl(t, func(method string, params []string) (string, string) {
		switch method {
		case "tnl/neigh/set":
			if len(params) != 3 {
				return "", "want 3 arguments, got " + strings.Join(params, " ")
			}
			return "OK\n", ""
		case "version":
			if params == nil {
				return "", "params must be an empty array, not null"
			}
			return "ovs-vswitchd 3.1.0\n", ""
		}
		return "", "\"" + method + "\" is not a valid command"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ac, err := dialAppctl(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ac.close()
	// One connection carries every call, as setupPhy uses it.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ac.call(ctx, tt.method, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("call = %q, %v; want error containing %q", out, err, tt.wantErr)
				}
				return
			}
			if err != nil || out != tt.wantOut {
				t.Fatalf("call = %q, %v; want %q", out, err, tt.wantOut)
			}
		})
	}
}

func TestDialAppctlMissingSocket(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := dialAppctl(ctx, filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "unixctl") {
		t.Fatalf("dialAppctl of a missing socket = %v; want a unixctl error", err)
	}
}
