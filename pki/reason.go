package pki

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
)

// Labels Reason gives a refused TLS connection, for metrics
// (ovsmesh_tls_refused_total, ovsmesh_ovsdb_tls_refused_total) and
// logs.
const (
	// ReasonPlaintext: the peer did not speak TLS (its first bytes are
	// no TLS record: plain OpenFlow or OVSDB on a TLS port, RFC 8446
	// §5.1).
	ReasonPlaintext = "plaintext"
	// ReasonPeerAlert: the peer aborted the handshake with an alert
	// (RFC 8446 §6.2), typically because it does not trust this side's
	// certificate: its CA file does not hold the CA that signed it.
	ReasonPeerAlert = "peer_alert"
	// ReasonNoCertificate: the peer presented no certificate.
	ReasonNoCertificate = "no_certificate"
	// ReasonUnknownCA: ErrUnknownCA.
	ReasonUnknownCA = "unknown_ca"
	// ReasonExpired: ErrExpired.
	ReasonExpired = "expired"
	// ReasonNotYetValid: ErrNotYetValid.
	ReasonNotYetValid = "not_yet_valid"
	// ReasonKeyUsage: ErrKeyUsage.
	ReasonKeyUsage = "key_usage"
	// ReasonInvalid: ErrInvalid.
	ReasonInvalid = "invalid_certificate"
	// ReasonNoIdentity: ErrIdentity, the certificate names no host.
	ReasonNoIdentity = "no_identity"
	// ReasonWrongHost: ErrWrongHost, the certificate names another
	// host than the one dialled.
	ReasonWrongHost = "wrong_host"
	// ReasonHandshake: any other failure crypto/tls reports (no common
	// version or cipher suite, a malformed message).
	ReasonHandshake = "handshake"
)

// Reasons lists every label Reason gives, for exporting each at 0.
var Reasons = []string{ReasonPlaintext, ReasonPeerAlert, ReasonNoCertificate, ReasonUnknownCA, ReasonExpired,
	ReasonNotYetValid, ReasonKeyUsage, ReasonInvalid, ReasonNoIdentity, ReasonWrongHost, ReasonHandshake}

// Reason labels the error of a TLS handshake made with ServerConfig or
// ClientConfig (or of PeerIdentity after it) with one of the Reason*
// constants, or returns "" when err carries no TLS-level cause: a TCP
// connection refused, a timeout, a connection closed midway. The
// caller names those itself.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var rh tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.As(err, &rh):
		return ReasonPlaintext
	case errors.Is(err, ErrNoCertificate),
		// crypto/tls's own refusal under RequireAnyClientCert, which has
		// no type of its own.
		strings.Contains(err.Error(), "didn't provide a certificate"):
		return ReasonNoCertificate
	case errors.Is(err, ErrUnknownCA):
		return ReasonUnknownCA
	case errors.Is(err, ErrExpired):
		return ReasonExpired
	case errors.Is(err, ErrNotYetValid):
		return ReasonNotYetValid
	case errors.Is(err, ErrKeyUsage):
		return ReasonKeyUsage
	case errors.Is(err, ErrInvalid):
		return ReasonInvalid
	case errors.Is(err, ErrIdentity):
		return ReasonNoIdentity
	case errors.Is(err, ErrWrongHost):
		return ReasonWrongHost
	case errors.As(err, &op) && op.Op == "remote error": // crypto/tls's form of a received alert
		return ReasonPeerAlert
	case errors.As(err, new(tls.AlertError)), strings.Contains(err.Error(), "tls: "):
		return ReasonHandshake
	}
	return ""
}
