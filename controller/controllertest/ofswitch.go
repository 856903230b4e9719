package controllertest

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// OFSwitch is a minimal OpenFlow 1.3 switch over TCP, for end-to-end
// tests of an assembled controller without Open vSwitch: it does the
// handshake (HELLO, FEATURES_REPLY, PORT_DESC), answers ECHO and BARRIER,
// answers OFPMP_FLOW with Flows, records the flow-mods it receives and
// sends packet-ins on demand. Everything is encoded here, by hand, as a
// switch would: the controller's own encoder is what is under test.
type OFSwitch struct {
	// DPID is the datapath ID of the FEATURES_REPLY.
	DPID flows.DPID
	// Ports are listed in the PORT_DESC reply (all up).
	Ports []flows.Port
	// TLS, when set, makes Dial connect over TLS with this client
	// configuration (the switch's certificate in Certificates), as
	// ovs-vswitchd does for an ssl: controller target; the handshake
	// completes before Dial returns.
	TLS *tls.Config

	conn net.Conn
	wmu  sync.Mutex
	xid  atomic.Uint32

	mu       sync.Mutex
	flowList []flows.FlowStats
	mods     map[flows.TableID]int // FLOW_MODs received, by table
	closed   chan struct{}
	err      error
}

// Dial connects sw to the controller at addr and runs the handshake in
// the background; it returns once connected. Close ends it.
func (sw *OFSwitch) Dial(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("dial controller %s: %w", addr, err)
	}
	if sw.TLS != nil {
		tc := tls.Client(conn, sw.TLS)
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return fmt.Errorf("tls handshake with controller %s: %w", addr, err)
		}
		tc.SetDeadline(time.Time{})
		conn = tc
	}
	sw.conn, sw.closed = conn, make(chan struct{})
	if err := sw.write(flows.MsgHello, 0, []byte{0, 1, 0, 8, 0, 0, 0, 1 << flows.Version}); err != nil {
		conn.Close()
		return err
	}
	go sw.read()
	return nil
}

// SetFlows sets what the switch lists in OFPMP_FLOW replies.
func (sw *OFSwitch) SetFlows(fs []flows.FlowStats) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.flowList = fs
}

// FlowMods returns how many FLOW_MOD messages the switch has received
// for table (flows.TableAll: in all).
func (sw *OFSwitch) FlowMods(table flows.TableID) int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if table != flows.TableAll {
		return sw.mods[table]
	}
	n := 0
	for _, c := range sw.mods {
		n += c
	}
	return n
}

// PacketIn sends a packet-in of data from inPort, as if the flow with
// cookie in table had sent it (reason OFPR_ACTION).
func (sw *OFSwitch) PacketIn(table flows.TableID, cookie flows.Cookie, inPort flows.OFPort, data []byte) error {
	b := binary.BigEndian.AppendUint32(nil, flows.NoBuffer)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	b = append(b, 1, byte(table))
	b = binary.BigEndian.AppendUint64(b, uint64(cookie))
	// OXM match with in_port: type 1, length 12, OXM_OF_IN_PORT, 4 pad.
	b = append(b, 0, 1, 0, 12, 0x80, 0, 0, 4)
	b = binary.BigEndian.AppendUint32(b, uint32(inPort))
	b = append(b, 0, 0, 0, 0, 0, 0) // match padding and the 2 pad bytes
	return sw.write(flows.MsgPacketIn, sw.xid.Add(1), append(b, data...))
}

// Close closes the connection and returns why reading stopped (nil for
// a close by Close).
func (sw *OFSwitch) Close() error {
	sw.conn.Close()
	<-sw.closed
	if errors.Is(sw.err, net.ErrClosed) {
		return nil
	}
	return sw.err
}

func (sw *OFSwitch) write(t flows.MsgType, xid uint32, body []byte) error {
	b := []byte{flows.Version, byte(t), 0, 0}
	b = binary.BigEndian.AppendUint16(b[:2], uint16(8+len(body)))
	b = binary.BigEndian.AppendUint32(b, xid)
	sw.wmu.Lock()
	defer sw.wmu.Unlock()
	_, err := sw.conn.Write(append(b, body...))
	return err
}

func (sw *OFSwitch) read() {
	defer close(sw.closed)
	r := flows.NewReader(sw.conn)
	for {
		h, body, err := r.Next()
		if err != nil {
			sw.err = err
			return
		}
		switch h.Type {
		case flows.MsgFeaturesRequest:
			b := binary.BigEndian.AppendUint64(nil, uint64(sw.DPID))
			b = append(b, 0, 0, 0, 0, 254, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
			err = sw.write(flows.MsgFeaturesReply, h.XID, b)
		case flows.MsgEchoRequest:
			err = sw.write(flows.MsgEchoReply, h.XID, body)
		case flows.MsgBarrierRequest:
			err = sw.write(flows.MsgBarrierReply, h.XID, nil)
		case flows.MsgFlowMod:
			if len(body) > 16 {
				sw.mu.Lock()
				if sw.mods == nil {
					sw.mods = map[flows.TableID]int{}
				}
				sw.mods[flows.TableID(body[16])]++
				sw.mu.Unlock()
			}
		case flows.MsgMultipartRequest:
			err = sw.multipart(h.XID, body)
		}
		if err != nil {
			sw.err = err
			return
		}
	}
}

// multipart answers OFPMP_PORT_DESC and OFPMP_FLOW in one part each,
// and any other type with an empty part.
func (sw *OFSwitch) multipart(xid uint32, body []byte) error {
	if len(body) < 2 {
		return nil
	}
	typ := binary.BigEndian.Uint16(body)
	reply := binary.BigEndian.AppendUint16(nil, typ)
	reply = append(reply, 0, 0, 0, 0, 0, 0)
	switch typ {
	case flows.MultipartPortDesc:
		for _, p := range sw.Ports {
			b := binary.BigEndian.AppendUint32(nil, uint32(p.No))
			b = append(b, 0, 0, 0, 0)
			hw := make([]byte, 6)
			copy(hw, p.HWAddr)
			b = append(append(b, hw...), 0, 0)
			name := make([]byte, 16)
			copy(name, p.Name)
			b = append(b, name...)
			b = append(b, make([]byte, 32)...) // config, state (up), curr.. max_speed
			reply = append(reply, b...)
		}
	case flows.MultipartFlow:
		sw.mu.Lock()
		fs := sw.flowList
		sw.mu.Unlock()
		for _, f := range fs {
			var e bytes.Buffer
			e.Write([]byte{0, 0, byte(f.Table), 0})
			binary.Write(&e, binary.BigEndian, []uint32{0, 0}) // duration
			binary.Write(&e, binary.BigEndian, []uint16{f.Priority, f.IdleTimeout, f.HardTimeout, f.Flags, 0, 0})
			binary.Write(&e, binary.BigEndian, []uint64{uint64(f.Cookie), f.Packets, f.Bytes})
			e.Write([]byte{0, 1, 0, 4, 0, 0, 0, 0}) // empty OXM match
			e.Write(f.Instructions)
			b := e.Bytes()
			binary.BigEndian.PutUint16(b, uint16(len(b)))
			reply = append(reply, b...)
		}
	}
	// Other types (meter config, say) get an empty reply, as OVS gives
	// for a table with no entries.
	return sw.write(flows.MsgMultipartReply, xid, reply)
}
