package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/flows"
)

// failingListener fails its first n Accept calls with err, then accepts
// from the real listener.
type failingListener struct {
	net.Listener
	n   atomic.Int32
	err error
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, l.err
	}
	return l.Listener.Accept()
}

// TestAcceptTemporaryErrors reproduces issue 11's exit on
// "accept4: too many open files": a temporary accept error is retried
// after a backoff (Serve goes on and the next switch is served); another
// error still ends Serve.
func TestAcceptTemporaryErrors(t *testing.T) {
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	tests := []struct {
		name      string
		err       error
		n         int
		wantServe bool // Serve keeps serving
	}{
		{name: "EMFILE 8 times", err: emfile, n: 8, wantServe: true},
		{name: "ENFILE once", err: &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ENFILE)}, n: 1, wantServe: true},
		{name: "ECONNABORTED", err: &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)}, n: 2, wantServe: true},
		{name: "not temporary", err: errors.New("listener broke"), n: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &syncBuffer{}
			reg := prometheus.NewRegistry()
			app := newRecorder("rec")
			c, err := New(Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), Registerer: reg},
				Registration{App: app, ID: 0x10})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			fl := &failingListener{Listener: ln, err: tt.err}
			fl.n.Store(int32(tt.n))
			c.listeners = []net.Listener{fl}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			served := make(chan error, 1)
			start := time.Now()
			go func() { served <- c.Serve(ctx) }()
			tc := &testController{Controller: c, addr: ln.Addr().String(), logs: logs, reg: reg}
			if !tt.wantServe {
				select {
				case err := <-served:
					if err == nil || !strings.Contains(err.Error(), "listener broke") {
						t.Fatalf("Serve = %v, want the accept error", err)
					}
				case <-time.After(waitTimeout):
					t.Fatal("Serve did not return on a permanent accept error")
				}
				return
			}
			dpid := flows.DPID(0xacc0 + i)
			tc.connect(t, dpid, ofPort(1, "eth1", 0))
			app.next(t, "up")
			// 5 ms doubling: n failures wait at least 5*(2^n - 1) ms, up to 1 s each.
			var want time.Duration
			for k, d := 0, acceptBackoffMin; k < tt.n; k, d = k+1, min(2*d, acceptBackoffMax) {
				want += d
			}
			if d := time.Since(start); d < want {
				t.Errorf("served after %v, want a backoff of at least %v", d, want)
			}
			tc.waitMetric(t, "ovsmesh_openflow_accept_errors_total", nil, float64(tt.n))
			tc.waitLog(t, "accepting a switch connection failed: retrying", "backoff=5ms")
			cancel()
			if err := <-served; err != nil {
				t.Errorf("Serve = %v after cancel", err)
			}
		})
	}
}

// TestConnectionLimits reproduces issue 11's idle-connection flood: the
// connections an address, or everyone, may hold (and hold before the
// handshake) are capped; the ones over a cap are closed at once and
// counted, while switches already up keep being served and a switch
// from another address still connects.
func TestConnectionLimits(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		flood     int // idle connections from 127.0.0.2
		wantLimit string
		wantHeld  int    // flood connections the controller keeps open
		newFrom   string // a new switch then connects from here
	}{
		{name: "per address", opts: Options{MaxConnectionsPerIP: 5}, flood: 40, wantLimit: "max_connections_per_ip", wantHeld: 5, newFrom: "127.0.0.3"},
		{name: "in total", opts: Options{MaxConnections: 8, MaxConnectionsPerIP: 100}, flood: 40, wantLimit: "max_connections", wantHeld: 7},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newRecorder("rec")
			tc := startController(t, tt.opts, app)
			up := flows.DPID(0xc00 + 16*i)
			f := tc.connect(t, up, ofPort(1, "eth1", 0))
			app.next(t, "up")

			var held int
			for range tt.flood {
				d := net.Dialer{Timeout: waitTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
				conn, err := d.Dial("tcp", tc.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				// An admitted connection gets the controller's HELLO; a
				// refused one is closed without a byte.
				conn.SetReadDeadline(time.Now().Add(waitTimeout))
				var b [8]byte
				if _, err := conn.Read(b[:]); err == nil {
					held++
				}
			}
			if held != tt.wantHeld {
				t.Errorf("the controller kept %d of %d idle connections, want %d", held, tt.flood, tt.wantHeld)
			}
			tc.waitMetric(t, "ovsmesh_openflow_connections_refused_total", map[string]string{"limit": tt.wantLimit}, float64(tt.flood-tt.wantHeld))
			tc.waitLog(t, "switch connection refused: over a connection limit", "limit="+tt.wantLimit)

			f.echo("the flood")
			f.send(tPacketIn, packetIn(1, []byte("during the flood")))
			if ev := app.next(t, "packet-in"); string(ev.pi.Data) != "during the flood" {
				t.Errorf("packet-in during the flood carries %q", ev.pi.Data)
			}
			if tt.newFrom != "" {
				g := dialSwitchFrom(t, tc.addr, tt.newFrom)
				g.handshake(up+1, ofPort(1, "eth1", 0))
				if ev := app.next(t, "up"); ev.dpid != up+1 {
					t.Errorf("switch %v came up, want %v", ev.dpid, up+1)
				}
			}
		})
	}
}

// TestAdmit reproduces issue 11's DPID takeover: "newest wins" let any
// peer kick a switch off by claiming its DPID. With Options.Admit a
// claim from an address the policy refuses is closed right after
// FEATURES_REPLY, logged with both identities and counted, and the
// switch that holds the DPID stays connected.
func TestAdmit(t *testing.T) {
	const owned = flows.DPID(0xa55)
	admit := func(dpid flows.DPID, remote netip.Addr) error {
		if dpid == owned && remote != netip.MustParseAddr("127.0.0.2") {
			return fmt.Errorf("%s is not an address of the host that owns %s", remote, dpid)
		}
		return nil
	}
	tests := []struct {
		name   string
		from   string
		dpid   flows.DPID
		refuse bool
	}{
		{name: "owner's DPID from elsewhere", from: "127.0.0.3", dpid: owned, refuse: true},
		{name: "owner's DPID from 127.0.0.1", from: "127.0.0.1", dpid: owned, refuse: true},
		{name: "another DPID from elsewhere", from: "127.0.0.3", dpid: 0xb0b},
		{name: "owner reconnecting", from: "127.0.0.2", dpid: owned},
	}
	app := newRecorder("rec")
	tc := startController(t, Options{Admit: admit}, app)
	owner := dialSwitchFrom(t, tc.addr, "127.0.0.2")
	owner.handshake(owned, ofPort(1, "eth1", 0))
	app.next(t, "up")
	refused := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := dialSwitchFrom(t, tc.addr, tt.from)
			f.send(tHello, helloBitmap(1<<ofVersion))
			f.expect(tHello, "controller HELLO")
			req := f.expect(tFeaturesRequest, "FEATURES_REQUEST")
			f.sendXID(tFeaturesReply, req.h.XID, featuresReply(tt.dpid, 0))
			if !tt.refuse {
				f.expect(tSetConfig, "SET_CONFIG")
				req = f.expect(tMultipartRequest, "PORT_DESC request")
				f.sendXID(tMultipartReply, req.h.XID, multipartReply(mpPortDesc, 0, ofPort(1, "eth1", 0)))
				waitUntil(t, "the switch to come up", func() bool {
					for {
						select {
						case ev := <-app.events:
							if ev.kind == "up" && ev.dpid == tt.dpid {
								return true
							}
						default:
							return false
						}
					}
				})
				return
			}
			refused++
			f.waitClosed("a refused DPID claim")
			select {
			case m := <-f.msgs:
				t.Errorf("controller sent %v to a refused switch", m)
			default:
			}
			line := tc.waitLog(t, "switch refused", "dpid="+tt.dpid.String(), "remote="+tt.from+":")
			if !strings.Contains(line, "is not an address of the host") {
				t.Errorf("log line %q does not carry the policy's reason", line)
			}
			tc.waitMetric(t, "ovsmesh_switches_refused_total", map[string]string{"reason": "identity"}, float64(refused))
			owner.echo("a refused claim")
			if owner.isClosed() {
				t.Fatal("the owner's session was closed by a refused claim")
			}
		})
	}
}

// TestHandshakeSlots: beyond MaxHandshaking, connections wait in the
// listen backlog (a burst of switches reconnecting is not refused) and
// are served as slots free, here when idle ones time out.
func TestHandshakeSlots(t *testing.T) {
	const timeout = 500 * time.Millisecond
	app := newRecorder("rec")
	tc := startController(t, Options{MaxHandshaking: 2, HandshakeTimeout: timeout}, app)
	for range 2 {
		idle := dialSwitch(t, tc.addr)
		idle.expect(tHello, "HELLO on an idle connection within the handshake limit")
	}
	start := time.Now()
	f := dialSwitch(t, tc.addr)
	f.send(tHello, helloBitmap(1<<ofVersion))
	f.expect(tHello, "HELLO once a handshake slot is free")
	if d := time.Since(start); d < timeout/2 {
		t.Errorf("third connection served after %v, before the idle ones timed out (%v)", d, timeout)
	}
	req := f.expect(tFeaturesRequest, "FEATURES_REQUEST")
	f.sendXID(tFeaturesReply, req.h.XID, featuresReply(0x5107, 0))
	f.expect(tSetConfig, "SET_CONFIG")
	req = f.expect(tMultipartRequest, "PORT_DESC request")
	f.sendXID(tMultipartReply, req.h.XID, multipartReply(mpPortDesc, 0, ofPort(1, "eth1", 0)))
	app.next(t, "up")
	if n := tc.sum(t, "ovsmesh_openflow_connections_refused_total", nil); n != 0 {
		t.Errorf("%v connections refused, want none: they wait", n)
	}
}
