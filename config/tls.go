package config

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ovsmesh/ovsmesh/pki"
)

// TLS is the controller's side of TLS: the files of the OpenFlow ssl:
// listeners (switches present host certificates signed by CA) and of
// the controller's OVSDB client (ssl: hosts[].ovsdb). `ovsmesh pki
// init` makes them; docs/security.md describes them. The files are read
// again when they change on disk; their paths need a restart.
type TLS struct {
	// CA is a PEM file of the CA certificates that sign host
	// certificates (one or more).
	CA string `yaml:"ca,omitempty"`
	// Cert is a PEM file whose first certificate is the controller's.
	Cert string `yaml:"cert,omitempty"`
	// Key is the PEM file of Cert's private key, unencrypted.
	Key string `yaml:"key,omitempty"`
}

// Enabled reports whether the section is given.
func (t TLS) Enabled() bool { return t.CA != "" || t.Cert != "" || t.Key != "" }

// Files returns the section as pki.Files.
func (t TLS) Files() pki.Files { return pki.Files{CA: t.CA, Cert: t.Cert, Key: t.Key} }

// HostTLS names files on a host, written into its Open_vSwitch SSL row
// (ovs-vsctl set-ssl KEY CERT CA): what ovs-vswitchd presents to the
// controller and checks it against. The controller never reads them.
type HostTLS struct {
	// Cert is the host's certificate (`ovsmesh pki issue` makes
	// HOST-cert.pem), an absolute path on the host.
	Cert string `yaml:"cert,omitempty"`
	// Key is the certificate's private key (HOST-privkey.pem), an
	// absolute path on the host.
	Key string `yaml:"key,omitempty"`
	// CA is the CA certificate the controller's certificate must chain
	// to, an absolute path on the host.
	CA string `yaml:"ca,omitempty"`
}

// Enabled reports whether the section is given.
func (h HostTLS) Enabled() bool { return h.Cert != "" || h.Key != "" || h.CA != "" }

// Endpoint schemes ParseEndpoint knows.
const (
	SchemeTCP  = "tcp"
	SchemeSSL  = "ssl"
	SchemeUnix = "unix"
)

// ParseEndpoint parses an address in OVS syntax: "tcp:[IP]:PORT" or
// "ssl:[IP]:PORT" into its scheme and a host:port address for net.Listen
// or net.Dial (the IP may be empty: every address; an IPv6 address is
// bracketed), or "unix:PATH" into "unix" and the path. Errors name the
// text.
func ParseEndpoint(s string) (scheme, addr string, err error) {
	scheme, rest, ok := strings.Cut(s, ":")
	switch {
	case !ok:
		return "", "", fmt.Errorf("%q: want tcp:[IP]:PORT, ssl:[IP]:PORT or unix:PATH", s)
	case scheme == SchemeUnix:
		if rest == "" {
			return "", "", fmt.Errorf("%q has no socket path", s)
		}
		return scheme, rest, nil
	case scheme != SchemeTCP && scheme != SchemeSSL:
		return "", "", fmt.Errorf("%q: unknown scheme %q (want tcp, ssl or unix)", s, scheme)
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return "", "", fmt.Errorf("%q: %w", s, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("%q: port %q is not 1..65535", s, port)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return "", "", fmt.Errorf("%q: %w", s, err)
		}
	}
	return scheme, rest, nil
}

// PlainListeners returns the openflow.listen entries that are tcp:, for
// the daemon to warn about when tls is given: switches can connect there
// without a certificate.
func (c Config) PlainListeners() []string {
	var out []string
	for _, l := range c.OpenFlow.Listen {
		if strings.HasPrefix(l, SchemeTCP+":") {
			out = append(out, l)
		}
	}
	return out
}

// validateTLS checks the tls section: all three files given, readable
// and PEM; the key is the certificate's; the certificate is valid now
// and allows the uses the file makes of it (TLS server for ssl:
// listeners, TLS client for ssl: OVSDB hosts).
func (c *Config) validateTLS() error {
	t := c.TLS
	if !t.Enabled() {
		return nil
	}
	for _, f := range []struct{ name, path string }{{"ca", t.CA}, {"cert", t.Cert}, {"key", t.Key}} {
		if f.path == "" {
			return fieldErr("is required when tls is given (ca, cert and key)", "tls", f.name)
		}
	}
	if _, err := pki.ReadPool(t.CA); err != nil {
		return fieldErr(err.Error(), "tls", "ca")
	}
	if _, err := pki.ReadCertificates(t.Cert); err != nil {
		return fieldErr(err.Error(), "tls", "cert")
	}
	if _, err := pki.ReadKey(t.Key); err != nil {
		return fieldErr(err.Error(), "tls", "key")
	}
	pair, err := pki.LoadKeyPair(t.Cert, t.Key)
	if err != nil {
		return fieldErr(err.Error(), "tls", "key")
	}
	var usages []x509.ExtKeyUsage
	if len(c.PlainListeners()) < len(c.OpenFlow.Listen) {
		usages = append(usages, x509.ExtKeyUsageServerAuth)
	}
	for _, h := range c.Hosts {
		if strings.HasPrefix(h.OVSDB, SchemeSSL+":") {
			usages = append(usages, x509.ExtKeyUsageClientAuth)
			break
		}
	}
	if err := pki.CheckCertificate(pair.Cert, time.Now(), usages...); err != nil {
		return fieldErr(err.Error(), "tls", "cert")
	}
	return nil
}

// validate checks a host's tls section: all three paths given and
// absolute. They are paths on the host, not checked here.
func (h HostTLS) validate() error {
	if !h.Enabled() {
		return nil
	}
	for _, f := range []struct{ name, path string }{{"cert", h.Cert}, {"key", h.Key}, {"ca", h.CA}} {
		switch {
		case f.path == "":
			return FieldErr("is required when the host's tls is given (cert, key and ca)", "tls", f.name)
		case !path.IsAbs(f.path):
			return FieldErr(fmt.Sprintf("%q: want an absolute path on the host", f.path), "tls", f.name)
		}
	}
	return nil
}

// checkOpenFlow checks an OpenFlow listener (listen: the IP may be
// empty) or controller target: tcp: or ssl:, and ssl: only with the tls
// section. It returns the host:port address.
func (c *Config) checkOpenFlow(s string, listen bool) (string, error) {
	scheme, _, _ := strings.Cut(s, ":")
	_, addr, err := ParseEndpoint(s)
	switch {
	case listen && scheme != SchemeTCP && scheme != SchemeSSL:
		return "", fmt.Errorf("%q: want tcp:[IP]:PORT or ssl:[IP]:PORT", s)
	case listen && err != nil:
		return "", err
	case !listen && (err != nil || scheme == SchemeUnix || strings.HasPrefix(addr, ":")):
		return "", fmt.Errorf("%q is not a controller target of the form tcp:IP:PORT or ssl:IP:PORT", s)
	case scheme == SchemeSSL && !c.TLS.Enabled():
		return "", fmt.Errorf("%q needs the tls section (ca, cert and key)", s)
	}
	return addr, nil
}

// prefixErr puts prefix before the path of a *FieldError from a nested
// validate method.
func prefixErr(err error, prefix ...string) error {
	fe, ok := err.(*FieldError)
	if !ok {
		return err
	}
	fe.path = append(append([]string{}, prefix...), fe.path...)
	fe.Field = joinPath(fe.path)
	return fe
}
