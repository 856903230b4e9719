package nat

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestRestartKeepsRulesAndNextHop checks a new app on the same state
// (a controller restart) brings back the forwards added through the API
// and sends traffic out at once with the persisted next hop MAC.
func TestRestartKeepsRulesAndNextHop(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	reply := arpFrame(t, nhMAC, extMAC, layers.ARPReply, ip("198.18.200.254"), ip("198.18.200.1"))
	must(t, f.a.PacketIn(ctx, f.recs["h3"], &flows.PacketIn{Table: TableExternal, InPort: 5, Data: reply}))
	_, err := f.a.AddForward(ctx, Forward{Proto: "tcp", Port: 2222, To: "10.0.1.1:22"})
	must(t, err)

	g := newFixture(t, f.rules)
	out := g.recs["h3"].Take()
	want := []string{
		"ct_state=+new+trk,tcp,nw_dst=198.18.200.1,tp_dst=2222 actions=ct(commit,table=24,zone=101,nat(dst=10.0.1.1:22))",
		"table=26, priority=50,ip actions=set_field:02:ee:00:00:00:01->eth_src,set_field:02:ee:00:00:00:fe->eth_dst,dec_ttl,output:5",
	}
	for _, w := range want {
		if !containsLine(out, w) {
			t.Errorf("after restart, h3 got no flow with %q:\n%s", w, strings.Join(out, "\n"))
		}
	}
	st := g.a.Status(ctx)
	if len(st.Forwards) != 2 || st.Forwards[0].Source != "api" || st.Forwards[1].Source != "config" || st.NextHop.MAC != nhMAC.String() {
		t.Errorf("status after restart: %+v", st)
	}
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// TestConfigWinsOverStateOnRestart: a forward added through the API
// whose key the file now holds is dropped at start, with the file's.
func TestConfigWinsOverStateOnRestart(t *testing.T) {
	rules := topo.NewTable(recordCodec)
	rules.Put(record{Key: "forward/tcp/8080", Forward: &Forward{Proto: "tcp", Port: 8080, To: "10.0.1.1:8080"}})
	rules.Put(record{Key: "forward/tcp/9", Forward: &Forward{Proto: "tcp", Port: 9, To: "192.168.0.1:9"}}) // outside inside now
	f := newFixture(t, rules)
	st := f.a.Status(context.Background())
	if len(st.Forwards) != 1 || st.Forwards[0].To != "10.0.2.1:80" || rules.Len() != 0 {
		t.Errorf("forwards %+v, state holds %d records; want the file's only, state emptied", st.Forwards, rules.Len())
	}
}

// TestReload changes forwards and inside live and reports the rest.
func TestReload(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.take()
	next := testConfig(t)
	next.Forwards = []Forward{{Proto: "tcp", Port: 8443, To: "10.0.2.1:443"}}
	next.Gateway, next.Zone = "h1", 7
	restart, err := f.a.Reload(ctx, &next)
	must(t, err)
	if strings.Join(restart, ",") != "gateway,zone" {
		t.Errorf("restart = %v, want gateway and zone", restart)
	}
	got := f.recs["h3"].Take()
	if len(got) != 2 || !strings.HasPrefix(got[0], "delete_strict") || !strings.Contains(got[0], "tp_dst=8080") ||
		!strings.Contains(got[1], "tp_dst=8443") {
		t.Errorf("reload sent %q, want the old forward deleted and the new one added, on the same gateway", got)
	}
}

// TestPacketInsFromAnyoneElseAreIgnored checks malformed or misdirected
// packet-ins change nothing.
func TestPacketInsFromAnyoneElseAreIgnored(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.take()
	notNextHop := arpFrame(t, mac("02:66:66:66:66:66"), extMAC, layers.ARPReply, ip("198.18.200.7"), ip("198.18.200.1"))
	unasked := arpFrame(t, mac("02:66:66:66:66:66"), routerHW, layers.ARPReply, ip("10.0.3.3"), ip("10.255.255.254"))
	outside := arpFrame(t, mac("02:66:66:66:66:66"), routerHW, layers.ARPReply, ip("192.168.1.1"), ip("10.255.255.254"))
	mcast := arpFrame(t, mac("01:00:5e:00:00:01"), extMAC, layers.ARPReply, ip("198.18.200.254"), ip("198.18.200.1"))
	router := ipv4Frame(t, ip("198.18.201.1"), ip("10.255.255.254"))
	for name, pi := range map[string]*flows.PacketIn{
		"garbage":                        {Table: TableExternal, Data: []byte{1, 2, 3}},
		"ARP from another outside host":  {Table: TableExternal, Data: notNextHop},
		"next hop with a multicast MAC":  {Table: TableExternal, Data: mcast},
		"an answer nobody asked for":     {Table: TableNAT, Data: unasked},
		"an answer from outside inside":  {Table: TableNAT, Data: outside},
		"a packet for the router itself": {Table: TableDeliver, Data: router},
		"a table that is not NAT's":      {Table: 40, Data: router},
	} {
		must(t, f.a.PacketIn(ctx, f.recs["h3"], pi))
		if got := f.take(); got != "" {
			t.Errorf("%s: sent\n%s", name, got)
		}
	}
	if st := f.a.Status(ctx); st.NextHop.MAC != "" {
		t.Errorf("next hop resolved to %s by someone else", st.NextHop.MAC)
	}
}

// FuzzPacketIn feeds any frame to every NAT table: the app never panics.
func FuzzPacketIn(f *testing.F) {
	f.Add([]byte{}, uint8(TableExternal))
	f.Add(make([]byte, 60), uint8(TableDeliver))
	fx := newFixture(&testing.T{}, nil)
	f.Fuzz(func(t *testing.T, data []byte, table uint8) {
		fx.a.PacketIn(context.Background(), fx.recs["h3"], &flows.PacketIn{Table: flows.TableID(table), Data: data})
		fx.take()
	})
}

// TestAPI drives the routes: good changes, every kind of bad input
// answered with the status and a message naming what was wrong.
func TestAPI(t *testing.T) {
	f := newFixture(t, nil)
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
		{"POST", "/api/v1/nat/forwards", `{"proto":"tcp","port":2222,"to":"10.0.1.1:22"}`, 201, `"to": "10.0.1.1:22"`},
		{"POST", "/api/v1/nat/forwards", `{"proto":"tcp","port":2222,"to":"10.0.1.2:22"}`, 409, "tcp/2222 already forwards to 10.0.1.1:22 (api)"},
		{"POST", "/api/v1/nat/forwards", `{"proto":"tcp","port":0,"to":"10.0.1.1:22"}`, 400, "port: 0: want 1 to 65535"},
		{"POST", "/api/v1/nat/forwards", `{"proto":"gre","port":1,"to":"10.0.1.1:22"}`, 400, `proto: \"gre\" is not tcp or udp`},
		{"POST", "/api/v1/nat/forwards", `{"proto":"tcp","port":1,"to":"172.16.0.1:22"}`, 400, "to: 172.16.0.1 is outside nat.inside"},
		{"POST", "/api/v1/nat/forwards", `{"proto":"tcp","port":1,"to":"10.0.1.1:22","via":"x"}`, 400, `unknown field \"via\"`},
		{"POST", "/api/v1/nat/forwards", `{"proto":"tcp"`, 400, "request body"},
		{"DELETE", "/api/v1/nat/forwards?proto=tcp&port=8080", "", 409, "in the configuration file"},
		{"DELETE", "/api/v1/nat/forwards?proto=tcp&port=1", "", 404, "no forward tcp/1"},
		{"DELETE", "/api/v1/nat/forwards?proto=tcp&port=x", "", 400, "want a port number"},
		{"DELETE", "/api/v1/nat/forwards?proto=tcp&port=2222", "", 200, `"port": 2222`},
		{"POST", "/api/v1/nat/redirects", `{"proto":"tcp","ip":"10.0.2.1","port":80,"to_port":80}`, 400, "to_port: 80 is port itself"},
		{"POST", "/api/v1/nat/redirects", `{"proto":"udp","ip":"10.0.2.1","port":53,"to_port":5353}`, 201, `"to_port": 5353`},
		{"DELETE", "/api/v1/nat/redirects?proto=udp&ip=10.0.2.x&port=53", "", 400, "is not an IPv4 address"},
		{"DELETE", "/api/v1/nat/redirects?proto=udp&ip=10.0.2.1&port=53", "", 200, `"to_port": 5353`},
		{"GET", "/api/v1/nat", "", 200, `"gateway": "h3"`},
	} {
		code, body := do(tc.method, tc.path, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %s: %d %s, want %d and %q", tc.method, tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
	// Counters come from the switches' flow stats.
	f.recs["h3"].SetStats([]flows.FlowStats{{Table: TableDNAT, Cookie: flows.NewCookie(7, ID, forwardRule{Proto: 6, Port: 8080}.object()), Packets: 3, Bytes: 180}})
	_, body := do("GET", "/api/v1/nat", "")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Forwards) != 1 || st.Forwards[0].Packets != 3 || st.Forwards[0].Bytes != 180 || !st.External.Up {
		t.Errorf("status %+v", st)
	}
	req := httptest.NewRequest("POST", "/api/v1/nat/forwards", strings.NewReader(`{}`))
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
	f.Add([]byte(nextHopKey), recordCodec.Encode(record{NextHop: &nextHop{IP: ip("198.18.200.254"), MAC: "02:00:00:00:00:01"}}))
	f.Add([]byte("forward/tcp/1"), recordCodec.Encode(record{Forward: &Forward{Proto: "tcp", Port: 1, To: "10.0.0.1:1"}}))
	f.Add([]byte("x"), []byte{1, '{', '}'})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		r, err := recordCodec.Decode(k, v)
		if err != nil {
			return
		}
		back, err := recordCodec.Decode(k, recordCodec.Encode(r))
		if err != nil || recordCodec.Encode(back) == nil || string(recordCodec.Encode(back)) != string(recordCodec.Encode(r)) {
			t.Errorf("record %+v does not round-trip: %v", r, err)
		}
	})
}
