package controller

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// maxEarlyBytes bounds the port-status and flow-removed messages held
// while the handshake is still running, in message bytes.
const maxEarlyBytes = 4 << 20

// errNotAdmitted is wrapped by the handshake's error when Options.Admit
// refuses the DPID a switch claims from its address.
var errNotAdmitted = errors.New("datapath ID refused")

// handshake runs, on a connection from a TLS listener, the TLS
// handshake (tlsHandshake), then HELLO with version negotiation, FEATURES_REQUEST,
// SET_CONFIG (miss_send_len OFPCML_NO_BUFFER) and the PORT_DESC multipart
// exchange (OpenFlow 1.3.5 §6.3.1, §7.3.1, §7.3.2, §7.3.5.7). Echo
// requests are answered throughout; port-status and flow-removed messages
// that arrive early are returned to be handled after SwitchUp, and early
// packet-ins are dropped (nothing is installed yet to make use of them).
func (s *session) handshake() (early []any, err error) {
	if err := s.tlsHandshake(); err != nil {
		return nil, err
	}
	s.conn.SetReadDeadline(time.Now().Add(s.c.opts.HandshakeTimeout))
	defer s.conn.SetReadDeadline(time.Time{})

	if err := s.w.send(flows.Hello{}); err != nil {
		return nil, err
	}
	h, body, err := s.r.Next()
	if err != nil {
		return nil, fmt.Errorf("waiting for hello: %w", err)
	}
	if h.Type != flows.MsgHello {
		return nil, fmt.Errorf("first message is %s, want HELLO", h.Type)
	}
	if err := flows.NegotiateHello(h, body); err != nil {
		// OpenFlow 1.3.5 §6.3.1: refuse with OFPET_HELLO_FAILED /
		// OFPHFC_INCOMPATIBLE and a text naming what we speak.
		s.w.send(flows.HelloFailed("ovsmesh speaks only OpenFlow 1.3 (wire version 0x04)"))
		s.w.stop()
		return nil, fmt.Errorf("version negotiation failed: %w", err)
	}

	featuresXID := s.w.nextXID()
	if _, err := s.w.sendXID(featuresXID, flows.FeaturesRequest{}); err != nil {
		return nil, err
	}
	var features flows.Features
	if err := s.readUntil(&early, func(xid uint32, msg any) bool {
		f, ok := msg.(flows.Features)
		if ok && xid == featuresXID {
			features = f
		}
		return ok && xid == featuresXID
	}); err != nil {
		return nil, err
	}
	if features.AuxiliaryID != 0 {
		return nil, fmt.Errorf("auxiliary connection %d of datapath %s is not supported", features.AuxiliaryID, features.DPID)
	}
	s.dpid = features.DPID
	s.log = s.log.With("dpid", s.dpid.String())
	if err := s.checkIdentity(s.dpid); err != nil {
		return nil, err
	}
	if admit := s.c.opts.Admit; admit != nil {
		if err := admit(s.dpid, remoteAddr(s.conn)); err != nil {
			return nil, fmt.Errorf("%w: %w", errNotAdmitted, err)
		}
	}

	portsXID := s.w.nextXID()
	if err := s.w.send(flows.SetConfig{MissSendLen: flows.MaxLenNoBuffer}); err != nil {
		return nil, err
	}
	if _, err := s.w.sendXID(portsXID, flows.PortDescRequest{}); err != nil {
		return nil, err
	}
	var perr error
	maxBytes, got := s.c.opts.MaxPorts*ofpPortLen, 0
	err = s.readUntil(&early, func(xid uint32, msg any) bool {
		mp, ok := msg.(flows.MultipartReply)
		if !ok || xid != portsXID {
			return false
		}
		if got += len(mp.Body); got > maxBytes {
			perr = fmt.Errorf("port list of more than %d ports (%d bytes): refused", s.c.opts.MaxPorts, maxBytes)
			return true
		}
		ports, err := flows.DecodePortDesc(mp.Body)
		if err != nil {
			perr = err
			return true
		}
		for _, p := range ports {
			s.ports[p.No] = p
		}
		return !mp.More
	})
	if err == nil && perr != nil {
		err = fmt.Errorf("handshake: %w", perr)
	}
	return early, err
}

// readUntil reads and decodes messages until done reports true, answering
// echo requests, failing on switch errors and on malformed messages, and
// keeping early port-status and flow-removed events.
func (s *session) readUntil(early *[]any, done func(xid uint32, msg any) bool) error {
	held := 0
	for {
		h, body, err := s.r.Next()
		if err != nil {
			return fmt.Errorf("handshake: %w", err)
		}
		if h.Version != flows.Version {
			return fmt.Errorf("handshake: %s with wire version %#02x after negotiating 0x04", h.Type, h.Version)
		}
		msg, err := flows.Decode(h, body)
		if errors.Is(err, flows.ErrUnexpectedType) {
			continue
		}
		if err != nil {
			return fmt.Errorf("handshake: %w", err)
		}
		if done(h.XID, msg) {
			return nil
		}
		switch m := msg.(type) {
		case flows.EchoRequest:
			s.w.sendXID(h.XID, flows.EchoReply{Data: m.Data})
		case flows.SwitchError:
			return fmt.Errorf("handshake: switch error: %w", m)
		case flows.PortStatus, *flows.FlowRemoved:
			if held += int(h.Length) + eventOverhead; held > maxEarlyBytes {
				return fmt.Errorf("handshake: more than %d bytes of events before the port list", maxEarlyBytes)
			}
			*early = append(*early, m)
		}
	}
}

// remoteAddr returns the IP address a connection comes from, unmapped
// from IPv6 (::ffff:a.b.c.d is a.b.c.d), or the zero Addr when it is not
// an IP connection.
func remoteAddr(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// ofpPortLen is the size of an ofp_port in bytes (OpenFlow 1.3.5 §7.2.1):
// a PORT_DESC reply holds only these.
const ofpPortLen = 64
