// Package portsec is the port security app: a port whose guest is
// declared (its MAC, and optionally its IPv4 addresses) may send only
// as that guest, checked in the datapath in the port_security stage
// (table 4), in front of everything that learns or forwards, and
// counted by reason.
//
// A port is declared by the hypervisor in the port's own OVSDB
// Interface row (external_ids:attached-mac, which libvirt and OpenStack
// write, and ovsmesh's external_ids:ovsmesh-ips, comma-separated IPv4
// addresses), in the configuration file (apps.portsec.ports) or through
// the API (POST /api/v1/portsec/ports, persisted in the state bucket
// "portsec"). The file wins over the API, the API over OVSDB; an address
// declared on two ports is held by one (the higher source, then the
// port that already held it, then the first by name) and refused on
// the other.
//
// From a declared port:
//   - a frame whose source MAC is not the declared one is dropped (mac);
//   - ARP whose sender MAC is not the declared MAC, or, when addresses
//     are declared, whose sender IP is not one of them, is dropped (arp);
//     an ARP probe (RFC 5227 §2.1.1: sender IP 0.0.0.0, a request) with
//     the declared MAC as sender passes;
//   - with addresses declared, IPv4 from any other address is dropped
//     (ip), except DHCP discovery (UDP 0.0.0.0:68 to
//     255.255.255.255:67, RFC 2131 §4.1), and every other EtherType,
//     IPv6 included, is dropped (other): the mesh's addressing is IPv4,
//     and an EtherType the checks do not read (IPv6, a second VLAN tag,
//     MPLS) would carry any address past them, as OVN does for a port
//     whose port_security lists IPv4 addresses only;
//   - with only a MAC declared, every other frame from the MAC passes:
//     nothing is claimed about its addresses.
//
// Declared bindings are authoritative. On every mesh host, a frame
// from any other guest port whose source is a declared MAC, and ARP
// claiming a declared address, are dropped (claim); tunnels and
// app-owned ports pass first. The addresses in force are written to
// topo's declared bindings table (bucket "portsec_bindings"), which
// proxy ARP treats as static bindings: answered everywhere, never
// learned over, never aged. Undeclared ports keep the learning and
// proxy ARP apps' rules.
//
// Every flow's cookie object is the flow's kind (top byte) and its
// port's id (low 24 bits), so GET /api/v1/portsec adds up each port's
// drops by reason from flow stats, and a change to one port rewrites
// only that port's flows (apps.FlowSet).
package portsec
