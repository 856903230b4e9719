package main

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

func TestAdmission(t *testing.T) {
	hosts := []config.Host{
		{Name: "h1", OVSDB: "tcp:198.19.7.1:6640", TunnelIP: netip.MustParseAddr("198.18.0.1")},
		{Name: "h2", OVSDB: "tcp:198.19.7.2:6640", TunnelIP: netip.MustParseAddr("198.18.0.2"),
			OpenFlowFrom: []netip.Addr{netip.MustParseAddr("198.19.8.2"), netip.MustParseAddr("fd00::2")}},
		{Name: "h3", OVSDB: "unix:/run/h3.sock", TunnelIP: netip.MustParseAddr("198.18.0.3")},
		{Name: "h4", OVSDB: "ssl:198.19.7.4:6640", TunnelIP: netip.MustParseAddr("198.18.0.4")},
	}
	mesh := topo.NewMesh((config.Config{Hosts: hosts}).TopoHosts())
	a := newAdmission(mesh, hosts)
	tests := []struct {
		name    string
		dpid    flows.DPID
		remote  string
		wantErr string
	}{
		{"h1 from its OVSDB address", topo.DPIDFor("h1"), "198.19.7.1", ""},
		{"h1 from IPv4-mapped IPv6", topo.DPIDFor("h1"), "::ffff:198.19.7.1", ""},
		{"h1 from h2's address", topo.DPIDFor("h1"), "198.19.7.2", "datapath ID " + topo.DPIDFor("h1").String() + " is host h1's, accepted only from 198.19.7.1, not from 198.19.7.2"},
		{"h2 from openflow_from", topo.DPIDFor("h2"), "198.19.8.2", ""},
		{"h2 from openflow_from IPv6", topo.DPIDFor("h2"), "fd00::2", ""},
		{"h2 from its OVSDB address, not listed", topo.DPIDFor("h2"), "198.19.7.2", "accepted only from 198.19.8.2, fd00::2"},
		{"h3 (unix OVSDB) from loopback", topo.DPIDFor("h3"), "127.0.0.1", ""},
		{"h3 (unix OVSDB) from elsewhere", topo.DPIDFor("h3"), "203.0.113.9", "is host h3's"},
		{"h4 (ssl OVSDB) from its OVSDB address", topo.DPIDFor("h4"), "198.19.7.4", ""},
		{"h4 (ssl OVSDB) from elsewhere", topo.DPIDFor("h4"), "127.0.0.1", "accepted only from 198.19.7.4"},
		{"unconfigured switch from anywhere", 0x42, "203.0.113.9", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.Admit(tt.dpid, netip.MustParseAddr(tt.remote))
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Admit(%s, %s) = %v, want %q", tt.dpid, tt.remote, err, tt.wantErr)
			}
		})
	}

	// A reload: h1 gains an openflow_from, h2 leaves the mesh.
	hosts[0].OpenFlowFrom = []netip.Addr{netip.MustParseAddr("198.19.9.1")}
	reloaded := []config.Host{hosts[0], hosts[2]}
	mesh.SetHosts((config.Config{Hosts: reloaded}).TopoHosts())
	a.setHosts(reloaded)
	if err := a.Admit(topo.DPIDFor("h1"), netip.MustParseAddr("198.19.9.1")); err != nil {
		t.Errorf("after the reload h1 from its new openflow_from: %v", err)
	}
	if err := a.Admit(topo.DPIDFor("h1"), netip.MustParseAddr("198.19.7.1")); err == nil {
		t.Error("after the reload h1 is still accepted from its OVSDB address")
	}
	if err := a.Admit(topo.DPIDFor("h2"), netip.MustParseAddr("203.0.113.9")); err != nil {
		t.Errorf("after the reload h2 is no configured host, so accepted anywhere: %v", err)
	}
}
