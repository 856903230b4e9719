package topo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// Value layouts (all integers big-endian, times in Unix nanoseconds, a
// string is a length byte then its bytes):
//
//	macs   key: domain u64 | mac [6]
//	       val: version u8 | dpid u64 | ofport u32 | moves u64 | learned i64 | host str
//	arp    key: ip (4 or 16 bytes)
//	       val: version u8 | mac str | dpid u64 | ofport u32 | static u8 | learned i64 | seen i64 | host str
//	hosts  key: name
//	       val: version u8 | dpid u64 | n u16 | n × (peer str | ofport i32)

// HostRecord is what the state file keeps about a host: its DPID and the
// OFPorts of its tunnels, so the API can show them before OVSDB answers.
type HostRecord struct {
	// Name is the configured host name.
	Name string
	// DPID is the host's pinned datapath ID.
	DPID flows.DPID
	// Tunnels maps peer host name to the OFPort of the tunnel towards it.
	Tunnels map[string]int32
}

func macKey(k MACKey) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 14), uint64(k.Domain)), k.MAC[:]...)
}

func appendStr(b []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	return append(append(b, byte(len(s))), s...)
}

func encodeMAC(e MACEntry) []byte {
	b := make([]byte, 0, 40+len(e.Host))
	b = append(b, ValueVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(e.DPID))
	b = binary.BigEndian.AppendUint32(b, uint32(e.OFPort))
	b = binary.BigEndian.AppendUint64(b, e.Moves)
	b = binary.BigEndian.AppendUint64(b, uint64(unixNano(e.Learned)))
	return appendStr(b, e.Host)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// reader decodes a value, remembering the first error.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("value too short")

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		if r.err == nil {
			r.err = errShort
		}
		return make([]byte, n)
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}
func (r *reader) u8() uint8   { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64 { return binary.BigEndian.Uint64(r.take(8)) }
func (r *reader) str() string { return string(r.take(int(r.u8()))) }

// version checks the leading version byte.
func (r *reader) version() {
	if v := r.u8(); r.err == nil && v != ValueVersion {
		r.err = fmt.Errorf("value format version %d, this ovsmesh reads version %d", v, ValueVersion)
	}
}

func decodeMAC(k, v []byte) (MACEntry, error) {
	if len(k) != 14 {
		return MACEntry{}, fmt.Errorf("key of %d bytes, want 14", len(k))
	}
	r := reader{b: v}
	r.version()
	e := MACEntry{Domain: flows.DPID(binary.BigEndian.Uint64(k)), MAC: net.HardwareAddr(append([]byte(nil), k[8:]...))}
	e.DPID, e.OFPort, e.Moves = flows.DPID(r.u64()), flows.OFPort(r.u32()), r.u64()
	e.Learned = fromUnixNano(int64(r.u64()))
	e.Host = r.str()
	return e, r.err
}

func encodeARP(b ARPBinding) []byte {
	v := make([]byte, 0, 48+len(b.Host))
	v = append(v, ValueVersion)
	v = appendStr(v, string(b.MAC))
	v = binary.BigEndian.AppendUint64(v, uint64(b.DPID))
	v = binary.BigEndian.AppendUint32(v, uint32(b.OFPort))
	static := byte(0)
	if b.Static {
		static = 1
	}
	v = append(v, static)
	v = binary.BigEndian.AppendUint64(v, uint64(unixNano(b.Learned)))
	v = binary.BigEndian.AppendUint64(v, uint64(unixNano(b.Seen)))
	return appendStr(v, b.Host)
}

func decodeARP(k, v []byte) (ARPBinding, error) {
	ip, ok := netip.AddrFromSlice(k)
	if !ok {
		return ARPBinding{}, fmt.Errorf("key of %d bytes is not an IP address", len(k))
	}
	r := reader{b: v}
	r.version()
	b := ARPBinding{IP: ip, MAC: net.HardwareAddr(r.str())}
	b.DPID, b.OFPort = flows.DPID(r.u64()), flows.OFPort(r.u32())
	b.Static = r.u8() == 1
	b.Learned, b.Seen = fromUnixNano(int64(r.u64())), fromUnixNano(int64(r.u64()))
	b.Host = r.str()
	return b, r.err
}

func encodeHost(h HostRecord) []byte {
	peers := make([]string, 0, len(h.Tunnels))
	for p := range h.Tunnels {
		peers = append(peers, p)
	}
	sort.Strings(peers)
	v := []byte{ValueVersion}
	v = binary.BigEndian.AppendUint64(v, uint64(h.DPID))
	v = binary.BigEndian.AppendUint16(v, uint16(len(peers)))
	for _, p := range peers {
		v = appendStr(v, p)
		v = binary.BigEndian.AppendUint32(v, uint32(h.Tunnels[p]))
	}
	return v
}

func decodeHost(k, v []byte) (HostRecord, error) {
	r := reader{b: v}
	r.version()
	h := HostRecord{Name: string(k), DPID: flows.DPID(r.u64()), Tunnels: map[string]int32{}}
	for n := r.u16(); n > 0 && r.err == nil; n-- {
		p := r.str()
		h.Tunnels[p] = int32(r.u32())
	}
	return h, r.err
}

// MACCodec keys MAC entries by (domain, MAC) and persists them in the
// layout above.
var MACCodec = Codec[MACKey, MACEntry]{
	KeyOf:    func(e MACEntry) MACKey { return KeyOf(e.Domain, e.MAC) },
	KeyBytes: macKey,
	Encode:   encodeMAC,
	Decode:   decodeMAC,
}

// ARPCodec keys ARP bindings by IP and persists them in the layout above.
var ARPCodec = Codec[netip.Addr, ARPBinding]{
	KeyOf:    func(b ARPBinding) netip.Addr { return b.IP },
	KeyBytes: func(ip netip.Addr) []byte { return ip.AsSlice() },
	Encode:   encodeARP,
	Decode:   decodeARP,
}

// HostCodec keys host records by name and persists them in the layout
// above.
var HostCodec = Codec[string, HostRecord]{
	KeyOf:    func(h HostRecord) string { return h.Name },
	KeyBytes: func(name string) []byte { return []byte(name) },
	Encode:   encodeHost,
	Decode:   decodeHost,
}

// HostTable holds what the state file keeps per configured host, keyed
// by name; the controller's OVSDB side is its only writer.
type HostTable = Table[string, HostRecord]

// OpenHostTable returns the host records of s (bucket "hosts"), restored
// from it on the first call.
func OpenHostTable(s *State) (*HostTable, error) {
	return Open(s, "hosts", HostCodec, TableOptions{})
}
