package controller

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/flows"
)

// OpenFlow 1.3.5 numbers, written out from the specification (§7.1,
// §7.3.5, §7.5.4) so that the fake switch does not share the encoder
// under test.
const (
	ofVersion = 4

	tHello            = 0
	tError            = 1
	tEchoRequest      = 2
	tEchoReply        = 3
	tFeaturesRequest  = 5
	tFeaturesReply    = 6
	tGetConfigRequest = 7
	tSetConfig        = 9
	tPacketIn         = 10
	tFlowRemoved      = 11
	tPortStatus       = 12
	tFlowMod          = 14
	tGroupMod         = 15
	tMultipartRequest = 18
	tMultipartReply   = 19
	tBarrierRequest   = 20
	tBarrierReply     = 21

	mpFlow       = 1  // OFPMP_FLOW
	mpPortDesc   = 13 // OFPMP_PORT_DESC
	mpfReplyMore = 1  // OFPMPF_REPLY_MORE

	etHelloFailed      = 0 // OFPET_HELLO_FAILED
	etBadRequest       = 1 // OFPET_BAD_REQUEST
	etBadAction        = 2 // OFPET_BAD_ACTION
	etFlowModFailed    = 5 // OFPET_FLOW_MOD_FAILED
	hfcIncompatible    = 0 // OFPHFC_INCOMPATIBLE
	brcBadType         = 1 // OFPBRC_BAD_TYPE
	fmfcTableFull      = 1 // OFPFMFC_TABLE_FULL
	ofpfcAdd           = 0 // OFPFC_ADD
	ofpfcDelete        = 3 // OFPFC_DELETE
	ofppAny            = 0xffffffff
	ofpgAny            = 0xffffffff
	ofpttAll           = 0xff
	ofpcmlNoBuffer     = 0xffff
	ofpprAdd           = 0 // OFPPR_ADD
	ofpprDelete        = 1 // OFPPR_DELETE
	ofpprModify        = 2 // OFPPR_MODIFY
	ofppsLinkDown      = 1 // OFPPS_LINK_DOWN
	ofpHelloBitmapElem = 1 // OFPHET_VERSIONBITMAP
)

// waitTimeout bounds every wait in these tests; nothing should take
// more than a fraction of it.
const waitTimeout = 5 * time.Second

// --- encoding of switch-side messages -----------------------------------

func be16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func be32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func be64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// ofMessage frames body with an ofp_header.
func ofMessage(version, typ uint8, xid uint32, body []byte) []byte {
	b := []byte{version, typ}
	b = be16(b, uint16(8+len(body)))
	b = be32(b, xid)
	return append(b, body...)
}

// helloBitmap is a HELLO body with one OFPHET_VERSIONBITMAP element.
func helloBitmap(bitmap uint32) []byte {
	b := be16(nil, ofpHelloBitmapElem)
	b = be16(b, 8)
	return be32(b, bitmap)
}

// featuresReply is an ofp_switch_features body (§7.3.1): datapath_id,
// n_buffers, n_tables, auxiliary_id, 2 pad, capabilities, reserved.
func featuresReply(dpid flows.DPID, aux uint8) []byte {
	b := be64(nil, uint64(dpid))
	b = be32(b, 0)
	b = append(b, 254, aux, 0, 0)
	b = be32(b, 0x4f)
	return be32(b, 0)
}

// ofPort is an ofp_port (§7.2.1): port_no, 4 pad, hw_addr, 2 pad,
// name[16], config, state, curr, advertised, supported, peer,
// curr_speed, max_speed.
func ofPort(no uint32, name string, state uint32) []byte {
	b := be32(nil, no)
	b = append(b, 0, 0, 0, 0)
	b = append(b, 0x02, 0, 0, 0, byte(no>>8), byte(no), 0, 0)
	var n [16]byte
	copy(n[:], name)
	b = append(b, n[:]...)
	b = be32(b, 0)
	b = be32(b, state)
	for range 6 {
		b = be32(b, 0)
	}
	return b
}

// multipartReply is an ofp_multipart_reply body: type, flags, 4 pad, body.
func multipartReply(typ, flags uint16, body []byte) []byte {
	b := be16(nil, typ)
	b = be16(b, flags)
	b = append(b, 0, 0, 0, 0)
	return append(b, body...)
}

// matchInPort is an ofp_match with one OXM_OF_IN_PORT field, padded to
// 8 bytes: type OFPMT_OXM, length 12, class 0x8000, field 0, length 4.
func matchInPort(port uint32) []byte {
	b := be16(nil, 1)
	b = be16(b, 12)
	b = be16(b, 0x8000)
	b = append(b, 0<<1, 4)
	b = be32(b, port)
	return append(b, 0, 0, 0, 0)
}

// emptyMatch is an ofp_match without fields: type OFPMT_OXM, length 4,
// 4 pad.
func emptyMatch() []byte { return []byte{0, 1, 0, 4, 0, 0, 0, 0} }

// packetIn is an ofp_packet_in body (§7.4.1): buffer_id NO_BUFFER,
// total_len, reason, table_id, cookie, match with in_port, 2 pad, data.
func packetIn(inPort uint32, data []byte) []byte {
	b := be32(nil, 0xffffffff)
	b = be16(b, uint16(len(data)))
	b = append(b, 0, 0)
	b = be64(b, 0)
	b = append(b, matchInPort(inPort)...)
	b = append(b, 0, 0)
	return append(b, data...)
}

// portStatus is an ofp_port_status body (§7.4.3): reason, 7 pad, ofp_port.
func portStatus(reason uint8, port []byte) []byte {
	b := []byte{reason, 0, 0, 0, 0, 0, 0, 0}
	return append(b, port...)
}

// flowRemoved is an ofp_flow_removed body (§7.4.2): cookie, priority,
// reason, table_id, duration_sec, duration_nsec, idle_timeout,
// hard_timeout, packet_count, byte_count, match.
func flowRemoved(cookie flows.Cookie, priority uint16) []byte {
	b := be64(nil, uint64(cookie))
	b = be16(b, priority)
	b = append(b, 0 /* idle timeout */, 2)
	b = be32(b, 30)
	b = be32(b, 0)
	b = be16(b, 10)
	b = be16(b, 0)
	b = be64(b, 5)
	b = be64(b, 500)
	return append(b, emptyMatch()...)
}

// flowStatsEntry is an ofp_flow_stats (§7.3.5.2) with an empty match
// and no instructions: length, table_id, pad, duration_sec,
// duration_nsec, priority, idle_timeout, hard_timeout, flags, 4 pad,
// cookie, packet_count, byte_count, match.
func flowStatsEntry(table uint8, cookie flows.Cookie) []byte {
	b := be16(nil, 48+8)
	b = append(b, table, 0)
	b = be32(b, 1)
	b = be32(b, 0)
	b = be16(b, 100)
	b = be16(b, 0)
	b = be16(b, 0)
	b = be16(b, 0)
	b = append(b, 0, 0, 0, 0)
	b = be64(b, uint64(cookie))
	b = be64(b, 0)
	b = be64(b, 0)
	return append(b, emptyMatch()...)
}

// errorMsg is an ofp_error_msg body (§7.5.4): type, code, data.
func errorMsg(typ, code uint16, data []byte) []byte {
	b := be16(nil, typ)
	b = be16(b, code)
	return append(b, data...)
}

// --- decoding of controller messages ------------------------------------

// ofMsg is one message the controller sent.
type ofMsg struct {
	h    flows.Header
	body []byte
}

func (m ofMsg) String() string {
	return fmt.Sprintf("%s xid %d (%d bytes)", m.h.Type, m.h.XID, m.h.Length)
}

// flowMod is the part of an ofp_flow_mod the tests assert on.
type flowMod struct {
	cookie, mask flows.Cookie
	table        uint8
	command      uint8
	outPort      uint32
	outGroup     uint32
}

// decodeFlowMod reads cookie, cookie_mask, table_id, command, and the
// out_port and out_group of an ofp_flow_mod body (§7.3.4.1).
func decodeFlowMod(t testing.TB, m ofMsg) flowMod {
	t.Helper()
	if m.h.Type != tFlowMod || len(m.body) < 40 {
		t.Fatalf("want a FLOW_MOD of at least 48 bytes, got %v", m)
	}
	b := m.body
	return flowMod{
		cookie:   flows.Cookie(binary.BigEndian.Uint64(b)),
		mask:     flows.Cookie(binary.BigEndian.Uint64(b[8:])),
		table:    b[16],
		command:  b[17],
		outPort:  binary.BigEndian.Uint32(b[28:]),
		outGroup: binary.BigEndian.Uint32(b[32:]),
	}
}

// --- fake switch ------------------------------------------------------

// fakeSwitch is the switch end of one OpenFlow connection to a
// Controller. A goroutine reads everything the controller sends onto
// msgs; with auto set it also answers ECHO_REQUEST, BARRIER_REQUEST and
// OFPMP_FLOW requests (with an empty flow list) the way OVS would, so
// that a session gets past reconciliation.
type fakeSwitch struct {
	t    testing.TB
	conn net.Conn
	r    *flows.Reader

	wmu sync.Mutex // serializes writes from the test and the reader
	xid atomic.Uint32

	autoEcho, autoBarrier, autoFlowStats atomic.Bool

	msgs    chan ofMsg
	closed  chan struct{} // closed when the controller closed the connection
	readErr error         // why reading stopped; set before closed
	stop    chan struct{}
}

// dialSwitch connects a fake switch to addr; auto answering is on.
// The connection is closed at the end of the test.
func dialSwitch(t testing.TB, addr string) *fakeSwitch {
	t.Helper()
	return dialSwitchFrom(t, addr, "")
}

// dialSwitchFrom is dialSwitch from a local address such as "127.0.0.2"
// ("" lets the kernel choose), so tests can tell sources apart on
// loopback.
func dialSwitchFrom(t testing.TB, addr, local string) *fakeSwitch {
	t.Helper()
	d := net.Dialer{Timeout: waitTimeout}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial controller: %v", err)
	}
	return newFakeSwitch(t, conn)
}

// newFakeSwitch is the fake switch on an established connection, such
// as a TLS client connection.
func newFakeSwitch(t testing.TB, conn net.Conn) *fakeSwitch {
	f := &fakeSwitch{t: t, conn: conn, r: flows.NewReader(conn),
		msgs: make(chan ofMsg, 1<<14), closed: make(chan struct{}), stop: make(chan struct{})}
	f.xid.Store(0x1000)
	f.autoEcho.Store(true)
	f.autoBarrier.Store(true)
	f.autoFlowStats.Store(true)
	go f.readLoop()
	t.Cleanup(func() {
		close(f.stop)
		conn.Close()
		<-f.closed
	})
	return f
}

func (f *fakeSwitch) readLoop() {
	defer close(f.closed)
	for {
		h, body, err := f.r.Next()
		if err != nil {
			f.readErr = err
			return
		}
		m := ofMsg{h, body}
		f.answer(m)
		select {
		case f.msgs <- m:
		case <-f.stop:
			f.readErr = errors.New("test ended")
			return
		}
	}
}

// answer replies to m as OVS would, for the kinds auto answering covers.
func (f *fakeSwitch) answer(m ofMsg) {
	switch {
	case m.h.Type == tEchoRequest && f.autoEcho.Load():
		f.sendXID(tEchoReply, m.h.XID, m.body)
	case m.h.Type == tBarrierRequest && f.autoBarrier.Load():
		f.sendXID(tBarrierReply, m.h.XID, nil)
	case m.h.Type == tMultipartRequest && len(m.body) >= 2 &&
		binary.BigEndian.Uint16(m.body) == mpFlow && f.autoFlowStats.Load():
		f.sendXID(tMultipartReply, m.h.XID, multipartReply(mpFlow, 0, nil))
	}
}

// writeRaw writes b as is; errors are ignored (the controller may have
// closed the connection on purpose).
func (f *fakeSwitch) writeRaw(b []byte) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	f.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	_, err := f.conn.Write(b)
	return err
}

// send sends a version 0x04 message under a fresh xid and returns it.
func (f *fakeSwitch) send(typ uint8, body []byte) uint32 {
	xid := f.xid.Add(1)
	f.sendXID(typ, xid, body)
	return xid
}

func (f *fakeSwitch) sendXID(typ uint8, xid uint32, body []byte) {
	f.writeRaw(ofMessage(ofVersion, typ, xid, body))
}

// next returns the next message the controller sent, failing the test
// when none comes within waitTimeout or the connection closes first.
func (f *fakeSwitch) next(what string) ofMsg {
	f.t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case m := <-f.msgs:
		return m
	case <-f.closed:
		select {
		case m := <-f.msgs:
			return m
		default:
		}
		f.t.Fatalf("waiting for %s: connection closed: %v", what, f.readErr)
	case <-timer.C:
		f.t.Fatalf("waiting for %s: nothing within %v", what, waitTimeout)
	}
	return ofMsg{}
}

// expect returns the next message and fails unless it has type typ.
func (f *fakeSwitch) expect(typ uint8, what string) ofMsg {
	f.t.Helper()
	m := f.next(what)
	if m.h.Type != flows.MsgType(typ) {
		f.t.Fatalf("waiting for %s: got %v", what, m)
	}
	if m.h.Version != ofVersion {
		f.t.Fatalf("%s: wire version %#x, want 0x04", what, m.h.Version)
	}
	return m
}

// waitFor skips messages until one of type typ for which match (if not
// nil) reports true.
func (f *fakeSwitch) waitFor(typ uint8, what string, match func(ofMsg) bool) ofMsg {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		m := f.next(what)
		if m.h.Type == flows.MsgType(typ) && (match == nil || match(m)) {
			return m
		}
	}
	f.t.Fatalf("waiting for %s: not within %v", what, waitTimeout)
	return ofMsg{}
}

// waitClosed waits until the controller closes the connection, skipping
// whatever it sends before.
func (f *fakeSwitch) waitClosed(what string) {
	f.t.Helper()
	select {
	case <-f.closed:
	case <-time.After(waitTimeout):
		f.t.Fatalf("waiting for the controller to close the connection (%s): still open after %v", what, waitTimeout)
	}
}

// isClosed reports whether the controller closed the connection.
func (f *fakeSwitch) isClosed() bool {
	select {
	case <-f.closed:
		return true
	default:
		return false
	}
}

// echo sends an ECHO_REQUEST and waits for its reply, skipping other
// messages: it proves the controller has read everything sent before.
func (f *fakeSwitch) echo(what string) {
	f.t.Helper()
	data := []byte("sync:" + what)
	xid := f.send(tEchoRequest, data)
	m := f.waitFor(tEchoReply, "echo reply after "+what, func(m ofMsg) bool { return m.h.XID == xid })
	if !bytes.Equal(m.body, data) {
		f.t.Fatalf("echo reply data %q, want %q", m.body, data)
	}
}

// handshake runs the switch side of the handshake for dpid with the
// given ports, in one PORT_DESC reply, and checks each step.
func (f *fakeSwitch) handshake(dpid flows.DPID, ports ...[]byte) {
	f.t.Helper()
	f.send(tHello, helloBitmap(1<<ofVersion))
	f.expect(tHello, "controller HELLO")
	req := f.expect(tFeaturesRequest, "FEATURES_REQUEST")
	f.sendXID(tFeaturesReply, req.h.XID, featuresReply(dpid, 0))
	f.expect(tSetConfig, "SET_CONFIG")
	req = f.expect(tMultipartRequest, "PORT_DESC request")
	f.sendXID(tMultipartReply, req.h.XID, multipartReply(mpPortDesc, 0, bytes.Join(ports, nil)))
}

// --- controller under test -----------------------------------------------

// syncBuffer is a bytes.Buffer safe for a slog handler writing and the
// test reading concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// line returns the first log line holding every one of subs.
func (b *syncBuffer) line(subs ...string) (string, bool) {
	for l := range strings.Lines(b.String()) {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			return l, true
		}
	}
	return "", false
}

// testController is a Controller serving on a loopback port, and on a
// second one over TLS when its options carry a TLS configuration.
type testController struct {
	*Controller
	addr    string
	tlsAddr string // "" without TLS
	logs    *syncBuffer
	reg     *prometheus.Registry
}

// startController runs a Controller on 127.0.0.1 with a log buffer and
// a fresh registry. At the end of the test it cancels Serve and checks
// that Serve returns (every session ended).
func startController(t *testing.T, opts Options, apps ...App) *testController {
	t.Helper()
	// The first app owns every table, the others observe every table:
	// each sees every packet-in, as the session tests expect.
	var regs []Registration
	for i, a := range apps {
		r := Registration{App: a, ID: flows.AppID(0x10 + i)}
		for tbl := range 255 {
			if i == 0 {
				r.Tables = append(r.Tables, flows.TableID(tbl))
			} else {
				r.Observe = append(r.Observe, flows.TableID(tbl))
			}
		}
		regs = append(regs, r)
	}
	return startRegistered(t, opts, regs...)
}

// startRegistered is startController with explicit registrations.
func startRegistered(t *testing.T, opts Options, regs ...Registration) *testController {
	t.Helper()
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	opts.Listen = []string{"127.0.0.1:0"}
	if opts.TLS != nil {
		opts.TLSListen = []string{"127.0.0.1:0"}
	}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Registerer = reg
	c, err := New(opts, regs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Serve did not return within %v of cancel", waitTimeout)
		}
		if t.Failed() {
			t.Logf("controller log:\n%s", logs)
		}
	})
	tc := &testController{Controller: c, addr: c.Addrs()[0].String(), logs: logs, reg: reg}
	if opts.TLS != nil {
		tc.tlsAddr = c.Addrs()[1].String()
	}
	return tc
}

// connect dials a fake switch and runs the handshake for dpid.
func (tc *testController) connect(t *testing.T, dpid flows.DPID, ports ...[]byte) *fakeSwitch {
	t.Helper()
	f := dialSwitch(t, tc.addr)
	f.handshake(dpid, ports...)
	return f
}

// metric returns the value of the counter or gauge name whose labels
// include labels, 0 when there is none yet.
func (tc *testController) metric(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := tc.reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// waitMetric polls until the metric has value want.
func (tc *testController) waitMetric(t testing.TB, name string, labels map[string]string, want float64) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s%v == %v", name, labels, want), func() bool {
		return tc.metric(t, name, labels) == want
	})
	if got := tc.metric(t, name, labels); got != want {
		t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// waitLog polls until a log line holds every one of subs and returns it.
func (tc *testController) waitLog(t testing.TB, subs ...string) string {
	t.Helper()
	var line string
	waitUntil(t, fmt.Sprintf("a log line with %q", subs), func() bool {
		l, ok := tc.logs.line(subs...)
		line = l
		return ok
	})
	return line
}

// session returns the registered session of dpid, or nil.
func (tc *testController) session(dpid flows.DPID) *session {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.sessions[dpid]
}

// waitUntil polls cond every few milliseconds and fails the test naming
// what it waited for if cond is still false after waitTimeout.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", waitTimeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// --- recording app ---------------------------------------------------------

// event is one handler call seen by a recorder.
type event struct {
	kind  string // "up", "packet-in", "port-status", "flow-removed", "down"
	sw    Switch
	dpid  flows.DPID
	ports []flows.Port // sw.Ports() during the call
	pi    *flows.PacketIn
	ps    flows.PortStatus
	fr    *flows.FlowRemoved
}

// recorder is an app implementing every handler. It records each call
// on events, after running the matching hook if one is set.
type recorder struct {
	name   string
	events chan event

	onUp          func(ctx context.Context, sw Switch) error
	onPacketIn    func(ctx context.Context, sw Switch, pi *flows.PacketIn) error
	onPortStatus  func(ctx context.Context, sw Switch, ps flows.PortStatus) error
	onFlowRemoved func(ctx context.Context, sw Switch, fr *flows.FlowRemoved) error
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, events: make(chan event, 1<<14)}
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) record(kind string, sw Switch, ev event) {
	ev.kind, ev.sw, ev.dpid, ev.ports = kind, sw, sw.DPID(), sw.Ports()
	r.events <- ev
}

func (r *recorder) SwitchUp(ctx context.Context, sw Switch) error {
	r.record("up", sw, event{})
	if r.onUp != nil {
		return r.onUp(ctx, sw)
	}
	return nil
}

func (r *recorder) PacketIn(ctx context.Context, sw Switch, pi *flows.PacketIn) error {
	r.record("packet-in", sw, event{pi: pi})
	if r.onPacketIn != nil {
		return r.onPacketIn(ctx, sw, pi)
	}
	return nil
}

func (r *recorder) PortStatus(ctx context.Context, sw Switch, ps flows.PortStatus) error {
	r.record("port-status", sw, event{ps: ps})
	if r.onPortStatus != nil {
		return r.onPortStatus(ctx, sw, ps)
	}
	return nil
}

func (r *recorder) FlowRemoved(ctx context.Context, sw Switch, fr *flows.FlowRemoved) error {
	r.record("flow-removed", sw, event{fr: fr})
	if r.onFlowRemoved != nil {
		return r.onFlowRemoved(ctx, sw, fr)
	}
	return nil
}

func (r *recorder) SwitchDown(ctx context.Context, sw Switch) {
	r.record("down", sw, event{})
}

// next returns the next recorded event, failing unless it is of kind.
func (r *recorder) next(t testing.TB, kind string) event {
	t.Helper()
	select {
	case ev := <-r.events:
		if ev.kind != kind {
			t.Fatalf("app %s: got a %s event of %016x, want %s", r.name, ev.kind, ev.dpid, kind)
		}
		return ev
	case <-time.After(waitTimeout):
		t.Fatalf("app %s: no %s event within %v", r.name, kind, waitTimeout)
	}
	return event{}
}

// nextOf returns the next event for dpid, skipping other switches'.
func (r *recorder) nextOf(t testing.TB, dpid flows.DPID, kind string) event {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev := <-r.events:
			if ev.dpid != dpid {
				continue
			}
			if ev.kind != kind {
				t.Fatalf("app %s: got a %s event of %016x, want %s", r.name, ev.kind, dpid, kind)
			}
			return ev
		case <-deadline:
			t.Fatalf("app %s: no %s event of %016x within %v", r.name, kind, dpid, waitTimeout)
		}
	}
}

// none fails if an event is already recorded.
func (r *recorder) none(t testing.TB, why string) {
	t.Helper()
	select {
	case ev := <-r.events:
		t.Fatalf("app %s: unexpected %s event of %016x (%s)", r.name, ev.kind, ev.dpid, why)
	default:
	}
}

// seq is a packet-in payload numbering packets.
func seq(i int) []byte { return fmt.Appendf(nil, "pkt-%06d", i) }

// App IDs of the cookies the tests' flows carry.
const (
	appLearning flows.AppID = 2
	appProxyARP flows.AppID = 3
)
