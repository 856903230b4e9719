//go:build linux

package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
)

// apiHost is a row of GET /api/v1/hosts.
type apiHost struct {
	Name           string           `json:"name"`
	OVSDBConnected bool             `json:"ovsdb_connected"`
	OpenFlowUp     bool             `json:"openflow_connected"`
	Tunnels        map[string]int32 `json:"tunnels"`
}

// apiSwitch is a row of GET /api/v1/switches.
type apiSwitch struct {
	Host  string    `json:"host"`
	Ports []apiPort `json:"ports"`
}

// apiPort is a switch port in GET /api/v1/switches.
type apiPort struct {
	Name string `json:"name"`
	Up   bool   `json:"up"`
}

// hasPort reports whether the switch has port name, up.
func (s apiSwitch) hasPort(name string) bool {
	return slices.ContainsFunc(s.Ports, func(p apiPort) bool { return p.Name == name && p.Up })
}

// getJSON fetches e.api+path into v (lab.GetJSON), within 3 s.
func (e *env) getJSON(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return lab.GetJSON(ctx, e.api+path, v)
}

// hostProblems lists, from GET /api/v1/hosts, the hosts whose OVSDB
// session or OpenFlow connection is down or that lack a tunnel to a peer.
func hostProblems(rows []apiHost, n int) (ovsdb, openflow []string) {
	for _, r := range rows {
		if !r.OVSDBConnected {
			ovsdb = append(ovsdb, r.Name+": OVSDB down")
		} else if up := countPositive(r.Tunnels); up < n-1 {
			ovsdb = append(ovsdb, fmt.Sprintf("%s: %d of %d tunnels", r.Name, up, n-1))
		}
		if !r.OpenFlowUp {
			openflow = append(openflow, r.Name+": OpenFlow down")
		}
	}
	if len(rows) < n {
		ovsdb = append(ovsdb, fmt.Sprintf("%d of %d hosts in the API", len(rows), n))
	}
	return ovsdb, openflow
}

func countPositive(m map[string]int32) int {
	n := 0
	for _, v := range m {
		if v > 0 {
			n++
		}
	}
	return n
}

// meshProblems lists what the API does not show yet: hosts, tunnels,
// OpenFlow connections and attached guest ports.
func (e *env) meshProblems() ([]string, error) {
	var rows []apiHost
	if err := e.getJSON("/api/v1/hosts", &rows); err != nil {
		return nil, err
	}
	ovsdb, of := hostProblems(rows, len(e.l.Hosts()))
	probs := append(ovsdb, of...)
	var sws []apiSwitch
	if err := e.getJSON("/api/v1/switches", &sws); err != nil {
		return nil, err
	}
	for _, g := range e.l.Guests() {
		i := slices.IndexFunc(sws, func(s apiSwitch) bool { return s.Host == g.Host })
		if i < 0 || !sws[i].hasPort(g.Port) {
			probs = append(probs, fmt.Sprintf("%s: port %s not on the switch", g.Host, g.Port))
		}
	}
	return probs, nil
}
