package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

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
	macs, arps := topo.NewMACTable(), topo.NewARPTable()
	m, _ := net.ParseMAC("02:00:00:00:00:01")
	macs.Put(topo.MACEntry{MAC: m, DPID: topo.DPIDFor("h1"), OFPort: 2, Host: "h1", Learned: time.Now()})
	arps.Put(topo.ARPBinding{IP: netip.MustParseAddr("10.0.0.1"), MAC: m, Host: "h1", DPID: topo.DPIDFor("h1")})
	// apply_actions(output:2), goto_table:1
	instr := []byte{0, 4, 0, 24, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 2, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0, 8, 1, 0, 0, 0}
	sw := fakeSwitches{
		up: []controller.SwitchInfo{{DPID: topo.DPIDFor("h1"), Remote: "198.19.0.1:1234"}},
		flows: map[flows.DPID][]flows.FlowStats{topo.DPIDFor("h1"): {
			{Table: 1, Priority: 100, Cookie: flows.NewCookie(7, flows.AppLearning, 3), Instructions: instr},
			{Table: 0, Priority: 0, Cookie: flows.NewCookie(6, flows.AppBaseline, 0)},
			{Table: 0, Priority: 5, Cookie: 0x1234},
		}},
	}
	src := Sources{Mesh: mesh, MACs: macs, ARP: arps, Switches: sw, Generation: 7, Registry: prometheus.NewRegistry(),
		Checks: []Check{{Name: "state", Fn: func() error { return healthy }}}}
	srv := httptest.NewServer(New(src))
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
		{"/api/v1/macs", 200, []string{`"mac": "02:00:00:00:00:01"`}},
		{"/api/v1/arp", 200, []string{`"ip": "10.0.0.1"`, `"mac": "02:00:00:00:00:01"`}},
		{"/api/v1/flows?host=h1", 200, []string{`"app": "learning"`, `"generation": 7`, `"actions": "output:2,goto_table:1"`, `"stale": true`, `"cookie": "0x1234"`}},
		{"/api/v1/flows?dpid=" + topo.DPIDFor("h1").String(), 200, []string{`"host": "h1"`}},
		{"/api/v1/flows", 400, []string{`"error": "missing query parameter host=NAME`}},
		{"/api/v1/flows?host=nope", 404, []string{`unknown host \"nope\" (configured: h1, h2)`}},
		{"/api/v1/flows?host=h2", 503, []string{`is not connected`}},
		{"/api/v1/flows?dpid=zz", 400, []string{`datapath ID \"zz\"`}},
		{"/api/v1/flows?dpid=12zz", 400, []string{`datapath ID \"12zz\"`}},
		{"/api/v1/flows?host=h1&dpid=1", 400, []string{`not both`}},
		{"/api/v1/macs?x=1", 400, []string{`unknown query parameter \"x\"`}},
		{"/api/v1/nothing", 404, []string{`no API endpoint GET /api/v1/nothing`}},
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
