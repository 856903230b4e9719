package pki

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	ca := mustCA(t, "ovsmesh CA", Options{NotBefore: t0.Add(-24 * time.Hour)})
	other := mustCA(t, "ovsmesh CA", Options{NotBefore: t0.Add(-24 * time.Hour)}) // same name, other key
	shortCA := mustCA(t, "short CA", Options{NotBefore: t0.Add(-2 * time.Hour), Validity: time.Hour})
	good := mustHost(t, ca, "h1", Options{NotBefore: t0.Add(-time.Hour)})
	expired := mustHost(t, ca, "h1", Options{NotBefore: t0.Add(-3 * time.Hour), Validity: time.Hour})
	future := mustHost(t, ca, "h1", Options{NotBefore: t0.Add(time.Hour)})
	foreign := mustHost(t, other, "h1", Options{NotBefore: t0.Add(-time.Hour)})
	underShort := mustHost(t, shortCA, "h1", Options{NotBefore: t0.Add(-2 * time.Hour)}) // clamped to the CA: expired too
	serverOnly := withUsage(t, ca, "h1", x509.ExtKeyUsageServerAuth, Options{NotBefore: t0.Add(-time.Hour)})
	clientOnly := withUsage(t, ca, "h1", x509.ExtKeyUsageClientAuth, Options{NotBefore: t0.Add(-time.Hour)})
	pool := func(cas ...*CA) *x509.CertPool {
		p := x509.NewCertPool()
		for _, c := range cas {
			p.AddCert(c.Cert)
		}
		return p
	}
	client, server := x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth
	tests := []struct {
		name   string
		chain  []*x509.Certificate
		roots  *x509.CertPool
		usage  x509.ExtKeyUsage
		reason error // nil: accepted
		msg    string
	}{
		{"good client", []*x509.Certificate{good.Cert}, pool(ca), client, nil, ""},
		{"good server", []*x509.Certificate{good.Cert}, pool(ca), server, nil, ""},
		{"bundle of CAs", []*x509.Certificate{foreign.Cert}, pool(ca, other), client, nil, ""},
		{"no certificate", nil, pool(ca), client, ErrNoCertificate, "no certificate presented"},
		{"expired", []*x509.Certificate{expired.Cert}, pool(ca), client, ErrExpired,
			`certificate "h1" (issuer "ovsmesh CA"): certificate has expired: valid until 2030-06-01T10:00:00Z, checked at 2030-06-01T12:00:00Z`},
		{"not yet valid", []*x509.Certificate{future.Cert}, pool(ca), client, ErrNotYetValid,
			"certificate is not valid yet: valid from 2030-06-01T13:00:00Z"},
		{"other CA of the same name", []*x509.Certificate{foreign.Cert}, pool(ca), client, ErrUnknownCA,
			`certificate "h1" (issuer "ovsmesh CA"): certificate is not signed by the configured CA`},
		{"expired CA", []*x509.Certificate{underShort.Cert}, pool(shortCA), client, ErrExpired, "valid until 2030-06-01T11:00:00Z"},
		{"server-only as client", []*x509.Certificate{serverOnly.Cert}, pool(ca), client, ErrKeyUsage,
			"extended key usage does not allow this use (wanted for TLS client)"},
		{"client-only as server", []*x509.Certificate{clientOnly.Cert}, pool(ca), server, ErrKeyUsage, "(wanted for TLS server)"},
		{"a CA is not a peer of the mesh's CA", []*x509.Certificate{other.Cert}, pool(ca), client, ErrUnknownCA, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.chain, tc.roots, tc.usage, t0)
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			var ce *CertError
			if !errors.Is(err, tc.reason) || !errors.As(err, &ce) {
				t.Fatalf("Verify = %v, want a *CertError wrapping %v", err, tc.reason)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q, want it to contain %q", err, tc.msg)
			}
			if tc.reason != ErrNoCertificate && ce.Err == nil {
				t.Errorf("the x509 error is not kept")
			}
		})
	}
}
