package trace

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// end is SRC or DST resolved: its addresses and, when the MAC table
// knows it, its place.
type end struct {
	Endpoint
	mac    net.HardwareAddr
	ip     netip.Addr
	dpid   flows.DPID
	port   flows.OFPort
	placed bool
}

// ErrResolve is wrapped by errors that say SRC or DST cannot be used:
// the API answers them with 400.
var ErrResolve = fmt.Errorf("cannot resolve")

// resolve looks spec up: an IPv4 address (ARP table, then MAC table), a
// MAC (MAC table, then ARP table for its IP), or HOST:PORT (the MAC
// learned behind that port of that host; PORT is a number or an
// interface name). what names the endpoint in errors ("SRC").
func (a *App) resolve(what, spec string) (end, error) {
	e := end{Endpoint: Endpoint{Given: spec}}
	fail := func(format string, args ...any) (end, error) {
		return e, fmt.Errorf("%w %s %q: %s", ErrResolve, what, spec, fmt.Sprintf(format, args...))
	}
	if ip, err := netip.ParseAddr(spec); err == nil {
		if !ip.Is4() {
			return fail("only IPv4 guests can be traced")
		}
		e.ip = ip
		if b, ok := a.arpGet(ip); ok {
			e.mac = b.MAC
		}
	} else if mac, err := net.ParseMAC(spec); err == nil && len(mac) == 6 {
		e.mac = mac
		e.ip = a.ipOf(mac)
	} else if i := strings.LastIndexByte(spec, ':'); i > 0 && i < len(spec)-1 {
		dpid, port, err := a.port(spec[:i], spec[i+1:])
		if err != nil {
			return fail("%v", err)
		}
		entries := a.macSelect(func(m topo.MACEntry) bool { return m.DPID == dpid && m.OFPort == port })
		if len(entries) == 0 {
			return fail("no MAC is learned behind port %d of %s (see ovsmesh macs)", port, spec[:i])
		}
		sort.Slice(entries, func(i, j int) bool { return bytes.Compare(entries[i].MAC, entries[j].MAC) < 0 })
		e.mac = entries[0].MAC
		e.ip = a.ipOf(e.mac)
	} else {
		return fail("want a guest's IPv4 address, MAC, or HOST:PORT")
	}
	if e.mac != nil {
		e.MAC = e.mac.String()
		if m, ok := a.place(e.mac); ok {
			e.dpid, e.port, e.placed = m.DPID, m.OFPort, true
			e.Host, e.DPID, e.OFPort = a.hostName(m.DPID), m.DPID.String(), m.OFPort
			e.PortName = a.portName(m.DPID, m.OFPort)
		}
	}
	if e.ip.IsValid() {
		e.IP = e.ip.String()
	}
	return e, nil
}

// port resolves HOST and PORT: a configured host (or a DPID in hex) and
// a port number or name of its switch.
func (a *App) port(host, port string) (flows.DPID, flows.OFPort, error) {
	var dpid flows.DPID
	found := false
	if a.opts.Mesh != nil {
		for _, h := range a.opts.Mesh.Hosts() {
			if h.Name == host {
				dpid, found = h.DPID(), true
			}
		}
	}
	if !found {
		d, err := flows.ParseDPID(host)
		if err != nil {
			return 0, 0, fmt.Errorf("%s is neither a configured host nor a datapath ID", host)
		}
		dpid = d
	}
	if n, err := strconv.ParseUint(port, 10, 32); err == nil {
		return dpid, flows.OFPort(n), nil
	}
	sw := a.session(dpid)
	if sw == nil {
		return 0, 0, fmt.Errorf("%s is not connected: give the port by number", host)
	}
	for _, p := range sw.Ports() {
		if p.Name == port {
			return dpid, p.No, nil
		}
	}
	return 0, 0, fmt.Errorf("%s has no port named %s", host, port)
}

// place returns where mac was learned: in the mesh's domain, else on any
// standalone switch.
func (a *App) place(mac net.HardwareAddr) (topo.MACEntry, bool) {
	if a.opts.MACs == nil {
		return topo.MACEntry{}, false
	}
	if m, ok := a.opts.MACs.Get(topo.KeyOf(0, mac)); ok {
		return m, true
	}
	all := a.macSelect(func(m topo.MACEntry) bool { return bytes.Equal(m.MAC, mac) })
	if len(all) == 0 {
		return topo.MACEntry{}, false
	}
	return all[0], true
}

func (a *App) macSelect(keep func(topo.MACEntry) bool) []topo.MACEntry {
	if a.opts.MACs == nil {
		return nil
	}
	return a.opts.MACs.Select(keep)
}

func (a *App) arpGet(ip netip.Addr) (topo.ARPBinding, bool) {
	if a.opts.ARP == nil {
		return topo.ARPBinding{}, false
	}
	return a.opts.ARP.Get(ip)
}

// ipOf returns the lowest IPv4 address bound to mac; the zero Addr for
// none.
func (a *App) ipOf(mac net.HardwareAddr) netip.Addr {
	if a.opts.ARP == nil {
		return netip.Addr{}
	}
	var best netip.Addr
	for _, b := range a.opts.ARP.Select(func(b topo.ARPBinding) bool { return bytes.Equal(b.MAC, mac) }) {
		if !best.IsValid() || b.IP.Less(best) {
			best = b.IP
		}
	}
	return best
}

// portName returns the name of port on dpid's switch, "" when unknown.
func (a *App) portName(dpid flows.DPID, port flows.OFPort) string {
	sw := a.session(dpid)
	if sw == nil {
		return ""
	}
	for _, p := range sw.Ports() {
		if p.No == port {
			return p.Name
		}
	}
	return ""
}

// newProbe checks that src and dst can make a probe of req's protocol
// and builds it.
func newProbe(req Request, src, dst end, id uint16) (probe, error) {
	p := probe{proto: req.Proto, srcMAC: src.mac, dstMAC: dst.mac, srcIP: src.ip, dstIP: dst.ip, id: id,
		srcPort: 32768 + id%28000, dstPort: req.Port}
	switch {
	case !src.placed:
		return p, fmt.Errorf("%w SRC %q: the MAC table does not place it (a guest the mesh has learned: see ovsmesh macs)", ErrResolve, src.Given)
	case !src.ip.IsValid():
		return p, fmt.Errorf("%w SRC %q: %s has no IPv4 binding (see ovsmesh arp)", ErrResolve, src.Given, src.mac)
	case !dst.ip.IsValid():
		return p, fmt.Errorf("%w DST %q: no IPv4 address (give an IP, or a MAC with an ARP binding)", ErrResolve, dst.Given)
	case req.Proto != "arp" && dst.mac == nil:
		return p, fmt.Errorf("%w DST %q: %s has no ARP binding, so SRC would ARP for it first: trace that with --proto arp", ErrResolve, dst.Given, dst.ip)
	}
	return p, nil
}
