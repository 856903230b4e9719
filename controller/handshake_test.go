package controller

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
)

func TestHandshake(t *testing.T) {
	p1, p2, p3 := ofPort(1, "eth1", 0), ofPort(2, "eth2", ofppsLinkDown), ofPort(0xfffffffe, "br0", 0)
	tests := []struct {
		name         string
		helloVersion uint8
		hello        []byte
		portParts    [][]byte // PORT_DESC reply bodies; all but the last carry OFPMPF_REPLY_MORE
		echoMidway   bool     // send an ECHO_REQUEST before the features reply
		wantPorts    []flows.OFPort
	}{
		{name: "bitmap offering 1.0 and 1.3", helloVersion: 4, hello: helloBitmap(1<<1 | 1<<4),
			portParts: [][]byte{bytes.Join([][]byte{p1, p2, p3}, nil)}, wantPorts: []flows.OFPort{1, 2, 0xfffffffe}},
		{name: "1.3 without bitmap", helloVersion: 4, hello: nil,
			portParts: [][]byte{p1}, wantPorts: []flows.OFPort{1}},
		{name: "newer version without bitmap", helloVersion: 6, hello: nil,
			portParts: [][]byte{p2}, wantPorts: []flows.OFPort{2}},
		{name: "newer version with bitmap including 1.3", helloVersion: 6, hello: helloBitmap(1<<4 | 1<<5 | 1<<6),
			portParts: [][]byte{p1}, wantPorts: []flows.OFPort{1}},
		{name: "port list split with REPLY_MORE", helloVersion: 4, hello: helloBitmap(1 << 4),
			portParts: [][]byte{p3, bytes.Join([][]byte{p2, p1}, nil), nil}, wantPorts: []flows.OFPort{1, 2, 0xfffffffe}},
		{name: "no ports, echo during handshake", helloVersion: 4, hello: helloBitmap(1 << 4),
			portParts: [][]byte{nil}, echoMidway: true, wantPorts: []flows.OFPort{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newRecorder("rec")
			tc := startController(t, Options{}, app)
			dpid := flows.DPID(0xa0 + i)
			f := dialSwitch(t, tc.addr)
			f.writeRaw(ofMessage(tt.helloVersion, tHello, 1, tt.hello))

			hello := f.expect(tHello, "controller HELLO")
			if want := helloBitmap(1 << 4); !bytes.Equal(hello.body, want) {
				t.Errorf("controller HELLO body % x, want one version bitmap element % x", hello.body, want)
			}
			req := f.expect(tFeaturesRequest, "FEATURES_REQUEST")
			if len(req.body) != 0 {
				t.Errorf("FEATURES_REQUEST has a %d-byte body", len(req.body))
			}
			if tt.echoMidway {
				f.autoEcho.Store(false)
				xid := f.send(tEchoRequest, []byte("during handshake"))
				rep := f.expect(tEchoReply, "ECHO_REPLY during the handshake")
				if rep.h.XID != xid || string(rep.body) != "during handshake" {
					t.Errorf("echo reply xid %d data %q, want xid %d and the request's data", rep.h.XID, rep.body, xid)
				}
				f.autoEcho.Store(true)
			}
			f.sendXID(tFeaturesReply, req.h.XID, featuresReply(dpid, 0))

			cfg := f.expect(tSetConfig, "SET_CONFIG")
			if len(cfg.body) != 4 || binary.BigEndian.Uint16(cfg.body) != 0 || binary.BigEndian.Uint16(cfg.body[2:]) != ofpcmlNoBuffer {
				t.Errorf("SET_CONFIG body % x, want flags 0 and miss_send_len 0xffff", cfg.body)
			}
			req = f.expect(tMultipartRequest, "PORT_DESC request")
			if len(req.body) != 8 || binary.BigEndian.Uint16(req.body) != mpPortDesc {
				t.Errorf("PORT_DESC request body % x, want type 13, flags 0, 4 pad", req.body)
			}
			for i, part := range tt.portParts {
				var flags uint16
				if i < len(tt.portParts)-1 {
					flags = mpfReplyMore
				}
				f.sendXID(tMultipartReply, req.h.XID, multipartReply(mpPortDesc, flags, part))
			}

			up := app.next(t, "up")
			if up.dpid != dpid {
				t.Errorf("SwitchUp DPID %016x, want %016x", up.dpid, dpid)
			}
			if got := portNumbers(up.ports); !slices.Equal(got, tt.wantPorts) {
				t.Errorf("SwitchUp ports %v, want %v", got, tt.wantPorts)
			}
			if n := slices.IndexFunc(up.ports, func(p flows.Port) bool { return p.No == 2 }); n >= 0 && (up.ports[n].Name != "eth2" || up.ports[n].Up()) {
				t.Errorf("port 2 = %+v, want eth2 with link down", up.ports[n])
			}
			sws := tc.Switches()
			if len(sws) != 1 || sws[0].DPID != dpid || !slices.Equal(portNumbers(sws[0].Ports), tt.wantPorts) {
				t.Errorf("Switches() = %+v, want %016x with ports %v", sws, dpid, tt.wantPorts)
			}
			tc.waitMetric(t, "ovsmesh_switches_connected", nil, 1)
		})
	}
}

// TestHandshakeEarlyEvents: port-status and flow-removed messages that
// arrive before the port list are handed to the apps after SwitchUp, in
// order; an early packet-in is dropped.
func TestHandshakeEarlyEvents(t *testing.T) {
	app := newRecorder("rec")
	tc := startController(t, Options{}, app)
	f := dialSwitch(t, tc.addr)
	f.send(tHello, helloBitmap(1<<4))
	f.expect(tHello, "controller HELLO")
	req := f.expect(tFeaturesRequest, "FEATURES_REQUEST")
	f.sendXID(tFeaturesReply, req.h.XID, featuresReply(7, 0))
	f.expect(tSetConfig, "SET_CONFIG")
	req = f.expect(tMultipartRequest, "PORT_DESC request")
	f.send(tPortStatus, portStatus(ofpprAdd, ofPort(9, "late", 0)))
	f.send(tPacketIn, packetIn(1, seq(0)))
	f.send(tFlowRemoved, flowRemoved(flows.NewCookie(1, appLearning, 5), 10))
	f.sendXID(tMultipartReply, req.h.XID, multipartReply(mpPortDesc, 0, ofPort(1, "eth1", 0)))

	if up := app.next(t, "up"); !slices.Equal(portNumbers(up.ports), []flows.OFPort{1}) {
		t.Errorf("SwitchUp ports %v, want [1]: the early port-status comes after", portNumbers(up.ports))
	}
	if ev := app.next(t, "port-status"); ev.ps.Port.No != 9 || !slices.Equal(portNumbers(ev.ports), []flows.OFPort{1, 9}) {
		t.Errorf("early port-status: port %d, ports %v; want port 9 with ports [1 9]", ev.ps.Port.No, portNumbers(ev.ports))
	}
	if ev := app.next(t, "flow-removed"); ev.fr.Cookie != flows.NewCookie(1, appLearning, 5) || ev.fr.Priority != 10 {
		t.Errorf("early flow-removed: %+v", ev.fr)
	}
	f.send(tPacketIn, packetIn(1, seq(1)))
	if ev := app.next(t, "packet-in"); string(ev.pi.Data) != string(seq(1)) {
		t.Errorf("first packet-in delivered carries %q, want %q (the early one is dropped)", ev.pi.Data, seq(1))
	}
}

func TestHandshakeRefused(t *testing.T) {
	tests := []struct {
		name         string
		helloVersion uint8
		hello        []byte
		aux          uint8 // auxiliary_id in the features reply
		wantError    bool  // HELLO_FAILED/INCOMPATIBLE before the close
		wantLog      string
	}{
		{name: "OpenFlow 1.0 hello without bitmap", helloVersion: 1, wantError: true, wantLog: "version negotiation failed"},
		{name: "OpenFlow 1.2 hello without bitmap", helloVersion: 3, wantError: true, wantLog: "version negotiation failed"},
		{name: "bitmap with only 1.0", helloVersion: 4, hello: helloBitmap(1 << 1), wantError: true, wantLog: "without OpenFlow 1.3"},
		{name: "bitmap with 1.0 and 1.4 but not 1.3", helloVersion: 5, hello: helloBitmap(1<<1 | 1<<5), wantError: true, wantLog: "without OpenFlow 1.3"},
		{name: "truncated hello element", helloVersion: 4, hello: []byte{0, 1, 0}, wantError: true, wantLog: "truncated element"},
		{name: "auxiliary connection", helloVersion: 4, hello: helloBitmap(1 << 4), aux: 1, wantLog: "auxiliary connection 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newRecorder("rec")
			tc := startController(t, Options{}, app)
			f := dialSwitch(t, tc.addr)
			f.writeRaw(ofMessage(tt.helloVersion, tHello, 1, tt.hello))
			f.expect(tHello, "controller HELLO")
			if tt.wantError {
				m := f.expect(tError, "HELLO_FAILED error")
				if len(m.body) < 4 || binary.BigEndian.Uint16(m.body) != etHelloFailed || binary.BigEndian.Uint16(m.body[2:]) != hfcIncompatible {
					t.Errorf("error body % x, want type HELLO_FAILED (0) code INCOMPATIBLE (0)", m.body)
				}
				if !bytes.Contains(m.body[4:], []byte("1.3")) {
					t.Errorf("HELLO_FAILED data %q does not say which version the controller speaks", m.body[4:])
				}
			} else {
				req := f.expect(tFeaturesRequest, "FEATURES_REQUEST")
				f.sendXID(tFeaturesReply, req.h.XID, featuresReply(0x42, tt.aux))
			}
			f.waitClosed("refused switch")
			select {
			case m := <-f.msgs:
				t.Errorf("controller sent %v before closing", m)
			default:
			}
			tc.waitLog(t, "switch handshake failed", tt.wantLog)
			app.none(t, "a refused switch never comes up")
			if n := len(tc.Switches()); n != 0 {
				t.Errorf("%d switches connected, want none", n)
			}
		})
	}
}

func portNumbers(ps []flows.Port) []flows.OFPort {
	out := []flows.OFPort{}
	for _, p := range ps {
		out = append(out, p.No)
	}
	return out
}

// TestConcurrentHandshakes connects several switches at once, as after a
// controller restart.
func TestConcurrentHandshakes(t *testing.T) {
	const n = 8
	app := newRecorder("rec")
	tc := startController(t, Options{}, app)
	sws := make([]*fakeSwitch, n)
	xids := make([]uint32, n)
	for i := range sws {
		sws[i] = dialSwitch(t, tc.addr)
		sws[i].send(tHello, helloBitmap(1<<4))
	}
	for i, f := range sws {
		f.expect(tHello, "controller HELLO")
		xids[i] = f.expect(tFeaturesRequest, "FEATURES_REQUEST").h.XID
	}
	for i, f := range sws { // back to back: the sessions decode concurrently
		f.sendXID(tFeaturesReply, xids[i], featuresReply(flows.DPID(0x100+i), 0))
	}
	for i, f := range sws {
		f.expect(tSetConfig, "SET_CONFIG")
		xids[i] = f.expect(tMultipartRequest, "PORT_DESC request").h.XID
	}
	for i, f := range sws {
		f.sendXID(tMultipartReply, xids[i], multipartReply(mpPortDesc, 0, append(ofPort(1, "eth1", 0), ofPort(2, "eth2", 0)...)))
	}
	for range n {
		if ev := app.next(t, "up"); len(ev.ports) != 2 {
			t.Errorf("switch %016x came up with %d ports", ev.dpid, len(ev.ports))
		}
	}
	if got := len(tc.Switches()); got != n {
		t.Errorf("%d switches connected, want %d", got, n)
	}
}
