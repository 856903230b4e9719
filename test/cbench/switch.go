package cbench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// emuSwitch is one emulated OpenFlow 1.3 switch. Its reader goroutine parses
// controller messages, counts responses and queues control replies; its
// writer goroutine writes control replies and PACKET_INs in batches. In
// throughput mode the reader never writes to the socket, so it keeps
// draining the controller's responses while a large write is blocked; in
// latency mode (one PACKET_IN in flight, a write of a few hundred bytes)
// the reader writes the next PACKET_IN itself, as cbench's single loop
// does, which saves a goroutine hand-off per response.
type emuSwitch struct {
	idx    int
	dpid   uint64
	ports  int
	window int64
	refill int64 // free slots that make the reader wake the writer
	settle time.Duration
	lossTO time.Duration
	conn   net.Conn
	base   time.Time // run start; frames carry send times relative to it

	responses   atomic.Uint64 // PACKET_OUTs carrying one of our frames
	flowMods    atomic.Uint64
	otherPOs    atomic.Uint64 // PACKET_OUTs carrying other data
	ofErrors    atomic.Uint64 // OFPT_ERROR messages received
	lost        atomic.Uint64 // PACKET_INs given up after lossTO without a response
	rttSum      atomic.Uint64 // ns, summed over responses
	outstanding atomic.Int64  // PACKET_INs sent and not yet answered
	lastResp    atomic.Int64  // ns since base of the last response
	lastSend    atomic.Int64  // ns since base of the last PACKET_IN write
	lowat       atomic.Int32  // current SO_RCVLOWAT, bytes

	started   atomic.Bool
	ready     chan struct{} // closed when the switch starts sending PACKET_INs
	firstErr  atomic.Pointer[string]
	wake      chan struct{} // capacity 1: the writer has something to do
	mu        sync.Mutex
	ctrl      []byte // control replies waiting for the writer
	tmpl      []byte // one pre-encoded PACKET_IN per MAC, back to back
	nMACs     int
	wmu       sync.Mutex // held by whoever writes: guards wbuf, next and xid
	wbuf      []byte
	next      int    // next template
	xid       uint32 // next PACKET_IN xid
	features  bool   // reader: FEATURES_REPLY queued
	missSend  uint16 // reader: miss_send_len from SET_CONFIG
	cfgFlags  uint16 // reader: flags from SET_CONFIG
	needsWake bool   // reader: wake the writer once the read buffer is drained
}

func newSwitch(idx int, cfg *Config, conn net.Conn, base time.Time) *emuSwitch {
	s := &emuSwitch{
		idx:      idx,
		dpid:     cfg.DPIDBase + uint64(idx) + 1,
		ports:    cfg.Ports,
		window:   int64(cfg.window()),
		refill:   int64(max(1, min(cfg.window()/16, 64))),
		settle:   cfg.Settle,
		lossTO:   cfg.LossTimeout,
		conn:     conn,
		base:     base,
		ready:    make(chan struct{}),
		wake:     make(chan struct{}, 1),
		nMACs:    cfg.MACs,
		missSend: 128,
		xid:      1,
		wbuf:     make([]byte, 0, 4096+cfg.window()*packetInLen),
	}
	s.lowat.Store(1)
	s.tmpl = make([]byte, 0, cfg.MACs*packetInLen)
	for i := 0; i < cfg.MACs; i++ {
		dst := (i + 1) % cfg.MACs
		if dst%cfg.Ports == i%cfg.Ports {
			// Only at the wrap-around: a learning switch sends nothing
			// when the destination sits on the input port.
			dst = (i + 2) % cfg.MACs
		}
		s.tmpl = appendPacketIn(s.tmpl, 0, idx, i%cfg.Ports+1, i, dst)
		s.tmpl[len(s.tmpl)-packetInLen+packetInTableOff] = cfg.Table
	}
	s.ctrl = appendHello(s.ctrl, 0)
	s.wake <- struct{}{}
	return s
}

// start lets the writer send PACKET_INs; it is called on the first
// controller message after FEATURES_REPLY or after the settle time.
func (s *emuSwitch) start() {
	if s.started.CompareAndSwap(false, true) {
		close(s.ready)
		s.kick()
	}
}

func (s *emuSwitch) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// unlockCtrl releases s.mu after a control reply was appended to s.ctrl.
func (s *emuSwitch) unlockCtrl() {
	s.mu.Unlock()
	s.needsWake = true
}

func (s *emuSwitch) setErr(msg string) {
	s.firstErr.CompareAndSwap(nil, &msg)
}

// writeLoop writes queued control replies and keeps the window of
// PACKET_INs full until ctx is done or a write fails.
func (s *emuSwitch) writeLoop(ctx context.Context) error {
	tick := time.NewTicker(s.lossTO / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-tick.C:
			now := int64(time.Since(s.base))
			// CompareAndSwap: a response arriving now must not make
			// outstanding negative.
			if n := s.outstanding.Load(); n > 0 && now-max(s.lastSend.Load(), s.lastResp.Load()) > int64(s.lossTO) &&
				s.outstanding.CompareAndSwap(n, 0) {
				s.lost.Add(uint64(n))
				s.setLowat(1)
			}
		}
		if err := s.writeOnce(); err != nil {
			return err
		}
	}
}

// writeOnce writes the queued control replies and as many PACKET_INs as
// the window has room for, in one write. The writer goroutine calls it;
// in latency mode the reader calls it too, as cbench's single loop does,
// which saves a goroutine hand-off per response: with one PACKET_IN
// outstanding the write is a few hundred bytes and cannot block for long.
func (s *emuSwitch) writeOnce() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	buf := s.wbuf[:0]
	s.mu.Lock()
	buf = append(buf, s.ctrl...)
	s.ctrl = s.ctrl[:0]
	s.mu.Unlock()
	if s.started.Load() {
		if n := s.window - s.outstanding.Load(); n > 0 {
			now := int64(time.Since(s.base))
			s.lastSend.Store(now)
			for ; n > 0; n-- {
				off := len(buf)
				buf = append(buf, s.tmpl[s.next*packetInLen:(s.next+1)*packetInLen]...)
				binary.BigEndian.PutUint32(buf[off+4:], s.xid)
				binary.BigEndian.PutUint64(buf[off+frameOff+sentAtOff:], uint64(now))
				s.xid++
				if s.next++; s.next == s.nMACs {
					s.next = 0
				}
				// Count before writing: the answer may arrive first.
				s.outstanding.Add(1)
			}
		}
	}
	s.wbuf = buf
	if len(buf) == 0 {
		return nil
	}
	if _, err := s.conn.Write(buf); err != nil {
		return fmt.Errorf("switch %d: write: %w", s.idx+1, err)
	}
	return nil
}

// readLoop reads controller messages until the connection fails.
func (s *emuSwitch) readLoop() error {
	r := bufio.NewReaderSize(s.conn, 256<<10)
	for {
		hb, err := r.Peek(headerLen)
		if err != nil {
			return fmt.Errorf("switch %d: read: %w", s.idx+1, err)
		}
		h := parseHeader(hb)
		if h.length < headerLen {
			return fmt.Errorf("switch %d: message length %d below header size", s.idx+1, h.length)
		}
		m, err := r.Peek(h.length)
		if err != nil {
			return fmt.Errorf("switch %d: read: %w", s.idx+1, err)
		}
		if err := s.handle(h, m); err != nil {
			return fmt.Errorf("switch %d: %w", s.idx+1, err)
		}
		if _, err := r.Discard(h.length); err != nil {
			return fmt.Errorf("switch %d: read: %w", s.idx+1, err)
		}
		if r.Buffered() < headerLen {
			if s.needsWake {
				s.needsWake = false
				if s.window == 1 {
					if err := s.writeOnce(); err != nil {
						return err
					}
				} else {
					s.kick()
				}
			}
			// Throughput mode: while many PACKET_INs are in flight, let
			// the kernel wake the reader only once several responses
			// are queued: far fewer reads for the same data.
			want := int32(1)
			if o := s.outstanding.Load(); o >= lowatMinOutstanding && 2*o >= s.window {
				want = lowatBytes
			}
			s.setLowat(want)
		}
	}
}

// With at least lowatMinOutstanding PACKET_INs in flight (each answered by
// at least 100 bytes) the reader sets SO_RCVLOWAT to lowatBytes.
const (
	lowatBytes          = 4096
	lowatMinOutstanding = 200
)

// setLowat sets the socket's SO_RCVLOWAT to n bytes if it is not n already.
// Errors are ignored: the option only saves system calls.
func (s *emuSwitch) setLowat(n int32) {
	if s.lowat.Swap(n) == n {
		return
	}
	sc, ok := s.conn.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, int(n))
	})
}

var errVersion = errors.New("controller does not speak OpenFlow 1.3")

// handle processes one controller message m with header h. It runs on the
// reader goroutine and never blocks on the socket.
func (s *emuSwitch) handle(h header, m []byte) error {
	if h.typ == ofptHello {
		if h.version < ofpVersion {
			return fmt.Errorf("hello version %d: %w", h.version, errVersion)
		}
		return nil
	}
	if h.version != ofpVersion {
		return fmt.Errorf("message type %d with version %d: %w", h.typ, h.version, errVersion)
	}
	if s.features && !s.started.Load() {
		s.start()
	}
	switch h.typ {
	case ofptPacketOut:
		s.packetOut(m)
	case ofptFlowMod:
		s.flowMods.Add(1)
	case ofptEchoRequest:
		s.mu.Lock()
		s.ctrl = appendHeader(s.ctrl, ofptEchoReply, h.length, h.xid)
		s.ctrl = append(s.ctrl, m[headerLen:]...)
		s.unlockCtrl()
	case ofptFeaturesRequest:
		s.mu.Lock()
		s.ctrl = appendFeaturesReply(s.ctrl, h.xid, s.dpid)
		s.unlockCtrl()
		if !s.features {
			s.features = true
			time.AfterFunc(s.settle, s.start)
		}
	case ofptGetConfigReq:
		s.mu.Lock()
		s.ctrl = appendGetConfigReply(s.ctrl, h.xid, s.cfgFlags, s.missSend)
		s.unlockCtrl()
	case ofptSetConfig:
		if len(m) >= 12 {
			s.cfgFlags = binary.BigEndian.Uint16(m[8:10])
			s.missSend = binary.BigEndian.Uint16(m[10:12])
		}
	case ofptBarrierRequest:
		s.mu.Lock()
		s.ctrl = appendHeader(s.ctrl, ofptBarrierReply, headerLen, h.xid)
		s.unlockCtrl()
	case ofptMultipartReq:
		if len(m) < 16 {
			return fmt.Errorf("multipart request of %d bytes", len(m))
		}
		t := binary.BigEndian.Uint16(m[8:10])
		s.mu.Lock()
		switch t {
		case ofpmpPortDesc:
			s.ctrl = appendPortDescReply(s.ctrl, h.xid, s.idx, s.ports)
		case ofpmpDesc:
			s.ctrl = appendDescReply(s.ctrl, h.xid, s.idx)
		default:
			s.ctrl = appendMultipartReplyHeader(s.ctrl, h.xid, t, 0)
		}
		s.unlockCtrl()
	case ofptError:
		s.ofErrors.Add(1)
		if len(m) >= 12 {
			s.setErr(fmt.Sprintf("switch %d: OFPT_ERROR type %d code %d (xid %d)", s.idx+1,
				binary.BigEndian.Uint16(m[8:10]), binary.BigEndian.Uint16(m[10:12]), h.xid))
		}
	}
	// SET_CONFIG, FLOW_MOD, GROUP_MOD and everything else: ignored.
	return nil
}

// packetOut counts a PACKET_OUT m: a response if it carries one of this
// switch's frames, which frees one slot of the window.
func (s *emuSwitch) packetOut(m []byte) {
	f := packetOutFrame(m)
	if len(f) < frameLen || binary.BigEndian.Uint32(f[magicOff:]) != frameMagic ||
		binary.BigEndian.Uint32(f[switchIdxOff:]) != uint32(s.idx) {
		s.otherPOs.Add(1)
		return
	}
	now := int64(time.Since(s.base))
	s.rttSum.Add(uint64(now - int64(binary.BigEndian.Uint64(f[sentAtOff:]))))
	s.lastResp.Store(now)
	s.responses.Add(1)
	for {
		o := s.outstanding.Load()
		if o <= 0 || s.outstanding.CompareAndSwap(o, o-1) {
			// Refill in batches of s.refill slots to save system calls;
			// the rest of the window keeps the controller busy meanwhile.
			if s.window-o+1 >= s.refill {
				s.needsWake = true
			}
			return
		}
	}
}
