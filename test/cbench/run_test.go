package cbench

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// fakeController is a minimal OpenFlow 1.3 controller on loopback: it
// handshakes, checks the switch's answers to control requests and answers
// every PACKET_IN with a FLOW_MOD and a PACKET_OUT carrying the frame.
type fakeController struct {
	ln       net.Listener
	dropNth  int // drop the Nth PACKET_IN of each connection (0: none)
	mu       sync.Mutex
	maxInFly int // highest number of unanswered PACKET_INs seen
	errs     []error
	wg       sync.WaitGroup
}

func newFakeController(t *testing.T, dropNth int) *fakeController {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeController{ln: ln, dropNth: dropNth}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer c.Close()
				if err := f.serve(c); err != nil {
					f.mu.Lock()
					f.errs = append(f.errs, err)
					f.mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		f.wg.Wait()
	})
	return f
}

// expected replies to the requests sent after the handshake, by xid.
var fakeRequests = []struct {
	xid     uint32
	msg     []byte
	typ     uint8
	length  int
	mpType  int // -1: not a multipart reply
	comment string
}{
	{11, append(appendHeader(nil, ofptEchoRequest, 12, 11), 1, 2, 3, 4), ofptEchoReply, 12, -1, "echo"},
	{12, appendHeader(nil, ofptBarrierRequest, 8, 12), ofptBarrierReply, 8, -1, "barrier"},
	{13, append(appendHeader(nil, ofptMultipartReq, 16, 13), 0, 13, 0, 0, 0, 0, 0, 0), ofptMultipartReply, 16 + 4*64, 13, "port desc"},
	{14, append(appendHeader(nil, ofptMultipartReq, 16, 14), 0, 0, 0, 0, 0, 0, 0, 0), ofptMultipartReply, 16 + 1056, 0, "desc"},
	{15, append(appendHeader(nil, ofptMultipartReq, 16, 15), 0, 3, 0, 0, 0, 0, 0, 0), ofptMultipartReply, 16, 3, "table stats"},
	{16, appendHeader(nil, ofptGetConfigReq, 8, 16), ofptGetConfigReply, 12, -1, "get config"},
}

func (f *fakeController) serve(c net.Conn) error {
	w := bufio.NewWriterSize(c, 1<<20) // never flushes on its own: in-flight counts are exact
	w.Write(appendHello(nil, 1))
	w.Write(appendHeader(nil, ofptFeaturesRequest, 8, 2))
	for _, r := range fakeRequests {
		w.Write(r.msg)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	pending := map[uint32]int{}
	for i, q := range fakeRequests {
		pending[q.xid] = i
	}
	inFly, nIn := 0, 0
	for {
		hb, err := r.Peek(8)
		if err != nil {
			return nil // the run is over
		}
		h := parseHeader(hb)
		m := make([]byte, h.length)
		if _, err := io.ReadFull(r, m); err != nil {
			return nil
		}
		switch h.typ {
		case ofptHello:
		case ofptFeaturesReply:
			if h.length != 32 || h.xid != 2 {
				return fmt.Errorf("features reply length %d xid %d", h.length, h.xid)
			}
		case ofptPacketIn:
			nIn++
			if nIn == f.dropNth {
				continue
			}
			inFly++
			f.mu.Lock()
			f.maxInFly = max(f.maxInFly, inFly)
			f.mu.Unlock()
			w.Write(appendHeader(nil, ofptFlowMod, 56, 0))
			w.Write(make([]byte, 48))
			w.Write(appendPacketOut(nil, 0, m[frameOff:]))
		default:
			i, ok := pending[h.xid]
			if !ok {
				return fmt.Errorf("unexpected message type %d xid %d", h.typ, h.xid)
			}
			q := fakeRequests[i]
			delete(pending, h.xid)
			if h.typ != q.typ || h.length != q.length ||
				(q.mpType >= 0 && int(binary.BigEndian.Uint16(m[8:10])) != q.mpType) {
				return fmt.Errorf("%s: reply type %d length %d (%x)", q.comment, h.typ, h.length, m)
			}
		}
		if r.Buffered() < 8 {
			inFly = 0 // everything read so far is answered by this flush
			if err := w.Flush(); err != nil {
				return nil
			}
		}
	}
}

func (f *fakeController) check(t *testing.T) int {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, err := range f.errs {
		t.Error(err)
	}
	return f.maxInFly
}

func testConfig(addr string, mode Mode) Config {
	return Config{
		Controller: addr,
		Switches:   3,
		MACs:       10,
		Mode:       mode,
		Window:     400, // above lowatMinOutstanding: SO_RCVLOWAT is used
		Loops:      2,
		Duration:   200 * time.Millisecond,
		Warmup:     100 * time.Millisecond,
	}
}

func TestRunModes(t *testing.T) {
	for _, mode := range []Mode{Latency, Throughput} {
		t.Run(string(mode), func(t *testing.T) {
			f := newFakeController(t, 0)
			res, err := Run(context.Background(), testConfig(f.ln.Addr().String(), mode))
			if err != nil {
				t.Fatal(err)
			}
			inFly := f.check(t)
			if len(res.Loops) != 2 || res.Median <= 0 || res.Min > res.Median || res.Median > res.Max {
				t.Fatalf("bad summary: %+v", res)
			}
			for _, l := range res.Loops {
				if l.Responses == 0 || l.MinSwitchPerSec <= 0 {
					t.Fatalf("a switch got no responses: %+v", l)
				}
				// One FLOW_MOD per PACKET_OUT, give or take those in flight at the loop edges.
				if d := l.FlowModsPerSec - l.ResponsesPerSec; d*l.Seconds > 3*400 || -d*l.Seconds > 3*400 {
					t.Fatalf("flow-mods %f/s vs responses %f/s", l.FlowModsPerSec, l.ResponsesPerSec)
				}
			}
			if res.Lost != 0 || res.Errors != 0 || res.OtherPacketOuts != 0 {
				t.Fatalf("lost %d, errors %d, other packet-outs %d", res.Lost, res.Errors, res.OtherPacketOuts)
			}
			want := 1
			if mode == Throughput {
				want = 400
			}
			if inFly > want || (mode == Throughput && inFly < 2) {
				t.Fatalf("controller saw %d packet-ins in flight, window %d", inFly, want)
			}
		})
	}
}

// TestRunLoss drops one PACKET_IN per switch in latency mode: the switch
// must give it up after LossTimeout and carry on.
func TestRunLoss(t *testing.T) {
	f := newFakeController(t, 5)
	cfg := testConfig(f.ln.Addr().String(), Latency)
	cfg.LossTimeout = 100 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t)
	// At least one per switch; a loaded machine may stall a switch for
	// longer than 100ms and give up a few more.
	if res.Lost < 3 {
		t.Fatalf("lost %d packet-ins, want at least 3 (one per switch)", res.Lost)
	}
	if res.Loops[1].Responses == 0 {
		t.Fatal("no responses after the loss")
	}
}

func TestRunNoController(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig(addr, Latency)
	cfg.ConnectTimeout = 200 * time.Millisecond
	if _, err := Run(context.Background(), cfg); err == nil {
		t.Fatal("run without a controller succeeded")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Controller: "x:1", Mode: "fast"},
		{Controller: "x:1", MACs: 1},
		{Controller: "x:1", Ports: 1},
		{},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}
