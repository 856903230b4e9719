package cbench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
)

// Wire constants the null controller needs beyond the switch's (OpenFlow
// 1.3.5 §7.2.5, §7.3.7).
const (
	ofppController = 0xfffffffd // OFPP_CONTROLLER
	ofppTable      = 0xfffffff9 // OFPP_TABLE
	ofpatOutput    = 0          // OFPAT_OUTPUT
	packetInFixed  = 24         // ofp_packet_in up to its match
)

// ServeNull is the cheapest controller that answers ofcbench: it sends
// HELLO and FEATURES_REQUEST, answers ECHO_REQUEST, and answers every
// PACKET_IN with one PACKET_OUT (in_port OFPP_CONTROLLER, output:TABLE)
// carrying the frame, written once the read buffer is drained. It sends
// no flow-mods and keeps no state: it is not a learning switch but the
// ceiling the machine allows a Go controller on net.Conn under the same
// load. It returns when ctx is done (closing ln) or ln fails; connections
// end with their peer.
func ServeNull(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("null controller: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			stopConn := context.AfterFunc(ctx, func() { c.Close() })
			defer stopConn()
			serveNullConn(c)
		}()
	}
}

var errShortPacketIn = errors.New("packet-in shorter than its match")

// serveNullConn answers one switch until its connection fails or it
// sends a malformed message.
func serveNullConn(c net.Conn) error {
	out := appendHeader(nil, ofptHello, headerLen, 1)
	out = appendHeader(out, ofptFeaturesRequest, headerLen, 2)
	if _, err := c.Write(out); err != nil {
		return err
	}
	r := bufio.NewReaderSize(c, 64<<10)
	xid := uint32(3)
	for {
		out = out[:0]
		for {
			hb, err := r.Peek(headerLen)
			if err != nil {
				return err
			}
			h := parseHeader(hb)
			if h.length < headerLen {
				return fmt.Errorf("message length %d below header size", h.length)
			}
			m, err := r.Peek(h.length)
			if err != nil {
				return err
			}
			switch h.typ {
			case ofptEchoRequest:
				out = appendHeader(out, ofptEchoReply, h.length, h.xid)
				out = append(out, m[headerLen:]...)
			case ofptPacketIn:
				if h.length < packetInFixed+4 {
					return errShortPacketIn
				}
				matchLen := int(binary.BigEndian.Uint16(m[packetInFixed+2:]))
				off := packetInFixed + (matchLen+7)/8*8 + 2
				if off > h.length {
					return errShortPacketIn
				}
				out = appendPacketOut(out, xid, m[off:])
				xid++
			}
			r.Discard(h.length)
			if r.Buffered() < headerLen {
				break
			}
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return err
			}
		}
	}
}

// appendPacketOut appends an OFPT_PACKET_OUT with no buffer, in_port
// OFPP_CONTROLLER and one action, output:TABLE, carrying data.
func appendPacketOut(b []byte, xid uint32, data []byte) []byte {
	const actionsLen = 16
	b = appendHeader(b, ofptPacketOut, 24+actionsLen+len(data), xid)
	b = binary.BigEndian.AppendUint32(b, noBuffer)
	b = binary.BigEndian.AppendUint32(b, ofppController)
	b = binary.BigEndian.AppendUint16(b, actionsLen)
	b = append(b, 0, 0, 0, 0, 0, 0) // pad
	b = binary.BigEndian.AppendUint16(b, ofpatOutput)
	b = binary.BigEndian.AppendUint16(b, actionsLen)
	b = binary.BigEndian.AppendUint32(b, ofppTable)
	b = binary.BigEndian.AppendUint16(b, 0xffff) // max_len: OFPCML_NO_BUFFER
	b = append(b, 0, 0, 0, 0, 0, 0)              // pad
	return append(b, data...)
}
