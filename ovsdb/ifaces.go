package ovsdb

import (
	"strings"

	"github.com/ovsmesh/ovsmesh/topo"
)

// InterfacePublisher is a Publisher that also takes, after each
// reconcile pass, the interfaces on a host's mesh bridge whose
// Interface rows carry port-security keys in external_ids
// (topo.AttachedMACKey, topo.IPsKey, topo.PortSecurityKey); *topo.Mesh
// is one. The Manager checks for it with a type assertion.
type InterfacePublisher interface {
	// SetInterfaces replaces host's declaring interfaces with list.
	SetInterfaces(host string, list []topo.Iface)
}

// publishInterfaces reads the declaring interfaces of the mesh bridge
// in s and hands them to the publisher, if it takes them. Values that
// do not parse are ignored (topo.ParseIface) and logged at warn once
// per interface and problem set.
func (w *worker) publishInterfaces(s *snapshot) {
	pub, ok := w.m.opts.Publisher.(InterfacePublisher)
	if !ok {
		return
	}
	list := declaringInterfaces(s, w.host.Name, w.m.opts.Mesh.Bridge)
	if w.ifaceWarned == nil {
		w.ifaceWarned = map[string]string{}
	}
	seen := make(map[string]bool, len(list))
	for _, i := range list {
		seen[i.Name] = true
		probs := strings.Join(i.Problems, "; ")
		if probs != "" && w.ifaceWarned[i.Name] != probs {
			w.log.Warn("interface external_ids ignored for port security", "interface", i.Name, "problems", probs)
		}
		w.ifaceWarned[i.Name] = probs
	}
	for name := range w.ifaceWarned {
		if !seen[name] {
			delete(w.ifaceWarned, name)
		}
	}
	pub.SetInterfaces(w.host.Name, list)
}

// declaringInterfaces returns the interfaces of bridge's ports in s
// whose external_ids hold a port-security key, decoded. Ports ovsmesh
// owns (tunnels, app ports) are skipped: nothing sits behind them.
func declaringInterfaces(s *snapshot, host, bridge string) []topo.Iface {
	br, ok := s.bridges[bridge]
	if !ok {
		return nil
	}
	var out []topo.Iface
	for _, pid := range br.Ports {
		p, ok := s.ports[pid]
		if !ok || owned(p.ExternalIDs) {
			continue
		}
		for _, iid := range p.Interfaces {
			i, ok := s.ifaces[iid]
			if !ok || !declaring(i.ExternalIDs) {
				continue
			}
			var ofport int32
			if i.Ofport != nil {
				ofport = int32(*i.Ofport)
			}
			out = append(out, topo.ParseIface(host, i.Name, ofport, i.ExternalIDs))
		}
	}
	return out
}

// declaring reports whether ids holds any port-security key.
func declaring(ids map[string]string) bool {
	for _, k := range []string{topo.AttachedMACKey, topo.IPsKey, topo.PortSecurityKey} {
		if _, ok := ids[k]; ok {
			return true
		}
	}
	return false
}
