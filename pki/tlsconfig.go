package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// MinVersion is the lowest TLS version ovsmesh speaks: TLS 1.2
// (RFC 5246). Open vSwitch 3.1 offers TLS 1.2 and 1.3.
const MinVersion = tls.VersionTLS12

// ErrWrongHost: a peer's certificate is valid but names another host
// than the one dialled.
var ErrWrongHost = errors.New("certificate names another host")

// ServerConfig returns the tls.Config of the controller's OpenFlow ssl:
// listener: TLS 1.2 or later; the controller's certificate as the
// loader holds it at each handshake (rotation); a client certificate
// required, verified against the loader's CA for TLS client use (Verify)
// and naming a host (IdentityOf). A refused switch's handshake fails
// with the *CertError or ErrIdentity error, which crypto/tls returns
// from Handshake as is. After the handshake, PeerIdentity gives the
// host and DPID to check against the switch's FEATURES_REPLY. Session
// tickets are off, so every connection presents its certificate.
func (l *Loader) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: MinVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := l.Current()
			return &tls.Config{
				MinVersion:   MinVersion,
				Certificates: []tls.Certificate{m.Cert},
				// RequireAnyClientCert, not RequireAndVerifyClientCert:
				// VerifyConnection verifies, so that refusals are typed
				// errors. No ClientCAs either: a client that picks its
				// certificate by the CA names asked for (crypto/tls
				// does) would send none rather than one of another CA,
				// and the refusal would not say why.
				ClientAuth:             tls.RequireAnyClientCert,
				SessionTicketsDisabled: true,
				VerifyConnection: func(cs tls.ConnectionState) error {
					_, err := l.verifyPeer(m, cs, x509.ExtKeyUsageClientAuth)
					return err
				},
			}, nil
		},
	}
}

// ClientConfig returns the tls.Config with which the controller dials
// host's ovsdb-server (ssl:IP:PORT): TLS 1.2 or later; the controller's
// certificate as the loader holds it at each handshake; the server's
// certificate verified against the loader's CA for TLS server use and,
// when host is not empty, required to name host (ErrWrongHost). No DNS
// name is checked: host certificates carry none, and ovsmesh dials IP
// addresses.
func (l *Loader) ClientConfig(host string) *tls.Config {
	return &tls.Config{
		MinVersion: MinVersion,
		// crypto/tls's own verification wants a DNS name or IP SAN that
		// matches the dialled address; VerifyConnection verifies the
		// chain and the host identity instead, on every connection.
		InsecureSkipVerify: true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c := l.Current().Cert
			return &c, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			id, err := l.verifyPeer(l.Current(), cs, x509.ExtKeyUsageServerAuth)
			if err != nil {
				return err
			}
			if host != "" && id.Host != host {
				return fmt.Errorf("%w: dialled %s, the certificate names %s", ErrWrongHost, host, id.Host)
			}
			return nil
		},
	}
}

// ServerConfig loads Files{ca, cert, key} into a Loader (NewLoader, with
// default options) and returns its ServerConfig.
func ServerConfig(ca, cert, key string) (*tls.Config, error) {
	l, err := NewLoader(Files{CA: ca, Cert: cert, Key: key}, LoaderOptions{})
	if err != nil {
		return nil, err
	}
	return l.ServerConfig(), nil
}

// ClientConfig loads Files{ca, cert, key} into a Loader (NewLoader, with
// default options) and returns its ClientConfig for host.
func ClientConfig(ca, cert, key, host string) (*tls.Config, error) {
	l, err := NewLoader(Files{CA: ca, Cert: cert, Key: key}, LoaderOptions{})
	if err != nil {
		return nil, err
	}
	return l.ClientConfig(host), nil
}

// PeerIdentity returns the host identity of a verified TLS peer: the
// IdentityOf its leaf certificate. Call it after the handshake, on a
// connection made with ServerConfig or ClientConfig.
func PeerIdentity(cs tls.ConnectionState) (Identity, error) {
	if len(cs.PeerCertificates) == 0 {
		return Identity{}, &CertError{Reason: ErrNoCertificate}
	}
	return IdentityOf(cs.PeerCertificates[0])
}

func (l *Loader) verifyPeer(m *Material, cs tls.ConnectionState, usage x509.ExtKeyUsage) (Identity, error) {
	if err := Verify(cs.PeerCertificates, m.Roots, usage, l.opts.Now()); err != nil {
		return Identity{}, err
	}
	return PeerIdentity(cs)
}
