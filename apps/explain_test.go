package apps

import (
	"net"
	"net/netip"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
)

// TestFirstMatch checks MatchesPacket and FirstMatch: the highest
// priority matching flow wins, fields an explanation cannot know make
// the answer unknown only when such a flow would be tried first.
func TestFirstMatch(t *testing.T) {
	macA, _ := net.ParseMAC("02:00:00:00:00:01")
	ipA := netip.MustParseAddr("10.0.0.1")
	pkt := Packet{InPort: 3, EthSrc: macA, EthType: flows.EthTypeIPv4, IPSrc: ipA, IPDst: netip.MustParseAddr("10.0.0.2"),
		IPProto: flows.IPProtoTCP, SrcPort: 1000, DstPort: 80}
	fromTunnel := pkt
	fromTunnel.From = "h2"
	v4 := flows.Match{EthType: flows.EthTypeIPv4}
	web := v4
	web.IPProto, web.TPDst, web.IPv4Src = flows.IPProtoTCP, 80, netip.MustParsePrefix("10.0.0.0/24")
	ssh := web
	ssh.TPDst = 22
	tunnel := flows.Match{Metadata: flows.MetaFromTunnel, MetadataMask: flows.MetaFromTunnel}
	ct := v4
	ct.CTState, ct.CTStateMask = flows.CTMatch(flows.CTNew|flows.CTTrk, 0)
	fl := func(prio uint16, m flows.Match, obj uint32) flows.Flow {
		return flows.Flow{Table: 4, Priority: prio, Match: m, Cookie: flows.Cookie(obj)}
	}
	tests := []struct {
		name         string
		fs           []flows.Flow
		pkt          Packet
		obj          uint32
		found, known bool
	}{
		{"highest priority wins", []flows.Flow{fl(10, v4, 1), fl(100, web, 2), fl(200, ssh, 3)}, pkt, 2, true, true},
		{"none matches", []flows.Flow{fl(100, ssh, 3), {Table: 5, Match: v4}}, pkt, 0, false, true},
		{"in_port", []flows.Flow{fl(100, flows.Match{InPort: 4}, 1), fl(50, flows.Match{InPort: 3}, 2)}, pkt, 2, true, true},
		{"from-tunnel bit", []flows.Flow{fl(100, tunnel, 1), fl(50, v4, 2)}, pkt, 2, true, true},
		{"from-tunnel bit set", []flows.Flow{fl(100, tunnel, 1), fl(50, v4, 2)}, fromTunnel, 1, true, true},
		{"conntrack state first: unknown", []flows.Flow{fl(100, ct, 1), fl(50, v4, 2)}, pkt, 0, false, false},
		{"conntrack state after a match", []flows.Flow{fl(10, ct, 1), fl(50, v4, 2)}, pkt, 2, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, found, known := FirstMatch(tc.fs, 4, tc.pkt)
			if found != tc.found || known != tc.known || found && f.Cookie.Object() != tc.obj {
				t.Errorf("FirstMatch: flow %d, found %v, known %v; want %d, %v, %v", f.Cookie.Object(), found, known, tc.obj, tc.found, tc.known)
			}
		})
	}
}
