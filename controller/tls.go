package controller

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/pki"
)

// Reasons of ovsmesh_tls_refused_total beyond pki.Reasons (the
// certificate and handshake refusals: plaintext, peer_alert,
// no_certificate, unknown_ca, expired, not_yet_valid, key_usage,
// invalid_certificate, no_identity, handshake).
const (
	// tlsTimeout: the TLS handshake did not finish within
	// Options.HandshakeTimeout (a silent or slow peer).
	tlsTimeout = "timeout"
	// tlsIdentity: the DPID of FEATURES_REPLY is not the one the
	// certificate binds to its host.
	tlsIdentity = "identity"
)

// tlsReasons lists every reason, for exporting them at 0; wrong_host
// is a dialling side's reason and never happens here.
var tlsReasons = append(slices.DeleteFunc(slices.Clone(pki.Reasons), func(r string) bool { return r == pki.ReasonWrongHost }),
	tlsTimeout, tlsIdentity)

// errIdentityMismatch is wrapped by the refusal of a switch whose
// FEATURES_REPLY datapath ID is not its certificate's.
var errIdentityMismatch = errors.New("datapath ID is not the one its certificate binds")

// tlsRefusal is why a switch on a TLS listener was refused: during the
// TLS handshake, or after FEATURES_REPLY when its DPID is not its
// certificate's.
type tlsRefusal struct {
	// reason is one of the tls* reason labels.
	reason string
	// peer is the certificate's identity; zero when the handshake failed.
	peer pki.Identity
	// dpid is the datapath ID the switch reported; 0 before
	// FEATURES_REPLY.
	dpid flows.DPID
	err  error
}

func (r *tlsRefusal) Error() string { return r.err.Error() }
func (r *tlsRefusal) Unwrap() error { return r.err }

// tlsListener marks a listener of Options.TLSListen. Accept returns the
// plain TCP connection: the TLS handshake runs in the session, inside
// the connection's handshake slot and under its deadline, never in the
// accept loop.
type tlsListener struct{ net.Listener }

// serverTLS returns the configuration of the TLS listeners: cfg, with
// TLS 1.2 (RFC 5246) as the lowest version whatever cfg or the
// configurations its GetConfigForClient returns ask for.
func serverTLS(cfg *tls.Config) *tls.Config {
	cfg = cfg.Clone()
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	if get := cfg.GetConfigForClient; get != nil {
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			c, err := get(hello)
			if c != nil {
				c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
			}
			return c, err
		}
	}
	return cfg
}

// tlsHandshake runs the server side of the TLS handshake (RFC 8446
// §4, RFC 5246 §7.3) of a connection from a TLS listener, bounded by
// Options.HandshakeTimeout, and records the identity of the switch's
// certificate (pki.PeerIdentity). A connection from a plain listener
// is left alone. Errors are *tlsRefusal; a peer that spoke plaintext
// OpenFlow gets an OFPT_ERROR (OFPET_HELLO_FAILED, OFPHFC_EPERM,
// OpenFlow 1.3.5 §7.5.4.1) in plaintext saying why, which OVS logs.
func (s *session) tlsHandshake() error {
	tc, ok := s.conn.(*tls.Conn)
	if !ok {
		return nil
	}
	s.raw.SetDeadline(time.Now().Add(s.c.opts.HandshakeTimeout))
	defer s.raw.SetDeadline(time.Time{})
	if err := tc.Handshake(); err != nil {
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) && rh.Conn != nil {
			if b, eerr := flows.Encode(nil, 0, flows.Error{Type: flows.ErrTypeHelloFailed, Code: ofphfcEPerm,
				Data: []byte("ovsmesh: this listener takes OpenFlow over TLS only (an ssl: controller target)")}); eerr == nil {
				rh.Conn.Write(b)
			}
		}
		return &tlsRefusal{reason: tlsReason(err), err: fmt.Errorf("tls handshake: %w", err)}
	}
	cs := tc.ConnectionState()
	id, err := pki.PeerIdentity(cs)
	if err != nil {
		return &tlsRefusal{reason: tlsReason(err), err: fmt.Errorf("tls peer: %w", err)}
	}
	s.peer = &id
	s.log = s.log.With("cert_host", id.Host)
	s.tlsVersion = tls.VersionName(cs.Version)
	return nil
}

// ofphfcEPerm is OFPHFC_EPERM, "permissions error" (OpenFlow 1.3.5
// §7.5.4.1).
const ofphfcEPerm = flows.ErrCode(1)

// checkIdentity refuses a TLS switch whose FEATURES_REPLY datapath ID is
// not the one its certificate binds to its host: a certificate stolen
// from one host cannot drive another host's bridge. Plain connections
// pass.
func (s *session) checkIdentity(dpid flows.DPID) error {
	if s.peer == nil || dpid == s.peer.DPID {
		return nil
	}
	return &tlsRefusal{reason: tlsIdentity, peer: *s.peer, dpid: dpid,
		err: fmt.Errorf("%w: the switch reports datapath ID %s, its certificate is host %s's, which binds %s",
			errIdentityMismatch, dpid, s.peer.Host, s.peer.DPID)}
}

// tlsReason labels a TLS refusal: pki.Reason, else timeout for a
// handshake cut by the deadline, else handshake (the peer closed the
// connection midway).
func tlsReason(err error) string {
	var ne net.Error
	switch r := pki.Reason(err); {
	case r != "":
		return r
	case errors.As(err, &ne) && ne.Timeout():
		return tlsTimeout
	}
	return pki.ReasonHandshake
}

// refuseTLS counts a refused TLS switch and logs it, at most once a
// second per reason (with the number of refusals not logged since):
// the remote address and why, and for an identity refusal both
// identities, the certificate's host and DPID and the reported DPID.
func (c *Controller) refuseTLS(s *session, r *tlsRefusal) {
	c.metrics.tlsRefused.WithLabelValues(r.reason).Inc()
	c.mu.Lock()
	rl := c.tlsLog[r.reason]
	if rl == nil {
		rl = &rateLog{}
		c.tlsLog[r.reason] = rl
	}
	n, due := rl.due(time.Now())
	c.mu.Unlock()
	if !due {
		return
	}
	if r.reason == tlsIdentity {
		// s.log carries remote, cert_host and dpid (the reported one).
		s.log.Warn("switch refused: its datapath ID is not the one its certificate binds", "reason", r.reason,
			"cert_dpid", r.peer.DPID.String(), "err", r.err, "refused_since_last_log", n)
		return
	}
	s.log.Warn("switch refused: TLS", "reason", r.reason, "err", r.err, "refused_since_last_log", n)
}
