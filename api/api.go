package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Switches lists connected switches; *controller.Controller satisfies it.
type Switches interface {
	Switches() []controller.SwitchInfo
}

// Sources are what the API reads.
type Sources struct {
	Mesh     *topo.Mesh
	MACs     *topo.MACTable
	Switches Switches
	// Registry serves /metrics.
	Registry *prometheus.Registry
}

// New returns the API handler.
func New(src Sources) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(src.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /api/v1/macs", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, macs(src)) })
	mux.HandleFunc("GET /api/v1/switches", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, switches(src)) })
	mux.HandleFunc("GET /api/v1/hosts", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, hosts(src)) })
	return mux
}

// MAC is one row of GET /api/v1/macs.
type MAC struct {
	MAC string `json:"mac"`
	// Host is the configured host, "" for a standalone switch.
	Host    string    `json:"host"`
	DPID    string    `json:"dpid"`
	OFPort  uint32    `json:"ofport"`
	Learned time.Time `json:"learned"`
	Moves   uint64    `json:"moves"`
}

func macs(src Sources) []MAC {
	out := []MAC{}
	for _, e := range src.MACs.Select(nil) {
		out = append(out, MAC{MAC: e.MAC.String(), Host: e.Host, DPID: topo.DPIDString(e.DPID), OFPort: e.OFPort, Learned: e.Learned, Moves: e.Moves})
	}
	return out
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
	OFPort uint32 `json:"ofport"`
	Name   string `json:"name"`
	Up     bool   `json:"up"`
}

func switches(src Sources) []Switch {
	out := []Switch{}
	for _, s := range src.Switches.Switches() {
		row := Switch{DPID: topo.DPIDString(s.DPID), Remote: s.Remote, Since: s.Since, Ports: []Port{}}
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
	// Tunnels maps peer host name to the OFPort of the tunnel towards it.
	Tunnels map[string]int32 `json:"tunnels"`
}

func hosts(src Sources) []Host {
	up := map[uint64]bool{}
	for _, s := range src.Switches.Switches() {
		up[s.DPID] = true
	}
	out := []Host{}
	all := src.Mesh.Hosts()
	for _, h := range all {
		st := src.Mesh.OVSDBState(h.Name)
		row := Host{Name: h.Name, DPID: topo.DPIDString(h.DPID()), OVSDB: h.OVSDB, TunnelIP: h.TunnelIP.String(),
			OVSDBConnected: st.Connected, OVSDBError: st.LastError, OpenFlowUp: up[h.DPID()], Tunnels: map[string]int32{}}
		for _, p := range all {
			if port, ok := src.Mesh.TunnelOFPort(h.Name, p.Name); ok {
				row.Tunnels[p.Name] = port
			}
		}
		out = append(out, row)
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
