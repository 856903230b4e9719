package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// Files names the PEM files of one side of TLS, as in the
// configuration's tls: section.
type Files struct {
	// CA holds the CA certificates peers must chain to; one or more
	// (a bundle, for example ovs-pki's switchca and a new CA during a
	// CA change).
	CA string
	// Cert holds this side's certificate, first in the file.
	Cert string
	// Key holds the certificate's private key, unencrypted.
	Key string
}

// Material is one load of Files.
type Material struct {
	// Pair is this side's certificate and key.
	Pair KeyPair
	// Cert is Pair for crypto/tls.
	Cert tls.Certificate
	// Roots holds the CA certificates of Files.CA.
	Roots *x509.CertPool
}

// LoaderOptions tune a Loader.
type LoaderOptions struct {
	// Usages are the extended key usages this side's certificate must
	// allow; nil means both TLS server and TLS client, as the
	// controller's certificate does (the OpenFlow listener and the
	// OVSDB client). A certificate with no extended key usage allows
	// every use (RFC 5280 §4.2.1.12).
	Usages []x509.ExtKeyUsage
	// OnReload, when set, is called after the files changed on disk and
	// were read again: with nil once the new material is in use, or with
	// why it was refused (the previous material stays in use, and the
	// same files are not tried again until they change once more). It
	// runs inside a TLS handshake and must not block.
	OnReload func(f Files, err error)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Loader holds the material of Files and reads the files again when any
// of them changes on disk (modification time, size or the file itself,
// as an atomic rename makes), checked at most once per call of Current,
// so re-issued certificates and a changed CA bundle are picked up by the
// next handshake without a restart. Connections already up keep the
// certificates they were made with. It is safe for concurrent use.
type Loader struct {
	files Files
	opts  LoaderOptions

	mu    sync.Mutex
	cur   *Material
	seen  []os.FileInfo // of the files as last tried; nil entries could not be read
	err   error         // why the last change was refused, nil once one was taken
	loads int           // successful loads, the first included
}

// NewLoader loads f: every file must read and parse, the key must be the
// certificate's, and the certificate must be valid now for every usage
// in o.Usages (a *CertError otherwise). It does not check that the
// certificate chains to f.CA: with ovs-pki the controller's certificate
// comes from another CA (controllerca) than the hosts' (switchca).
func NewLoader(f Files, o LoaderOptions) (*Loader, error) {
	if f.CA == "" || f.Cert == "" || f.Key == "" {
		return nil, errors.New("tls files: ca, cert and key are all required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Usages == nil {
		o.Usages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	l := &Loader{files: f, opts: o}
	l.seen = l.stat()
	m, err := l.load()
	if err != nil {
		return nil, err
	}
	l.cur, l.loads = m, 1
	return l, nil
}

// Files returns the files the loader reads.
func (l *Loader) Files() Files { return l.files }

// Current returns the material in use, after reading the files again if
// they changed since they were last tried.
func (l *Loader) Current() *Material {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stat()
	if slices.EqualFunc(st, l.seen, sameFile) {
		return l.cur
	}
	l.seen = st
	m, err := l.load()
	if err == nil {
		l.cur = m
		l.loads++
	}
	l.err = err
	if l.opts.OnReload != nil {
		l.opts.OnReload(l.files, err)
	}
	return l.cur
}

// Err returns why the last change of the files was refused, or nil when
// the files in use are the newest tried.
func (l *Loader) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Loads returns how many times the files were loaded and taken into
// use, the first load included.
func (l *Loader) Loads() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loads
}

// load reads and checks the files.
func (l *Loader) load() (*Material, error) {
	roots, err := ReadPool(l.files.CA)
	if err != nil {
		return nil, fmt.Errorf("tls ca: %w", err)
	}
	pair, err := LoadKeyPair(l.files.Cert, l.files.Key)
	if err != nil {
		return nil, fmt.Errorf("tls cert and key: %w", err)
	}
	if err := CheckCertificate(pair.Cert, l.opts.Now(), l.opts.Usages...); err != nil {
		return nil, fmt.Errorf("tls cert %s: %w", l.files.Cert, err)
	}
	return &Material{Pair: pair, Cert: pair.TLS(), Roots: roots}, nil
}

// CheckCertificate checks one's own certificate before serving it: it
// is valid at now (RFC 5280 §4.1.2.5) and its extended key usage allows
// every use in usages (§4.2.1.12; a certificate without the extension
// allows all). Its chain is not checked. Errors are *CertError
// (ErrExpired, ErrNotYetValid, ErrKeyUsage).
func CheckCertificate(c *x509.Certificate, now time.Time, usages ...x509.ExtKeyUsage) error {
	ce := &CertError{Subject: c.Subject.CommonName, Issuer: c.Issuer.CommonName, NotBefore: c.NotBefore, NotAfter: c.NotAfter, Now: now}
	switch {
	case now.After(c.NotAfter):
		ce.Reason = ErrExpired
		return ce
	case now.Before(c.NotBefore):
		ce.Reason = ErrNotYetValid
		return ce
	}
	for _, u := range usages {
		if len(c.ExtKeyUsage) > 0 && !slices.Contains(c.ExtKeyUsage, u) && !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) {
			ce.Reason, ce.Usage = ErrKeyUsage, usageName(u)
			return ce
		}
	}
	return nil
}

func (l *Loader) stat() []os.FileInfo {
	out := make([]os.FileInfo, 3)
	for i, p := range []string{l.files.CA, l.files.Cert, l.files.Key} {
		out[i], _ = os.Stat(p)
	}
	return out
}

// sameFile reports whether two stats show the same, unchanged file.
func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}
