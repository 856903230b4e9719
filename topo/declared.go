package topo

import (
	"fmt"
	"net"
	"net/netip"
)

// DeclaredBinding is an IPv4 address declared for a port (port
// security): the guest behind Host's interface Port owns IP at MAC. A
// declared binding is authoritative: proxy ARP answers it and refuses
// every other claim of IP, and it never ages.
type DeclaredBinding struct {
	// IP is the declared unicast IPv4 address.
	IP netip.Addr
	// MAC is the port's declared MAC.
	MAC net.HardwareAddr
	// Host and Port name the interface (its OpenFlow port name) on the
	// host's mesh bridge.
	Host, Port string
	// Source says who declared it: "config", "api" or "ovsdb".
	Source string
}

// DeclaredTable is the mesh-wide table of declared bindings, keyed by
// IP; the port security app is its only writer, proxy ARP reads it.
type DeclaredTable = Table[netip.Addr, DeclaredBinding]

// NewDeclaredTable returns an empty table of declared bindings, not
// persisted.
func NewDeclaredTable() *DeclaredTable { return NewTable(DeclaredCodec) }

// OpenDeclaredTable returns the declared bindings of s (bucket
// "portsec_bindings"), restored from it on the first call, so a
// restarted controller holds the declarations before OVSDB answers.
func OpenDeclaredTable(s *State) (*DeclaredTable, error) {
	return Open(s, "portsec_bindings", DeclaredCodec, TableOptions{Gauge: "ovsmesh_portsec_bindings",
		Help: "IPv4 addresses declared for ports (port security), each an authoritative ARP binding."})
}

// declaredJSON is the stored form of a DeclaredBinding, after the
// version byte.
type declaredJSON struct {
	MAC    string `json:"mac"`
	Host   string `json:"host"`
	Port   string `json:"port"`
	Source string `json:"source"`
}

// DeclaredCodec persists declared bindings: key the IPv4 address's 4
// bytes, value a version byte and JSON {mac, host, port, source}.
var DeclaredCodec = Codec[netip.Addr, DeclaredBinding]{
	KeyOf:    func(b DeclaredBinding) netip.Addr { return b.IP },
	KeyBytes: func(ip netip.Addr) []byte { return ip.AsSlice() },
	Encode: func(b DeclaredBinding) []byte {
		return EncodeJSON(declaredJSON{MAC: b.MAC.String(), Host: b.Host, Port: b.Port, Source: b.Source})
	},
	Decode: func(k, v []byte) (DeclaredBinding, error) {
		ip, ok := netip.AddrFromSlice(k)
		if !ok || !ip.Is4() {
			return DeclaredBinding{}, fmt.Errorf("key %x is not an IPv4 address", k)
		}
		var j declaredJSON
		if err := DecodeJSON(v, "declared binding", &j); err != nil {
			return DeclaredBinding{}, err
		}
		mac, err := net.ParseMAC(j.MAC)
		if err != nil || !UnicastMAC(mac) {
			return DeclaredBinding{}, fmt.Errorf("declared binding: mac %q is not a unicast MAC", j.MAC)
		}
		return DeclaredBinding{IP: ip, MAC: mac, Host: j.Host, Port: j.Port, Source: j.Source}, nil
	},
}
