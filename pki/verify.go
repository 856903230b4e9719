package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reasons a certificate is refused. A *CertError wraps exactly one of
// them; test with errors.Is.
var (
	// ErrNoCertificate: the peer sent no certificate.
	ErrNoCertificate = errors.New("no certificate presented")
	// ErrExpired: the current time is after the certificate's NotAfter
	// (RFC 5280 §4.1.2.5).
	ErrExpired = errors.New("certificate has expired")
	// ErrNotYetValid: the current time is before the certificate's
	// NotBefore.
	ErrNotYetValid = errors.New("certificate is not valid yet")
	// ErrUnknownCA: the certificate does not chain to the configured
	// CA (RFC 5280 §6).
	ErrUnknownCA = errors.New("certificate is not signed by the configured CA")
	// ErrKeyUsage: the certificate's extended key usage does not allow
	// this use, for example a server-only certificate presented by a
	// client (RFC 5280 §4.2.1.12).
	ErrKeyUsage = errors.New("certificate's extended key usage does not allow this use")
	// ErrInvalid: any other reason the chain does not verify.
	ErrInvalid = errors.New("certificate is invalid")
)

// CertError is a certificate that Verify refused.
type CertError struct {
	// Subject and Issuer are the common names of the refused certificate
	// (the leaf, or the CA when the CA itself is at fault) and of its
	// issuer.
	Subject, Issuer string
	// Reason is one of ErrNoCertificate, ErrExpired, ErrNotYetValid,
	// ErrUnknownCA, ErrKeyUsage and ErrInvalid.
	Reason error
	// NotBefore and NotAfter are the refused certificate's validity
	// period; Now is the time it was checked at.
	NotBefore, NotAfter, Now time.Time
	// Usage names the use that was asked for ("TLS client" or "TLS
	// server") when Reason is ErrKeyUsage.
	Usage string
	// Err is crypto/x509's own error, when there is one.
	Err error
}

// Error names the certificate, the reason and what makes it so, for
// example: certificate "h1" (issuer "ovsmesh CA"): certificate has
// expired: valid until 2025-11-29T10:00:00Z, checked at
// 2026-11-30T10:00:00Z.
func (e *CertError) Error() string {
	var b strings.Builder
	if e.Subject != "" || e.Issuer != "" {
		fmt.Fprintf(&b, "certificate %q (issuer %q): ", e.Subject, e.Issuer)
	}
	b.WriteString(e.Reason.Error())
	switch e.Reason {
	case ErrExpired:
		fmt.Fprintf(&b, ": valid until %s, checked at %s", e.NotAfter.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
	case ErrNotYetValid:
		fmt.Fprintf(&b, ": valid from %s, checked at %s", e.NotBefore.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
	case ErrKeyUsage:
		fmt.Fprintf(&b, " (wanted for %s)", e.Usage)
	case ErrInvalid:
		if e.Err != nil {
			fmt.Fprintf(&b, ": %v", e.Err)
		}
	}
	return b.String()
}

// Unwrap returns Reason and, when there is one, crypto/x509's error.
func (e *CertError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

// Verify checks a peer's certificate chain as TLS presents it (leaf
// first, then any intermediates) against roots at time now, for usage
// (x509.ExtKeyUsageClientAuth for a peer that dialled in,
// x509.ExtKeyUsageServerAuth for one that was dialled), following
// RFC 5280 §6 through crypto/x509. No host name is checked: ovsmesh
// identifies peers by IdentityOf. Errors are *CertError.
func Verify(chain []*x509.Certificate, roots *x509.CertPool, usage x509.ExtKeyUsage, now time.Time) error {
	if len(chain) == 0 {
		return &CertError{Reason: ErrNoCertificate}
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}})
	if err == nil {
		return nil
	}
	ce := &CertError{Subject: leaf.Subject.CommonName, Issuer: leaf.Issuer.CommonName, Reason: ErrInvalid,
		NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter, Now: now, Usage: usageName(usage), Err: err}
	var inv x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(err, &inv):
		if c := inv.Cert; c != nil {
			ce.Subject, ce.Issuer, ce.NotBefore, ce.NotAfter = c.Subject.CommonName, c.Issuer.CommonName, c.NotBefore, c.NotAfter
		}
		switch inv.Reason {
		case x509.Expired: // crypto/x509 says Expired on both sides of the window
			ce.Reason = ErrExpired
			if now.Before(ce.NotBefore) {
				ce.Reason = ErrNotYetValid
			}
		case x509.IncompatibleUsage:
			ce.Reason = ErrKeyUsage
		case x509.NotAuthorizedToSign:
			ce.Reason = ErrUnknownCA
		}
	case errors.As(err, &unknown):
		ce.Reason = ErrUnknownCA
	}
	return ce
}

func usageName(u x509.ExtKeyUsage) string {
	switch u {
	case x509.ExtKeyUsageClientAuth:
		return "TLS client"
	case x509.ExtKeyUsageServerAuth:
		return "TLS server"
	}
	return fmt.Sprintf("extended key usage %d", u)
}
