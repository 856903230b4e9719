package topo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

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
//	static key: name
//	       val: version u8 | spec (the rest)

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

// StaticRule is an operator-provided rule kept in the state file under a
// unique name. Spec is opaque to the store (the app that owns the rule
// parses it).
type StaticRule struct {
	Name string
	Spec string
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
	b = append(b, valueVersion)
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
	if v := r.u8(); r.err == nil && v != valueVersion {
		r.err = fmt.Errorf("value format version %d, this ovsmesh reads version %d", v, valueVersion)
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
	v = append(v, valueVersion)
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
	v := []byte{valueVersion}
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

func encodeStatic(s StaticRule) []byte { return append([]byte{valueVersion}, s.Spec...) }

func decodeStatic(k, v []byte) (StaticRule, error) {
	r := reader{b: v}
	r.version()
	return StaticRule{Name: string(k), Spec: string(r.b)}, r.err
}

// each decodes every value of bucket with dec and hands it to fn. A
// value that does not decode fails the whole load, naming bucket and key.
func each[T any](s *Store, bucket []byte, dec func(k, v []byte) (T, error), fn func(T)) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			x, err := dec(k, v)
			if err != nil {
				return fmt.Errorf("state file %s: %s entry %x: %w", s.path, bucket, k, err)
			}
			fn(x)
			n++
			return nil
		})
	})
	return n, err
}

// LoadMACs puts every stored MAC entry into t and returns how many there
// were. Call it before t gets a change hook, or the entries are written
// back.
func (s *Store) LoadMACs(t *MACTable) (int, error) {
	return each(s, bucketMACs, decodeMAC, t.Put)
}

// LoadARP puts every stored ARP binding into t and returns how many
// there were.
func (s *Store) LoadARP(t *ARPTable) (int, error) {
	return each(s, bucketARP, decodeARP, t.Put)
}

// Hosts returns the stored host records ordered by name.
func (s *Store) Hosts() ([]HostRecord, error) {
	var out []HostRecord
	_, err := each(s, bucketHosts, decodeHost, func(h HostRecord) { out = append(out, h) })
	return out, err
}

// StaticRules returns the stored static rules ordered by name.
func (s *Store) StaticRules() ([]StaticRule, error) {
	var out []StaticRule
	_, err := each(s, bucketStatic, decodeStatic, func(r StaticRule) { out = append(out, r) })
	return out, err
}

// PutStaticRule stores r under r.Name, durably (fsync) before it returns.
func (s *Store) PutStaticRule(r StaticRule) error {
	if r.Name == "" {
		return errors.New("static rule: empty name")
	}
	return s.put(bucketStatic, []byte(r.Name), encodeStatic(r))
}

// DeleteStaticRule removes the rule named name, durably; removing a
// missing rule is not an error.
func (s *Store) DeleteStaticRule(name string) error { return s.put(bucketStatic, []byte(name), nil) }

// PutHost stores h under h.Name, durably (fsync) before it returns.
func (s *Store) PutHost(h HostRecord) error {
	return s.put(bucketHosts, []byte(h.Name), encodeHost(h))
}

// put writes (or with a nil value deletes) one key in one transaction.
func (s *Store) put(bucket, key, val []byte) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if val == nil {
			return tx.Bucket(bucket).Delete(key)
		}
		return tx.Bucket(bucket).Put(key, val)
	})
	if err != nil {
		return fmt.Errorf("state file %s: write %s: %w", s.path, bucket, err)
	}
	return nil
}
