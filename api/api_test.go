package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

type fakeSwitches struct {
	up    []controller.SwitchInfo
	flows map[flows.DPID][]flows.FlowStats
}

func (f fakeSwitches) Switches() []controller.SwitchInfo { return f.up }

func (f fakeSwitches) FlowStats(_ context.Context, dpid flows.DPID) ([]flows.FlowStats, error) {
	fs, ok := f.flows[dpid]
	if !ok {
		return nil, fmt.Errorf("flow stats: %w", controller.ErrNoSwitch)
	}
	return fs, nil
}

func testServer(t *testing.T, healthy error) *httptest.Server {
	t.Helper()
	mesh := topo.NewMesh([]topo.Host{{Name: "h1", TunnelIP: netip.MustParseAddr("198.18.0.1")}, {Name: "h2", TunnelIP: netip.MustParseAddr("198.18.0.2")}})
	mesh.SetTunnelOFPort("h1", "h2", 5)
	// apply_actions(output:2), goto_table:1
	instr := []byte{0, 4, 0, 24, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 2, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0, 8, 1, 0, 0, 0}
	sw := fakeSwitches{
		up: []controller.SwitchInfo{{DPID: topo.DPIDFor("h1"), Remote: "198.19.0.1:1234"}},
		flows: map[flows.DPID][]flows.FlowStats{topo.DPIDFor("h1"): {
			{Table: 40, Priority: 100, Cookie: flows.NewCookie(7, 2, 3), Instructions: instr},
			{Table: 0, Priority: 0, Cookie: flows.NewCookie(6, flows.AppBaseline, 0)},
			{Table: 0, Priority: 5, Cookie: 0x1234},
		}},
	}
	names := map[flows.AppID]string{1: "baseline", 2: "learning"}
	src := Sources{Mesh: mesh, Switches: sw, Generation: 7, Registry: prometheus.NewRegistry(),
		AppName:   func(id flows.AppID) string { return names[id] },
		TableName: func(t flows.TableID) string { return map[flows.TableID]string{40: "l2"}[t] },
		Routes: []Route{{Method: "GET", Path: "/api/v1/demo/things", Query: []string{"host"}, Handler: func(w http.ResponseWriter, _ *http.Request) {
			WriteJSON(w, http.StatusOK, []string{"thing"})
		}}},
		Checks: []Check{{Name: "state", Fn: func() error { return healthy }}}}
	h, err := New(src)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestAPI(t *testing.T) {
	srv := testServer(t, nil)
	tests := []struct {
		path       string
		wantStatus int
		wantBody   []string // substrings
	}{
		{"/healthz", 200, []string{`"status": "ok"`}},
		{"/api/v1/hosts", 200, []string{`"name": "h1"`, `"h2": 5`, `"openflow_connected": true`}},
		{"/api/v1/switches", 200, []string{`"host": "h1"`}},
		{"/api/v1/demo/things", 200, []string{`"thing"`}},
		{"/api/v1/demo/things?host=h1", 200, []string{`"thing"`}},
		{"/api/v1/flows?host=h1", 200, []string{`"app": "learning"`, `"stage": "l2"`, `"generation": 7`, `"actions": "output:2,goto_table:1"`, `"stale": true`, `"cookie": "0x1234"`}},
		{"/api/v1/flows?dpid=" + topo.DPIDFor("h1").String(), 200, []string{`"host": "h1"`}},
		{"/api/v1/flows", 400, []string{`"error": "missing query parameter host=NAME`}},
		{"/api/v1/flows?host=nope", 404, []string{`unknown host \"nope\" (configured: h1, h2)`}},
		{"/api/v1/flows?host=h2", 503, []string{`is not connected`}},
		{"/api/v1/flows?dpid=zz", 400, []string{`dpid \"zz\": want 1 to 16 hex digits`}},
		{"/api/v1/flows?dpid=12zz", 400, []string{`dpid \"12zz\"`}},
		{"/api/v1/flows?host=h1&dpid=1", 400, []string{`not both`}},
		{"/api/v1/demo/things?x=1", 400, []string{`unknown query parameter \"x\" (allowed: host)`}},
		{"/api/v1/hosts?x=1", 400, []string{`unknown query parameter \"x\" (allowed: none)`}},
		{"/api/v1/nothing", 404, []string{`no API endpoint GET /api/v1/nothing (see /api/v1/: demo/things, flows, hosts, reload, switches)`}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body json.RawMessage
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			for _, s := range tt.wantBody {
				if !strings.Contains(string(body), s) {
					t.Errorf("body lacks %s:\n%s", s, body)
				}
			}
		})
	}
}

func TestHealthzFailing(t *testing.T) {
	srv := testServer(t, errors.New("state file closed"))
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h Health
	json.NewDecoder(resp.Body).Decode(&h)
	if resp.StatusCode != 503 || h.Failed["state"] != "state file closed" {
		t.Errorf("healthz = %d %+v, want 503 naming the failed state check", resp.StatusCode, h)
	}
}

func TestNewRefusesBadRoutes(t *testing.T) {
	h := func(http.ResponseWriter, *http.Request) {}
	tests := []struct {
		name   string
		routes []Route
		want   string
	}{
		{"outside /api/v1", []Route{{Method: "GET", Path: "/things", Handler: h}}, "GET /things: not under /api/v1/"},
		{"no handler", []Route{{Method: "GET", Path: "/api/v1/x"}}, "GET /api/v1/x: no handler"},
		{"twice", []Route{{Method: "GET", Path: "/api/v1/x", Handler: h}, {Method: "GET", Path: "/api/v1/x", Handler: h}}, "GET /api/v1/x is mounted twice"},
		{"a core path", []Route{{Method: "GET", Path: "/api/v1/hosts", Handler: h}}, "GET /api/v1/hosts is mounted twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(Sources{Routes: tt.routes, Registry: prometheus.NewRegistry()}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestMutatingRoutesNeedLoopbackOrToken: a POST from another address is
// refused without the bearer token (401), with a wrong one (403), and
// always when no token is configured; loopback and the right token pass.
// GETs are never asked.
func TestMutatingRoutesNeedLoopbackOrToken(t *testing.T) {
	token := "s3cret-token-of-16+"
	reloads := 0
	src := Sources{Registry: prometheus.NewRegistry(), Token: func() string { return token },
		Reload: func(context.Context) (any, error) { reloads++; return map[string]int{"n": reloads}, nil }}
	h, err := New(src)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, remote, auth string
		tokenSet                   bool
		want                       int
	}{
		{"loopback", "POST", "127.0.0.1:5000", "", true, 200},
		{"loopback v6", "POST", "[::1]:5000", "", true, 200},
		{"remote without token", "POST", "198.18.0.5:5000", "", true, 401},
		{"remote wrong token", "POST", "198.18.0.5:5000", "Bearer nope", true, 403},
		{"remote right token", "POST", "198.18.0.5:5000", "Bearer " + token, true, 200},
		{"remote, no token configured", "POST", "198.18.0.5:5000", "Bearer " + token, false, 403},
		{"remote GET needs nothing", "GET", "198.18.0.5:5000", "", true, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.tokenSet {
				token = "s3cret-token-of-16+"
			} else {
				token = ""
			}
			path := "/api/v1/reload"
			if tt.method == "GET" {
				path = "/healthz"
			}
			req := httptest.NewRequest(tt.method, path, nil)
			req.RemoteAddr = tt.remote
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("%s %s from %s: %d, want %d: %s", tt.method, path, tt.remote, rec.Code, tt.want, rec.Body)
			}
		})
	}
	if reloads != 3 {
		t.Errorf("reload ran %d times, want 3 (the authorised requests)", reloads)
	}
}
