package portsec

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestBindingsFollowDeclarations: the declared bindings table holds
// exactly the addresses in force, with their port and source.
func TestBindingsFollowDeclarations(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, testConfig(), nil, nil)
	if got := bindings(f.bindings); got != "10.0.1.1=52:54:00:00:01:01@h1/g1(config)" {
		t.Errorf("at start: %s", got)
	}
	f.publish("h2", iface("h2", "g1", 1, map[string]string{topo.AttachedMACKey: macB.String(), topo.IPsKey: "10.0.2.1,10.0.1.1"}))
	if got := bindings(f.bindings); got != "10.0.1.1=52:54:00:00:01:01@h1/g1(config) 10.0.2.1=52:54:00:00:02:01@h2/g1(ovsdb)" {
		t.Errorf("after OVSDB (10.0.1.1 stays the file's): %s", got)
	}
	if _, _, err := f.a.AddPort(ctx, PortDecl{Host: "h3", Port: "g2", MAC: macD.String(), IPs: []netip.Addr{ip("10.0.2.1")}}); err != nil {
		t.Fatal(err)
	}
	if got := bindings(f.bindings); got != "10.0.1.1=52:54:00:00:01:01@h1/g1(config) 10.0.2.1=52:54:00:00:03:01@h3/g2(api)" {
		t.Errorf("after the API took 10.0.2.1: %s", got)
	}
	st := f.a.Status(ctx)
	if len(st.Ports) != 3 || !strings.Contains(strings.Join(st.Ports[1].Problems, ";"), "10.0.1.1 is held by h1/g1 (config)") {
		t.Errorf("status %+v", st.Ports)
	}
}

// TestRestartEnforcesBeforeOVSDB: a new app on the same state (a
// restarted controller) installs the ports the API and OVSDB declared
// at once, before OVSDB is read; once it is, OVSDB's word replaces the
// saved one.
func TestRestartEnforcesBeforeOVSDB(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, DefaultConfig(), nil, nil)
	f.publish("h2", iface("h2", "g1", 1, map[string]string{topo.AttachedMACKey: macB.String(), topo.IPsKey: "10.0.2.1"}))
	if _, _, err := f.a.AddPort(ctx, PortDecl{Host: "h3", Port: "g1", MAC: macD.String()}); err != nil {
		t.Fatal(err)
	}
	g := newFixture(t, DefaultConfig(), f.records, f.bindings)
	h2 := strings.Join(g.recs["h2"].Take(), "\n")
	h3 := strings.Join(g.recs["h3"].Take(), "\n")
	if !strings.Contains(h2, "priority=300,ip,in_port=1,dl_src=52:54:00:00:02:01,nw_src=10.0.2.1 actions=goto_table:10") ||
		!strings.Contains(h3, "priority=100,in_port=1,dl_src=52:54:00:00:03:01 actions=goto_table:10") {
		t.Errorf("after restart, before OVSDB answers:\nh2:\n%s\nh3:\n%s", h2, h3)
	}
	g.publish("h2") // h2's OVSDB now declares nothing
	if got := strings.Join(g.recs["h2"].Take(), "\n"); !strings.Contains(got, "delete_strict table=4,priority=300,ip,in_port=1") {
		t.Errorf("h2's OVSDB declaration went, its flows stayed:\n%s", got)
	}
	if st := g.a.Status(ctx); len(st.Ports) != 1 || st.Ports[0].Source != "api" {
		t.Errorf("status after OVSDB answered: %+v", st.Ports)
	}
}

// TestRunFollowsOVSDB: with Run going, a host's published interfaces
// reach the switch without anyone else calling the app.
func TestRunFollowsOVSDB(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFixture(t, DefaultConfig(), nil, nil)
	f.mesh.SetInterfaces("h2", []topo.Iface{iface("h2", "g2", 2, map[string]string{topo.AttachedMACKey: macC.String()})})
	go f.a.Run(ctx) // picks up what was published before it watched
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(strings.Join(got, "\n"), "in_port=2,dl_src=52:54:00:00:02:02 actions=goto_table:10") {
		if time.Now().After(deadline) {
			t.Fatalf("h2 never got g2's flows: %s", got)
		}
		time.Sleep(5 * time.Millisecond)
		got = append(got, f.recs["h2"].Take()...)
	}
	f.mesh.SetInterfaces("h2", nil)
	got = nil
	for !strings.Contains(strings.Join(got, "\n"), "delete_strict table=4,priority=100,in_port=2") {
		if time.Now().After(deadline) {
			t.Fatalf("g2's flows never went: %s", got)
		}
		time.Sleep(5 * time.Millisecond)
		got = append(got, f.recs["h2"].Take()...)
	}
}

// TestAPI drives the routes: good changes, every kind of bad input
// answered with the status and a message naming what was wrong, and the
// counters by reason from the switches' flow stats.
func TestAPI(t *testing.T) {
	f := newFixture(t, testConfig(), nil, nil)
	f.publish("h2", iface("h2", "g1", 1, map[string]string{topo.AttachedMACKey: macB.String(), topo.IPsKey: "10.0.2.1"}),
		iface("h2", "g2", 2, map[string]string{topo.AttachedMACKey: "garbage"}))
	h, err := api.New(api.Sources{Routes: f.a.Routes()})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.RemoteAddr = "127.0.0.1:5555"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/api/v1/portsec/ports", `{"host":"h3","port":"g1","mac":"52:54:00:00:03:01","ips":["10.0.3.1"]}`, 201, `"port": "g1"`},
		{"POST", "/api/v1/portsec/ports", `{"host":"h3","port":"g1","mac":"52:54:00:00:03:01","ips":["10.0.3.1","10.0.3.2"]}`, 200, `"10.0.3.2"`},
		{"POST", "/api/v1/portsec/ports", `{"host":"h3","port":"g2","mac":"52:54:00:00:03:02","ips":["10.0.3.2"]}`, 409, "10.0.3.2 is declared on h3/g1 (api)"},
		{"POST", "/api/v1/portsec/ports", `{"host":"h3","port":"g2","mac":"52:54:00:00:03:02","ips":["10.0.1.1"]}`, 409, "10.0.1.1 is declared on h1/g1 (config)"},
		{"POST", "/api/v1/portsec/ports", `{"host":"h1","port":"g1","mac":"52:54:00:00:03:02"}`, 409, "h1/g1 is declared in the configuration file"},
		{"POST", "/api/v1/portsec/ports", `{"host":"h9","port":"g1","mac":"52:54:00:00:03:02"}`, 400, `host: \"h9\" is not a configured host`},
		{"POST", "/api/v1/portsec/ports", `{"host":"h3","port":"om-h1","mac":"52:54:00:00:03:02"}`, 400, "port: interface name"},
		{"POST", "/api/v1/portsec/ports", `{"host":"h3","port":"g2","mac":"01:00:5e:00:00:01"}`, 400, "mac: 01:00:5e:00:00:01 is not a unicast MAC"},
		{"POST", "/api/v1/portsec/ports", `{"host":"h3","port":"g2","mac":"x"}`, 400, `mac: \"x\" is not a MAC address`},
		{"POST", "/api/v1/portsec/ports", `{"host":"h3","port":"g2","mac":"52:54:00:00:03:02","ips":["224.0.0.1"]}`, 400, "ips[0]: 224.0.0.1 is not a unicast IPv4 address"},
		{"POST", "/api/v1/portsec/ports", `{"host":"h3","port":"g2","mac":"52:54:00:00:03:02","ips":["10.0.3.9","10.0.3.9"]}`, 400, "ips[1]: 10.0.3.9 is also ips[0]"},
		{"POST", "/api/v1/portsec/ports", `{"host":"h3","port":"g2","mac":"52:54:00:00:03:02","vlan":3}`, 400, `unknown field \"vlan\"`},
		{"POST", "/api/v1/portsec/ports", `{"host":"h2","port":"g1","mac":"52:54:00:00:02:01","ips":["10.0.2.7"]}`, 201, `"10.0.2.7"`}, // over OVSDB's
		{"DELETE", "/api/v1/portsec/ports?host=h1&port=g1", "", 409, "h1/g1 is declared by config, not through the API"},
		{"DELETE", "/api/v1/portsec/ports?host=h3&port=g9", "", 404, "no port h3/g9 declared through the API"},
		{"DELETE", "/api/v1/portsec/ports?host=h3", "", 400, "host and port are required"},
		{"DELETE", "/api/v1/portsec/ports?host=h3&port=g1", "", 200, `"10.0.3.2"`},
		{"DELETE", "/api/v1/portsec/ports?host=h2&port=g1", "", 200, `"10.0.2.7"`},
		{"DELETE", "/api/v1/portsec/ports?host=h2&port=g1", "", 409, "h2/g1 is declared by ovsdb, not through the API"},
	} {
		code, body := do(tc.method, tc.path, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %s: %d %s, want %d and %q", tc.method, tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
	// Counters come from the switches' flow stats, by cookie object.
	id := f.a.res.ports[key{"h1", "g1"}].id
	f.recs["h1"].SetStats([]flows.FlowStats{
		{Table: TablePortSecurity, Cookie: flows.NewCookie(7, ID, objectOf(kindMAC, id)), Packets: 3},
		{Table: TablePortSecurity, Cookie: flows.NewCookie(7, ID, objectOf(kindARP, id)), Packets: 2},
		{Table: TablePortSecurity, Cookie: flows.NewCookie(7, ID, objectOf(kindAllow, id)), Packets: 40},
		{Table: TablePortSecurity, Cookie: flows.NewCookie(7, ID, objectOf(kindPass, 0)), Packets: 1000},
	})
	f.recs["h3"].SetStats([]flows.FlowStats{{Table: TablePortSecurity, Cookie: flows.NewCookie(7, ID, objectOf(kindClaim, id)), Packets: 5}})
	_, body := do("GET", "/api/v1/portsec", "")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	p := st.Ports[0]
	if p.Host != "h1" || p.OFPort != 1 || p.Mode != "mac+ip" || p.Packets["mac"] != 3 || p.Packets["arp"] != 2 || p.Packets["claim"] != 5 ||
		p.Packets["allowed"] != 40 || st.Packets["mac"] != 3 || st.Packets["claim"] != 5 {
		t.Errorf("status %s", body)
	}
	if len(st.Ignored) != 1 || st.Ignored[0].Port != "g2" || !strings.Contains(st.Ignored[0].Problems[0], `"garbage" is not a MAC address`) {
		t.Errorf("ignored %+v", st.Ignored)
	}
	req := httptest.NewRequest("POST", "/api/v1/portsec/ports", strings.NewReader(`{}`))
	req.RemoteAddr = "198.18.0.9:5555"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Errorf("a change from a non-loopback address without a token: %d, want 403", w.Code)
	}
}

// FuzzRecord feeds any bytes to the state record decoder: it fails with
// an error or returns a record that encodes and decodes back the same.
func FuzzRecord(f *testing.F) {
	api := PortDecl{Host: "h1", Port: "vnet0", MAC: "52:54:00:00:00:01", IPs: []netip.Addr{ip("10.0.0.1")}}
	f.Add([]byte("api/h1/vnet0"), recordCodec.Encode(record{API: &api}))
	f.Add([]byte("ovsdb/h1"), recordCodec.Encode(record{Host: "h1", OVSDB: []PortDecl{api}}))
	f.Add([]byte("x"), []byte{1, '{', '}'})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		r, err := recordCodec.Decode(k, v)
		if err != nil {
			return
		}
		back, err := recordCodec.Decode(k, recordCodec.Encode(r))
		if err != nil || string(recordCodec.Encode(back)) != string(recordCodec.Encode(r)) {
			t.Errorf("record %+v does not round-trip: %v", r, err)
		}
	})
}
