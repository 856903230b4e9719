package portsec

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/ovsmesh/ovsmesh/topo"
)

// source is where a declaration comes from; a higher source wins.
type source uint8

// Sources, lowest first.
const (
	// srcOVSDB: the interface's own Interface row (external_ids).
	srcOVSDB source = iota + 1
	// srcAPI: POST /api/v1/portsec/ports.
	srcAPI
	// srcConfig: apps.portsec.ports in the file.
	srcConfig
)

// String names the source as the API shows it.
func (s source) String() string {
	switch s {
	case srcOVSDB:
		return "ovsdb"
	case srcAPI:
		return "api"
	case srcConfig:
		return "config"
	}
	return "unknown"
}

// key names a port: its host and interface name.
type key struct{ Host, Port string }

// String renders "host/port".
func (k key) String() string { return k.Host + "/" + k.Port }

// compare orders keys by host, then port.
func (k key) compare(o key) int {
	if c := strings.Compare(k.Host, o.Host); c != 0 {
		return c
	}
	return strings.Compare(k.Port, o.Port)
}

// decl is one declaration of a port: what its guest is, and who says
// so.
type decl struct {
	Host, Port string
	MAC        net.HardwareAddr
	// IPs are the declared addresses, in the declared order; none
	// declares the MAC only.
	IPs    []netip.Addr
	Source source
}

func (d decl) key() key { return key{d.Host, d.Port} }

// PortDecl is a declared port as the API takes and shows it, and as the
// state file keeps it.
type PortDecl struct {
	// Host is a configured host; Port the interface name on its mesh
	// bridge (its OpenFlow port name).
	Host string `json:"host"`
	Port string `json:"port"`
	// MAC is the guest's MAC, like "52:54:00:12:34:56".
	MAC string `json:"mac"`
	// IPs are its IPv4 addresses; none declares the MAC only.
	IPs []netip.Addr `json:"ips,omitempty"`
}

// decl parses and checks p as a declaration from src; a bad field is a
// *fieldError.
func (p PortDecl) decl(src source) (decl, error) {
	d := decl{Host: p.Host, Port: p.Port, IPs: p.IPs, Source: src}
	if p.MAC != "" {
		mac, err := net.ParseMAC(p.MAC)
		if err != nil || len(mac) != 6 {
			return decl{}, &fieldError{"mac", fmt.Sprintf("%q is not a MAC address like 52:54:00:12:34:56", p.MAC)}
		}
		d.MAC = mac
	}
	if fe := check(d); fe != nil {
		return decl{}, fe
	}
	return d, nil
}

// portDecl renders d for the API and the state file.
func (d decl) portDecl() PortDecl {
	return PortDecl{Host: d.Host, Port: d.Port, MAC: d.MAC.String(), IPs: d.IPs}
}

// ifaceDecl is the declaration an OVSDB Interface row makes, if any.
func ifaceDecl(i topo.Iface) (decl, bool) {
	if !i.Declares() {
		return decl{}, false
	}
	return decl{Host: i.Host, Port: i.Name, MAC: i.MAC, IPs: i.IPs, Source: srcOVSDB}, true
}

// record is one entry of the app's state bucket "portsec": a port
// declared through the API (key "api/HOST/PORT"), or what a host's
// OVSDB declared when last read (key "ovsdb/HOST"), so that a restarted
// controller enforces it before OVSDB answers.
type record struct {
	Key   string     `json:"-"`
	API   *PortDecl  `json:"api,omitempty"`
	OVSDB []PortDecl `json:"ovsdb,omitempty"`
	// Host is the host of an OVSDB record (its declarations may be
	// none).
	Host string `json:"host,omitempty"`
}

func apiKey(k key) string         { return "api/" + k.String() }
func ovsdbKey(host string) string { return "ovsdb/" + host }

// recordCodec persists records as a version byte and JSON.
var recordCodec = topo.Codec[string, record]{
	KeyOf:    func(r record) string { return r.Key },
	KeyBytes: func(k string) []byte { return []byte(k) },
	Encode:   func(r record) []byte { return topo.EncodeJSON(r) },
	Decode: func(k, v []byte) (record, error) {
		var r record
		if err := topo.DecodeJSON(v, "port security record", &r); err != nil {
			return record{}, err
		}
		r.Key = string(k)
		switch {
		case r.API != nil && r.Host == "" && r.OVSDB == nil && r.Key == apiKey(key{r.API.Host, r.API.Port}):
		case r.API == nil && r.Host != "" && r.Key == ovsdbKey(r.Host):
		default:
			return record{}, fmt.Errorf("port security record %q holds neither one API port under its key nor one host's OVSDB ports", k)
		}
		return r, nil
	},
}

// RecordTable is the app's state bucket.
type RecordTable = topo.Table[string, record]

// openRecords opens bucket "portsec" of s.
func openRecords(s *topo.State) (*RecordTable, error) {
	return topo.Open(s, "portsec", recordCodec, topo.TableOptions{})
}
