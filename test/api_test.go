//go:build integration

package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/lab"
	"github.com/ovsmesh/ovsmesh/topo"
)

// cli runs `ovsmesh ARGS...` and returns its combined output.
func (e *env) cli(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, e.bin, args...).CombinedOutput()
	return string(out), err
}

// testAPIAndCLI checks every API endpoint against the lab, its error
// answers, and the CLI's tables, JSON and messages.
func testAPIAndCLI(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr := strings.TrimPrefix(e.api, "http://")
	gen := e.current().generation(t)

	var flowsResp struct {
		Host       string `json:"host"`
		Generation int    `json:"generation"`
		Flows      []struct {
			Table      int    `json:"table"`
			Cookie     string `json:"cookie"`
			App        string `json:"app"`
			Generation int    `json:"generation"`
			Stale      bool   `json:"stale"`
			Actions    string `json:"actions"`
		} `json:"flows"`
	}
	if err := e.getJSON("/api/v1/flows?host=h1", &flowsResp); err != nil {
		t.Fatal(err)
	}
	ofctl, err := e.flowsOf(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if len(flowsResp.Flows) != len(ofctl) || flowsResp.Generation != gen {
		t.Errorf("/api/v1/flows?host=h1: %d flows, generation %d; ovs-ofctl dump-flows shows %d, the controller logged generation %d",
			len(flowsResp.Flows), flowsResp.Generation, len(ofctl), gen)
	}
	apps := map[string]int{}
	for _, f := range flowsResp.Flows {
		apps[f.App]++
		if f.App != "" && (f.Generation != gen || f.Stale) {
			t.Errorf("flow %+v: want generation %d, not stale", f, gen)
		}
		if f.Actions == "" {
			t.Errorf("flow %+v has no rendered actions", f)
		}
	}
	if apps["learning"] == 0 {
		t.Errorf("no flow decoded as app learning: %v", apps)
	}
	t.Logf("/api/v1/flows?host=h1: %d flows by app %v", len(flowsResp.Flows), apps)

	// Error answers: JSON naming what was wrong.
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/api/v1/flows", 400, "missing query parameter host"},
		{"/api/v1/flows?host=nosuch", 404, `unknown host \"nosuch\"`},
		{"/api/v1/flows?dpid=xyz", 400, `dpid \"xyz\"`},
		{"/api/v1/hosts?bogus=1", 400, `unknown query parameter \"bogus\"`},
		{"/api/v1/nothing", 404, "no API endpoint"},
	} {
		resp, err := http.Get(e.api + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var js map[string]any
		if resp.StatusCode != tc.status || json.Unmarshal(body, &js) != nil || !strings.Contains(string(body), tc.want) {
			t.Errorf("GET %s: %d %s; want %d and a JSON error containing %s", tc.path, resp.StatusCode, body, tc.status, tc.want)
		}
	}
	var health struct {
		Status string `json:"status"`
	}
	if err := e.getJSON("/healthz", &health); err != nil || health.Status != "ok" {
		t.Errorf("/healthz = %+v, %v", health, err)
	}

	// The CLI: aligned tables with the lab's rows, JSON, and messages.
	for _, tc := range []struct {
		args []string
		want []*regexp.Regexp
	}{
		{[]string{"hosts"}, []*regexp.Regexp{regexp.MustCompile(`(?m)^NAME +DPID +TUNNEL-IP +OVSDB +OPENFLOW +TUNNELS`),
			regexp.MustCompile(`(?m)^h1 +0a55[0-9a-f]{12} +198\.18\.\S+ +up +up +h2:\d+`)}},
		{[]string{"macs"}, []*regexp.Regexp{regexp.MustCompile(`(?m)^MAC +HOST +DPID +OFPORT +MOVES +AGE`),
			regexp.MustCompile(`(?m)^([0-9a-f]{2}:){5}[0-9a-f]{2} +h[12] +0a55`)}},
		{[]string{"macs", "--host", "h2"}, []*regexp.Regexp{regexp.MustCompile(`(?m)^([0-9a-f:]{17}) +h2 `)}},
		{[]string{"arp"}, []*regexp.Regexp{regexp.MustCompile(`(?m)^IP +MAC +HOST +OFPORT +KIND +SEEN`)}},
		{[]string{"flows", "--host", "h1"}, []*regexp.Regexp{regexp.MustCompile(`running generation ` + fmt.Sprint(gen)),
			regexp.MustCompile(`(?m)^TABLE +PRIORITY +APP +GENERATION +PACKETS +MATCH +ACTIONS`),
			regexp.MustCompile(`(?m)^\d+ +\d+ +learning +` + fmt.Sprint(gen) + ` `)}},
	} {
		out, err := e.cli(ctx, append(tc.args, "--api", addr)...)
		if err != nil {
			t.Errorf("ovsmesh %v: %v\n%s", tc.args, err, out)
			continue
		}
		for _, re := range tc.want {
			if !re.MatchString(out) {
				t.Errorf("ovsmesh %v output lacks %s:\n%s", tc.args, re, out)
			}
		}
	}
	out, err := e.cli(ctx, "hosts", "--api", addr, "-o", "json")
	var rows []apiHost
	if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != len(e.hostNames()) {
		t.Errorf("ovsmesh hosts -o json: %v, %d rows:\n%s", err, len(rows), out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"macs", "--api", "127.0.0.1:9"}, "controller API at 127.0.0.1:9 is not reachable"},
		{[]string{"flows", "--api", addr}, "flows needs --host NAME"},
		{[]string{"flows", "--host", "nosuch", "--api", addr}, `unknown host "nosuch"`},
		{[]string{"hosts", "--api", addr, "-o", "yaml"}, `want table or json`},
	} {
		out, err := e.cli(ctx, tc.args...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("ovsmesh %v: err %v, output %q; want a failure saying %q", tc.args, err, out, tc.want)
		}
	}
}

// testMetrics scrapes /metrics and checks the metric names and
// that no series carries a MAC or IP label.
func testMetrics(t *testing.T, e *env) {
	// An OVSDB repair first, so ovsmesh_ovsdb_repairs_total has a series.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.lab.VSCtl(ctx, "h1", "del-port", lab.MeshBridge, topo.TunnelPortName("h2")); err != nil {
		t.Fatal(err)
	}
	e.waitMesh(t, meshDeadline, []string{"h1"}, e.hostNames())
	poll(t, 10*time.Second, "ovsmesh_ovsdb_repairs_total to count the repair", func() (bool, string) {
		var body string
		if err := e.getJSON("/metrics", &body); err != nil {
			return false, err.Error()
		}
		return regexp.MustCompile(`(?m)^ovsmesh_ovsdb_repairs_total\{host="h1"\} [1-9]`).MatchString(body), grepLines(body, "ovsmesh_ovsdb_repairs")
	})
	var body string
	if err := e.getJSON("/metrics", &body); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"ovsmesh_switch_connections_total", "ovsmesh_switch_disconnects_total", "ovsmesh_switches_connected",
		"ovsmesh_packet_ins_dropped_total", "ovsmesh_messages_sent_total",
		"ovsmesh_mac_table_entries", "ovsmesh_arp_bindings",
		"ovsmesh_learning_mac_moves_total", "ovsmesh_learning_mac_moves_damped_total",
		"ovsmesh_ovsdb_connected", "ovsmesh_ovsdb_repairs_total",
		"ovsmesh_packet_in_handling_seconds_bucket", "ovsmesh_state_write_seconds_bucket", "ovsmesh_state_commits_total",
		"ovsmesh_proxyarp_controller_answers_total",
	} {
		if !regexp.MustCompile(`(?m)^` + name + `[{ ]`).MatchString(body) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if !regexp.MustCompile(`(?m)^ovsmesh_messages_sent_total\{type="` + flows.FlowMod{}.MsgType().String() + `"\} [1-9]`).MatchString(body) {
		t.Errorf("/metrics counts no flow-mods:\n%s", grepLines(body, "ovsmesh_messages_sent_total"))
	}
	if m := regexp.MustCompile(`(?m)^ovsmesh_\w+\{[^}]*\b(mac|ip|ipv4|eth_src|eth_dst)="`).FindString(body); m != "" {
		t.Errorf("a series carries a MAC or IP label: %s", m)
	}
}

// testPacketInMetrics checks, while the first controller runs (the
// restarted one sees no packet-ins: its tables come from disk), that
// packet-ins are counted by dpid, app and reason.
func testPacketInMetrics(t *testing.T, e *env) {
	var body string
	if err := e.getJSON("/metrics", &body); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^ovsmesh_packet_ins_total\{app="learning",dpid="0a55[0-9a-f]{12}",reason="(no_match|action)"\} [1-9]`).MatchString(body) {
		t.Errorf("/metrics has no ovsmesh_packet_ins_total series with app=learning, a dpid and a reason:\n%s", grepLines(body, "ovsmesh_packet_ins_total"))
	}
}

func grepLines(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
