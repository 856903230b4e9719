package config

import "github.com/ovsmesh/ovsmesh/topo"

// TopoHosts returns the configured hosts as topo values, in file order.
func (c Config) TopoHosts() []topo.Host {
	out := make([]topo.Host, len(c.Hosts))
	for i, h := range c.Hosts {
		out[i] = topo.Host{Name: h.Name, OVSDB: h.OVSDB, TunnelIP: h.TunnelIP,
			TLS: topo.HostTLS{Cert: h.TLS.Cert, Key: h.TLS.Key, CA: h.TLS.CA}}
	}
	return out
}
