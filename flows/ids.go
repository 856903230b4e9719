package flows

import (
	"fmt"
	"strconv"
)

// DPID is an OpenFlow datapath ID (OpenFlow 1.3.5 §7.3.1
// ofp_switch_features.datapath_id): the low 48 bits are usually a MAC
// address, the top 16 implementer-defined. ovsmesh pins it per host in
// the bridge's other_config:datapath-id.
type DPID uint64

// String renders the DPID as OVS stores it in other_config:datapath-id
// and as metric labels carry it: 16 lower-case hex digits.
func (d DPID) String() string { return fmt.Sprintf("%016x", uint64(d)) }

// ParseDPID parses 1 to 16 hex digits, with an optional "0x" prefix, as
// a DPID. Anything else (a sign, trailing garbage such as "12zz", more
// than 16 digits) is an error naming the text.
func ParseDPID(s string) (DPID, error) {
	digits := s
	if len(digits) > 2 && (digits[:2] == "0x" || digits[:2] == "0X") {
		digits = digits[2:]
	}
	if len(digits) == 0 || len(digits) > 16 {
		return 0, fmt.Errorf("datapath ID %q: want 1 to 16 hex digits", s)
	}
	for _, r := range digits {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return 0, fmt.Errorf("datapath ID %q: %q is not a hex digit", s, r)
		}
	}
	v, err := strconv.ParseUint(digits, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("datapath ID %q: %w", s, err)
	}
	return DPID(v), nil
}

// OFPort is an OpenFlow port number (OpenFlow 1.3.5 §7.2.1 ofp_port_no):
// 1 to PortMax for real ports, or one of the reserved Port* values.
type OFPort uint32

// String renders the port as ovs-ofctl does: a decimal number, or the
// reserved port's name ("LOCAL", "IN_PORT", "CONTROLLER").
func (p OFPort) String() string { return PortString(p) }
