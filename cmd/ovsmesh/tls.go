package main

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/pki"
)

// listeners splits openflow.listen into plain (tcp:) and TLS (ssl:)
// host:port addresses for controller.Options.Listen and TLSListen.
// Errors name the entry.
func listeners(cfg config.Config) (plain, secure []string, err error) {
	for i, l := range cfg.OpenFlow.Listen {
		scheme, addr, perr := config.ParseEndpoint(l)
		switch {
		case perr != nil:
			return nil, nil, fmt.Errorf("openflow.listen[%d]: %w", i, perr)
		case scheme == config.SchemeTCP:
			plain = append(plain, addr)
		case scheme == config.SchemeSSL && cfg.TLS.Enabled():
			secure = append(secure, addr)
		case scheme == config.SchemeSSL:
			return nil, nil, fmt.Errorf("openflow.listen[%d]: %q needs the tls section (ca, cert and key)", i, l)
		default:
			return nil, nil, fmt.Errorf("openflow.listen[%d]: %q: want tcp:[IP]:PORT or ssl:[IP]:PORT", i, l)
		}
	}
	return plain, secure, nil
}

// newTLSLoader loads the tls section's files for the OpenFlow ssl:
// listeners and the ssl: OVSDB sessions, or returns nil when the
// section is not given. The controller's certificate must allow TLS
// server use when a listener is ssl: and TLS client use when a host's
// OVSDB is ssl: (RFC 5280 §4.2.1.12), as config validation checked.
// Files re-read after a change on disk (rotation) are logged, and so
// are changed files that are refused, the previous ones staying in use.
// It warns about tcp: listeners next to tls: switches connect there
// without a certificate.
func newTLSLoader(cfg config.Config, log *slog.Logger) (*pki.Loader, error) {
	if !cfg.TLS.Enabled() {
		return nil, nil
	}
	usages := []x509.ExtKeyUsage{}
	if len(cfg.PlainListeners()) < len(cfg.OpenFlow.Listen) {
		usages = append(usages, x509.ExtKeyUsageServerAuth)
	}
	for _, h := range cfg.Hosts {
		if strings.HasPrefix(h.OVSDB, config.SchemeSSL+":") {
			usages = append(usages, x509.ExtKeyUsageClientAuth)
			break
		}
	}
	l, err := pki.NewLoader(cfg.TLS.Files(), pki.LoaderOptions{Usages: usages, OnReload: func(f pki.Files, err error) {
		if err != nil {
			log.Warn("tls: changed files refused; the previous certificate stays in use", "cert", f.Cert, "key", f.Key, "ca", f.CA, "err", err)
			return
		}
		log.Info("tls: changed files re-read; the next connections use them", "cert", f.Cert, "key", f.Key, "ca", f.CA)
	}})
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	c := l.Current().Pair.Cert
	log.Info("tls: controller certificate loaded", "cert", cfg.TLS.Cert, "subject", c.Subject.CommonName,
		"issuer", c.Issuer.CommonName, "not_after", c.NotAfter.UTC().Format(time.RFC3339))
	for _, p := range cfg.PlainListeners() {
		log.Warn("openflow.listen has a tcp: listener next to tls: switches connect there without a certificate",
			"listener", p)
	}
	return l, nil
}
