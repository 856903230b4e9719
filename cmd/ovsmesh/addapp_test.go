package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/controller/controllertest"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// The demo app exists only in this test: one folder's worth of
// declarations, as docs/architecture.md's "Adding an app" describes.
const (
	demoID    flows.AppID   = 9
	demoTable flows.TableID = 37 // between nat_router_arp (35) and l2 (40)
)

type demoConfig struct {
	Greeting string `yaml:"greeting"`
	Limit    int    `yaml:"limit"`
}

func (c *demoConfig) Validate() error {
	if c.Limit < 1 || c.Limit > 10 {
		return config.FieldErr("must be between 1 and 10", "limit")
	}
	return nil
}

// demoThing is the demo app's persisted record, keyed by name.
type demoThing struct{ Name, Value string }

var demoCodec = topo.Codec[string, demoThing]{
	KeyOf:    func(d demoThing) string { return d.Name },
	KeyBytes: func(k string) []byte { return []byte(k) },
	Encode:   func(d demoThing) []byte { return append([]byte{topo.ValueVersion}, d.Value...) },
	Decode: func(k, v []byte) (demoThing, error) {
		if len(v) < 1 || v[0] != topo.ValueVersion {
			return demoThing{}, errors.New("bad version")
		}
		return demoThing{Name: string(k), Value: string(v[1:])}, nil
	},
}

type demoApp struct {
	cfg    *demoConfig
	things *topo.Table[string, demoThing]
	next   flows.TableID
	gen    uint16
	seen   prometheus.Counter
}

func (a *demoApp) Name() string { return "demo" }

func (a *demoApp) SwitchUp(ctx context.Context, sw controller.Switch) error {
	return sw.Send(ctx, flows.AddFlow(flows.Flow{Table: demoTable, Priority: 10, Cookie: flows.NewCookie(a.gen, demoID, 1),
		Match: flows.Match{EthType: flows.EthTypeIPv4}, Actions: []flows.Action{flows.ToController}, Goto: a.next}))
}

func (a *demoApp) PacketIn(_ context.Context, _ controller.Switch, pi *flows.PacketIn) error {
	a.seen.Inc()
	a.things.Put(demoThing{Name: "last", Value: string(pi.Data)})
	return nil
}

func (a *demoApp) Routes() []api.Route {
	return []api.Route{{Method: "GET", Path: "/api/v1/demo/things", Handler: func(w http.ResponseWriter, _ *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]any{"greeting": a.cfg.Greeting, "things": a.things.Select(nil)})
	}}}
}

var demoSpec = apps.Spec{
	Name:   "demo",
	ID:     demoID,
	Tables: []apps.Table{{Name: "demo", ID: demoTable}},
	Config: func() any { return &demoConfig{Greeting: "hello", Limit: 3} },
	New: func(env apps.Env) (controller.App, error) {
		things, err := topo.Open(env.State, "demo", demoCodec, topo.TableOptions{Gauge: "ovsmesh_demo_things", Help: "Demo things."})
		if err != nil {
			return nil, err
		}
		seen := prometheus.NewCounter(prometheus.CounterOpts{Name: "ovsmesh_demo_packet_ins_total", Help: "Demo packet-ins."})
		env.Registerer.MustRegister(seen)
		return &demoApp{cfg: env.Config.(*demoConfig), things: things, next: env.Next("demo"), gen: env.Generation, seen: seen}, nil
	},
}

// TestAddingAnApp registers an app that lives only in this test, next to
// the built-in ones, and checks that every part of ovsmesh picks it up
// from its Spec alone: the pipeline, the config file, the state file,
// the controller's routing and metrics, and the API (its own route and
// the cookie decoding of /api/v1/flows).
func TestAddingAnApp(t *testing.T) {
	registry, err := apps.NewRegistry(append(builtins, demoSpec)...)
	if err != nil {
		t.Fatal(err)
	}

	// The pipeline: its stage sits between nat_router_arp and l2; the
	// stage before it now jumps to it as "the next stage".
	p := registry.Pipeline()
	if st, ok := p.Lookup("demo"); !ok || st.Table != demoTable || st.Owner != demoID || !p.GotoAllowed(demoTable, 40) {
		t.Fatalf("demo stage = %+v, %v", st, ok)
	}
	if !p.GotoAllowed(35, demoTable) {
		t.Errorf("nat_router_arp may not goto the demo stage that follows it")
	}
	if got := registry.AppName(demoID); got != "demo" {
		t.Errorf("AppName(9) = %q", got)
	}

	// Config: its section is decoded and validated by its own type, and
	// errors name its fields and lines.
	dir := t.TempDir()
	good := "state: " + filepath.Join(dir, "state.db") + "\nopenflow:\n  listen: ['tcp:" + freeAddr(t) + "']\n" +
		"apps:\n  demo:\n    greeting: hi\n    limit: 5\n"
	for _, bad := range []struct{ doc, want string }{
		{"apps:\n  demo:\n    limit: 11\n", "line 3: apps.demo.limit: must be between 1 and 10"},
		{"apps:\n  demo:\n    limt: 2\n", "line 3: field limt not found in apps.demo (known: greeting, limit)"},
		{"apps:\n  demo:\n    limit: many\n", `line 3: apps.demo.limit: "many" is not an integer`},
		{"apps:\n  demoo: {}\n", "field demoo not found in apps (known: demo, learning, portsec, proxyarp)"},
	} {
		if _, err := config.Parse([]byte(bad.doc), registry.Sections()...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("config %q: error %v, want %q", bad.doc, err, bad.want)
		}
	}
	cfg, err := config.Parse([]byte(good), registry.Sections()...)
	if err != nil {
		t.Fatal(err)
	}

	// The daemon's own assembly, with a switch connected over loopback.
	reg := prometheus.NewRegistry()
	n, err := assemble(cfg, registry, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	if err := n.ctl.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- n.ctl.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	sw := &controllertest.OFSwitch{DPID: 0x42, Ports: []flows.Port{{No: 1, Name: "p1"}}}
	if err := sw.Dial(n.ctl.Addrs()[0].String()); err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	waitFor(t, "the demo app's flow and the baseline to reach the switch", func() bool {
		return sw.FlowMods(demoTable) == 2 && len(n.ctl.Switches()) == 1 // its flow and its table-miss
	})
	// A packet-in of its own flow is routed to it, counted under its
	// name, and its state table persists what it stored.
	if err := sw.PacketIn(demoTable, flows.NewCookie(n.st.gen, demoID, 1), 1, []byte("a frame")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the packet-in to reach the demo app", func() bool {
		return seriesValue(t, reg, "ovsmesh_demo_packet_ins_total", "", "") == 1
	})
	if got := seriesValue(t, reg, "ovsmesh_packet_ins_total", "app", "demo"); got != 1 {
		t.Errorf("ovsmesh_packet_ins_total{app=demo} = %v, want 1", got)
	}
	if got := seriesValue(t, reg, "ovsmesh_demo_things", "", ""); got != 1 {
		t.Errorf("ovsmesh_demo_things = %v, want 1", got)
	}
	if err := n.st.Journal().Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// The API: its route answers, and /api/v1/flows decodes its cookies
	// and stage by name.
	srv := httptest.NewServer(n.api)
	defer srv.Close()
	body := get(t, srv.URL+"/api/v1/demo/things")
	if !strings.Contains(body, `"greeting": "hi"`) || !strings.Contains(body, `"Value": "a frame"`) {
		t.Errorf("/api/v1/demo/things = %s", body)
	}
	sw.SetFlows([]flows.FlowStats{{Table: demoTable, Priority: 10, Cookie: flows.NewCookie(n.st.gen, demoID, 1)}})
	var fl api.Flows
	if err := json.Unmarshal([]byte(get(t, srv.URL+"/api/v1/flows?dpid=42")), &fl); err != nil {
		t.Fatal(err)
	}
	if len(fl.Flows) != 1 || fl.Flows[0].App != "demo" || fl.Flows[0].Stage != "demo" || fl.Flows[0].Stale {
		t.Errorf("/api/v1/flows = %+v, want the demo flow with app and stage demo", fl.Flows)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// seriesValue sums the series of metric name whose label has value
// ("" label: all series).
func seriesValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, l := range m.GetLabel() {
				ok = ok || l.GetName() == label && l.GetValue() == value
			}
			if !ok {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (configuration files cannot say port 0).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
