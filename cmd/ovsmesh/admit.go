package main

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// admission is the controller's identity policy until TLS binds
// switches to hosts: a configured host's datapath ID is accepted only
// from the host's own addresses (hosts[].openflow_from, else the IP of
// its tcp: OVSDB address, else, for a unix: OVSDB, this machine's own
// addresses). Switches that are no configured host are accepted from
// anywhere (a standalone learning switch). It reads the host list from
// the mesh, and openflow_from from the last setHosts, so a SIGHUP reload
// updates both.
type admission struct {
	mesh  *topo.Mesh
	from  atomic.Pointer[map[string][]netip.Addr] // host name -> openflow_from
	local []netip.Addr                            // this machine's addresses
}

// newAdmission returns the policy for hosts, looked up in mesh.
func newAdmission(mesh *topo.Mesh, hosts []config.Host) *admission {
	a := &admission{mesh: mesh, local: localAddrs()}
	a.setHosts(hosts)
	return a
}

// setHosts takes the openflow_from lists of a (re)loaded host list.
func (a *admission) setHosts(hosts []config.Host) {
	m := make(map[string][]netip.Addr, len(hosts))
	for _, h := range hosts {
		if len(h.OpenFlowFrom) > 0 {
			m[h.Name] = slices.Clone(h.OpenFlowFrom)
		}
	}
	a.from.Store(&m)
}

// Admit implements controller.Options.Admit.
func (a *admission) Admit(dpid flows.DPID, remote netip.Addr) error {
	h, ok := a.mesh.HostByDPID(dpid)
	if !ok {
		return nil
	}
	allowed := a.allowed(h)
	if slices.Contains(allowed, remote.Unmap()) {
		return nil
	}
	return fmt.Errorf("datapath ID %s is host %s's, accepted only from %s, not from %s", dpid, h.Name, addrList(allowed), remote)
}

// allowed lists the addresses host h's switch may connect from.
func (a *admission) allowed(h topo.Host) []netip.Addr {
	if from := (*a.from.Load())[h.Name]; len(from) > 0 {
		return from
	}
	if scheme, addr, err := config.ParseEndpoint(h.OVSDB); err == nil && scheme != config.SchemeUnix { // tcp: or ssl:
		if host, _, err := net.SplitHostPort(addr); err == nil {
			if ip, err := netip.ParseAddr(host); err == nil {
				return []netip.Addr{ip.Unmap()}
			}
		}
	}
	return a.local
}

// localAddrs returns this machine's addresses (loopback included), for
// hosts whose OVSDB is a unix socket: their switch runs here.
func localAddrs() []netip.Addr {
	out := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

func addrList(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
