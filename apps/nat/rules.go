package nat

import (
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"time"

	"github.com/ovsmesh/ovsmesh/topo"
)

// forwardRule is a checked Forward.
type forwardRule struct {
	Proto uint8
	Port  uint16
	To    netip.AddrPort
}

// redirectRule is a checked Redirect.
type redirectRule struct {
	Proto        uint8
	IP           netip.Addr
	Port, ToPort uint16
}

// protoName is "tcp" or "udp".
func protoName(p uint8) string {
	if p == 17 {
		return "udp"
	}
	return "tcp"
}

// key identifies a forward: its protocol and external port ("tcp/8080").
func (r forwardRule) key() string { return fmt.Sprintf("%s/%d", protoName(r.Proto), r.Port) }

// key identifies a redirect: protocol, IP and port ("tcp/10.77.1.2/80").
func (r redirectRule) key() string { return fmt.Sprintf("%s/%s/%d", protoName(r.Proto), r.IP, r.Port) }

func (r forwardRule) config() Forward {
	return Forward{Proto: protoName(r.Proto), Port: int(r.Port), To: r.To.String()}
}

func (r redirectRule) config() Redirect {
	return Redirect{Proto: protoName(r.Proto), IP: r.IP, Port: int(r.Port), ToPort: int(r.ToPort)}
}

// Cookie objects (the low 32 bits of a flow's cookie) of the app's
// flows: the top byte says what a flow belongs to, so a rule's flows
// are exactly those of its object.
const (
	objFixed    uint32 = 0x00 << 24 // the stage's fixed flows (object = a fixedObj)
	objForward  uint32 = 0x01 << 24 // one forward: a hash of its key
	objRedirect uint32 = 0x02 << 24 // one redirect: a hash of its key
	objDeliver  uint32 = 0x03 << 24 // the deliver flow of one inside IP: its low 24 bits
	objMask     uint32 = 0xff << 24
)

// Fixed objects.
const (
	fixedRouterARP    = objFixed | 1 // router IP's ARP responder and guard
	fixedToGateway    = objFixed | 2 // router MAC to the gateway (other hosts)
	fixedGateway      = objFixed | 3 // the gateway's conntrack pipeline
	fixedExternalARP  = objFixed | 4 // external IP's ARP responder, next hop's ARP
	fixedOutside      = objFixed | 5 // outside packets that match nothing: dropped
	fixedUnforwarded  = objFixed | 6 // new connections to the external IP on no forward
	fixedOut          = objFixed | 7 // out of the external port to the next hop
	fixedInvalid      = objFixed | 8 // conntrack-invalid packets: dropped
	fixedRedirectPass = objFixed | 9 // redirect zone: everything but a new redirected connection goes on
)

// hash24 is the low 24 bits of the FNV-1a hash of s.
func hash24(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32() & 0xffffff
}

func (r forwardRule) object() uint32  { return objForward | hash24(r.key()) }
func (r redirectRule) object() uint32 { return objRedirect | hash24(r.key()) }

func deliverObject(ip netip.Addr) uint32 {
	b := ip.As4()
	return objDeliver | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// record is one entry of the app's state bucket "nat": a rule added
// through the API, or the next hop's last resolved MAC.
type record struct {
	Key      string    `json:"-"`
	Forward  *Forward  `json:"forward,omitempty"`
	Redirect *Redirect `json:"redirect,omitempty"`
	NextHop  *nextHop  `json:"next_hop,omitempty"`
}

// nextHop is the next hop's resolution, kept so a restarted controller
// sends traffic out at once.
type nextHop struct {
	IP       netip.Addr `json:"ip"`
	MAC      string     `json:"mac"`
	Resolved time.Time  `json:"resolved"`
}

func (n nextHop) hw() net.HardwareAddr {
	mac, err := net.ParseMAC(n.MAC)
	if err != nil || len(mac) != 6 {
		return nil
	}
	return mac
}

const nextHopKey = "next_hop"

func forwardKey(r forwardRule) string   { return "forward/" + r.key() }
func redirectKey(r redirectRule) string { return "redirect/" + r.key() }

// recordCodec persists records as a version byte and JSON.
var recordCodec = topo.Codec[string, record]{
	KeyOf:    func(r record) string { return r.Key },
	KeyBytes: func(k string) []byte { return []byte(k) },
	Encode:   func(r record) []byte { return topo.EncodeJSON(r) },
	Decode: func(k, v []byte) (record, error) {
		var r record
		if err := topo.DecodeJSON(v, "NAT record", &r); err != nil {
			return record{}, err
		}
		n := 0
		for _, set := range []bool{r.Forward != nil, r.Redirect != nil, r.NextHop != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return record{}, fmt.Errorf("NAT record holds %d of forward, redirect and next_hop, want 1", n)
		}
		r.Key = string(k)
		return r, nil
	},
}

// RuleTable is the app's state bucket.
type RuleTable = topo.Table[string, record]

// openRules opens bucket "nat" of s.
func openRules(s *topo.State) (*RuleTable, error) {
	return topo.Open(s, "nat", recordCodec, topo.TableOptions{})
}
