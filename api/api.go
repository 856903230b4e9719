package api

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ovsmesh/ovsmesh/api/ui"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Switches lists connected switches and fetches their flows;
// *controller.Controller satisfies it.
type Switches interface {
	// Switches returns the connected switches ordered by DPID.
	Switches() []controller.SwitchInfo
	// FlowStats fetches every flow of switch dpid; it wraps
	// controller.ErrNoSwitch when dpid is not connected.
	FlowStats(ctx context.Context, dpid flows.DPID) ([]flows.FlowStats, error)
}

// Check is one readiness condition of GET /healthz.
type Check struct {
	// Name names the condition in the response ("state", "openflow").
	Name string
	// Fn returns nil while the condition holds.
	Fn func() error
}

// Route is an endpoint an app mounts, under /api/v1/<app>/ for new apps.
type Route struct {
	// Method is GET for read endpoints.
	Method string
	// Path is the URL path, such as "/api/v1/arp".
	Path string
	// Query lists the query parameters a GET accepts; others are
	// refused with 400.
	Query []string
	// Handler answers; it writes JSON with WriteJSON or WriteError.
	Handler http.HandlerFunc
}

// Sources are what the API reads.
type Sources struct {
	Mesh     *topo.Mesh
	Switches Switches
	// AppName names a cookie's app byte ("learning", "baseline",
	// "none"); TableName names a table's stage. Nil renders numbers.
	AppName   func(flows.AppID) string
	TableName func(flows.TableID) string
	// Routes are the apps' own endpoints.
	Routes []Route
	// Token returns the bearer token mutating requests (any method but
	// GET and HEAD) must carry unless they come over loopback; "" (or a
	// nil Token) refuses them from anywhere else.
	Token func() string
	// Reload, if set, serves POST /api/v1/reload: it re-reads the
	// configuration file, applies what changes live, and returns a JSON
	// report; an error (a file that fails validation) answers 400 and
	// changes nothing.
	Reload func(ctx context.Context) (any, error)
	// Generation is the running cookie generation, to mark flows of
	// other generations as stale.
	Generation uint16
	// Checks must all pass for /healthz to answer 200.
	Checks []Check
	// Registry serves /metrics.
	Registry *prometheus.Registry
	// FlowTimeout bounds a live flow dump; default 5 s.
	FlowTimeout time.Duration
	// Topology, if set, serves GET /api/v1/topology and the topology
	// page at / (assets under /ui/).
	Topology *TopologyServer
}

// New returns the API handler. Every /api/v1 answer is JSON; errors are
// {"error": "..."} with a 4xx status for bad requests and 5xx when a
// switch cannot be asked. It fails when a route is not under /api/v1/,
// has no handler, or is mounted twice.
func New(src Sources) (http.Handler, error) {
	if src.FlowTimeout <= 0 {
		src.FlowTimeout = 5 * time.Second
	}
	if src.AppName == nil {
		src.AppName = func(id flows.AppID) string { return fmt.Sprintf("app%d", id) }
	}
	if src.TableName == nil {
		src.TableName = flows.TableID.String
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { healthz(w, src) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(src.Registry, promhttp.HandlerOpts{}))
	core := []Route{
		{Method: "POST", Path: "/api/v1/reload", Handler: func(w http.ResponseWriter, r *http.Request) {
			if src.Reload == nil {
				WriteError(w, http.StatusNotImplemented, errors.New("this controller cannot reload"))
				return
			}
			rep, err := src.Reload(r.Context())
			if err != nil {
				WriteError(w, http.StatusBadRequest, fmt.Errorf("reload refused, the running configuration is kept: %w", err))
				return
			}
			WriteJSON(w, http.StatusOK, rep)
		}},
		{Method: "GET", Path: "/api/v1/switches", Handler: func(w http.ResponseWriter, _ *http.Request) { WriteJSON(w, http.StatusOK, switches(src)) }},
		{Method: "GET", Path: "/api/v1/hosts", Handler: func(w http.ResponseWriter, _ *http.Request) { WriteJSON(w, http.StatusOK, hosts(src)) }},
		{Method: "GET", Path: "/api/v1/flows", Query: []string{"host", "dpid"}, Handler: func(w http.ResponseWriter, r *http.Request) { flowsHandler(w, r, src) }},
	}
	if src.Topology != nil {
		core = append(core, Route{Method: "GET", Path: "/api/v1/topology", Handler: src.Topology.ServeHTTP})
		mux.Handle("GET /{$}", ui.Handler())
		mux.Handle("GET /ui/", ui.Handler())
	}
	seen := map[string]bool{}
	var paths []string
	for _, rt := range append(core, src.Routes...) {
		pattern := rt.Method + " " + rt.Path
		switch {
		case !strings.HasPrefix(rt.Path, "/api/v1/"):
			return nil, fmt.Errorf("api route %s: not under /api/v1/", pattern)
		case rt.Handler == nil:
			return nil, fmt.Errorf("api route %s: no handler", pattern)
		case seen[pattern]:
			return nil, fmt.Errorf("api route %s is mounted twice", pattern)
		}
		seen[pattern] = true
		paths = append(paths, strings.TrimPrefix(rt.Path, "/api/v1/"))
		h := only(rt.Query, rt.Handler)
		if rt.Method != http.MethodGet && rt.Method != http.MethodHead {
			h = authorized(src.Token, h)
		}
		mux.HandleFunc(pattern, h)
	}
	sort.Strings(paths)
	list := strings.Join(paths, ", ")
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, fmt.Errorf("no API endpoint %s %s (see /api/v1/: %s)", r.Method, r.URL.Path, list))
	})
	return mux, nil
}

// authorized refuses a mutating request unless it comes over loopback or
// carries "Authorization: Bearer TOKEN" with the configured token
// (compared in constant time): 401 without credentials, 403 with wrong
// ones.
func authorized(token func() string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
				h(w, r)
				return
			}
		}
		want := ""
		if token != nil {
			want = token()
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case want == "":
			WriteError(w, http.StatusForbidden, errors.New("changes are accepted over loopback only (set api.token_file to allow bearer tokens)"))
		case !ok:
			w.Header().Set("WWW-Authenticate", `Bearer realm="ovsmesh"`)
			WriteError(w, http.StatusUnauthorized, errors.New("changes from a non-loopback address need an Authorization: Bearer token (api.token_file)"))
		case subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1:
			WriteError(w, http.StatusForbidden, errors.New("wrong bearer token"))
		default:
			h(w, r)
		}
	}
}

// Error is the body of every error answer.
type Error struct {
	Error string `json:"error"`
}

// only refuses query parameters other than allowed with 400.
func only(allowed []string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k := range r.URL.Query() {
			found := false
			for _, a := range allowed {
				found = found || k == a
			}
			if !found {
				WriteError(w, http.StatusBadRequest, fmt.Errorf("unknown query parameter %q (allowed: %s)", k, orNone(strings.Join(allowed, ", "))))
				return
			}
		}
		h(w, r)
	}
}

// Health is the body of GET /healthz.
type Health struct {
	// Status is "ok" or "unhealthy".
	Status string `json:"status"`
	// Failed maps each failing check to its error.
	Failed map[string]string `json:"failed,omitempty"`
}

func healthz(w http.ResponseWriter, src Sources) {
	h := Health{Status: "ok"}
	for _, c := range src.Checks {
		if err := c.Fn(); err != nil {
			if h.Failed == nil {
				h.Failed = map[string]string{}
			}
			h.Failed[c.Name] = err.Error()
		}
	}
	if h.Failed != nil {
		h.Status = "unhealthy"
		WriteJSON(w, http.StatusServiceUnavailable, h)
		return
	}
	WriteJSON(w, http.StatusOK, h)
}

// Switch is one row of GET /api/v1/switches.
type Switch struct {
	DPID   string    `json:"dpid"`
	Host   string    `json:"host"`
	Remote string    `json:"remote"`
	Since  time.Time `json:"since"`
	Ports  []Port    `json:"ports"`
}

// Port is a switch port.
type Port struct {
	OFPort flows.OFPort `json:"ofport"`
	Name   string       `json:"name"`
	Up     bool         `json:"up"`
}

func switches(src Sources) []Switch {
	out := []Switch{}
	for _, s := range src.Switches.Switches() {
		row := Switch{DPID: s.DPID.String(), Remote: s.Remote, Since: s.Since, Ports: []Port{}}
		if h, ok := src.Mesh.HostByDPID(s.DPID); ok {
			row.Host = h.Name
		}
		for _, p := range s.Ports {
			row.Ports = append(row.Ports, Port{OFPort: p.No, Name: p.Name, Up: p.Up()})
		}
		out = append(out, row)
	}
	return out
}

// Host is one row of GET /api/v1/hosts.
type Host struct {
	Name           string `json:"name"`
	DPID           string `json:"dpid"`
	OVSDB          string `json:"ovsdb"`
	TunnelIP       string `json:"tunnel_ip"`
	OVSDBConnected bool   `json:"ovsdb_connected"`
	OVSDBError     string `json:"ovsdb_error,omitempty"`
	OpenFlowUp     bool   `json:"openflow_connected"`
	// Meters summarises the switch's packet-in meters, "" for none.
	Meters string `json:"meters,omitempty"`
	// Tunnels maps peer host name to the OFPort of the tunnel towards it.
	Tunnels map[string]int32 `json:"tunnels"`
}

func hosts(src Sources) []Host {
	up := map[flows.DPID]bool{}
	meters := map[flows.DPID]string{}
	for _, s := range src.Switches.Switches() {
		up[s.DPID] = true
		meters[s.DPID] = s.Meters
	}
	out := []Host{}
	all := src.Mesh.Hosts()
	for _, h := range all {
		st := src.Mesh.OVSDBState(h.Name)
		row := Host{Name: h.Name, DPID: h.DPID().String(), OVSDB: h.OVSDB, TunnelIP: h.TunnelIP.String(),
			OVSDBConnected: st.Connected, OVSDBError: st.LastError, OpenFlowUp: up[h.DPID()], Meters: meters[h.DPID()], Tunnels: map[string]int32{}}
		for _, p := range all {
			if port, ok := src.Mesh.TunnelOFPort(h.Name, p.Name); ok {
				row.Tunnels[p.Name] = port
			}
		}
		out = append(out, row)
	}
	return out
}

// Flow is one row of GET /api/v1/flows: a flow of the switch, fetched
// live, with its cookie decoded.
type Flow struct {
	Table uint8 `json:"table"`
	// Stage names the table's stage ("classify", "l2").
	Stage    string `json:"stage"`
	Priority uint16 `json:"priority"`
	// Cookie is the raw cookie in hex; App, Generation and Object are
	// its fields. App is "" for flows ovsmesh does not own.
	Cookie     string `json:"cookie"`
	App        string `json:"app"`
	Generation uint16 `json:"generation"`
	Object     uint32 `json:"object"`
	// Stale is true for an ovsmesh flow of another generation than the
	// running one.
	Stale bool `json:"stale"`
	// IdleTimeout and HardTimeout are in seconds.
	IdleTimeout uint16 `json:"idle_timeout"`
	HardTimeout uint16 `json:"hard_timeout"`
	Packets     uint64 `json:"packets"`
	Bytes       uint64 `json:"bytes"`
	// Match is in ovs-ofctl syntax ("" matches everything).
	Match string `json:"match"`
	// Actions renders the instructions in ovs-ofctl-like text, best
	// effort; Instructions holds them raw, in hex.
	Actions      string `json:"actions"`
	Instructions string `json:"instructions"`
}

// Flows is the body of GET /api/v1/flows.
type Flows struct {
	Host string `json:"host"`
	DPID string `json:"dpid"`
	// Generation is the running cookie generation.
	Generation uint16 `json:"generation"`
	Flows      []Flow `json:"flows"`
}

func flowsHandler(w http.ResponseWriter, r *http.Request, src Sources) {
	name, dpidText := r.URL.Query().Get("host"), r.URL.Query().Get("dpid")
	var dpid flows.DPID
	switch {
	case name != "" && dpidText != "":
		WriteError(w, http.StatusBadRequest, errors.New("give host or dpid, not both"))
		return
	case name != "":
		var found bool
		for _, h := range src.Mesh.Hosts() {
			if h.Name == name {
				dpid, found = h.DPID(), true
			}
		}
		if !found {
			var names []string
			for _, h := range src.Mesh.Hosts() {
				names = append(names, h.Name)
			}
			WriteError(w, http.StatusNotFound, fmt.Errorf("unknown host %q (configured: %s)", name, orNone(strings.Join(names, ", "))))
			return
		}
	case dpidText != "":
		var err error
		if dpid, err = flows.ParseDPID(dpidText); err != nil {
			WriteError(w, http.StatusBadRequest, fmt.Errorf("dpid %q: want 1 to 16 hex digits", dpidText))
			return
		}
	default:
		WriteError(w, http.StatusBadRequest, errors.New("missing query parameter host=NAME (or dpid=HEX)"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), src.FlowTimeout)
	defer cancel()
	fs, err := src.Switches.FlowStats(ctx, dpid)
	if errors.Is(err, controller.ErrNoSwitch) {
		WriteError(w, http.StatusServiceUnavailable, fmt.Errorf("switch %s is not connected", dpid.String()))
		return
	}
	if err != nil {
		WriteError(w, http.StatusBadGateway, err)
		return
	}
	out := Flows{Host: name, DPID: dpid.String(), Generation: src.Generation, Flows: []Flow{}}
	if h, ok := src.Mesh.HostByDPID(dpid); ok {
		out.Host = h.Name
	}
	for _, f := range fs {
		row := Flow{Table: uint8(f.Table), Stage: src.TableName(f.Table), Priority: f.Priority, Cookie: f.Cookie.String(), Generation: f.Cookie.Generation(),
			Object: f.Cookie.Object(), IdleTimeout: f.IdleTimeout, HardTimeout: f.HardTimeout, Packets: f.Packets, Bytes: f.Bytes,
			Match: f.Match.String(), Actions: flows.FormatInstructions(f.Instructions), Instructions: hex.EncodeToString(f.Instructions)}
		if f.Cookie.Owned() {
			row.App = src.AppName(f.Cookie.App())
			row.Stale = f.Cookie.Generation() != src.Generation
		}
		out.Flows = append(out.Flows, row)
	}
	sort.SliceStable(out.Flows, func(i, j int) bool {
		a, b := out.Flows[i], out.Flows[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		return a.Priority > b.Priority
	})
	WriteJSON(w, http.StatusOK, out)
}

// WriteError answers status with {"error": err}.
func WriteError(w http.ResponseWriter, status int, err error) {
	WriteJSON(w, status, Error{Error: err.Error()})
}

// WriteJSON answers status with v as indented JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// orNone returns s, or "none" when s is empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
