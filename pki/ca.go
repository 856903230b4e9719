package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"time"
)

// Default validity periods.
const (
	// CAValidity is how long a CA made by NewCA is valid: 10 years.
	CAValidity = 10 * 365 * 24 * time.Hour
	// LeafValidity is how long a controller or host certificate is
	// valid: 2 years. Re-issue before then; see Loader for rotation.
	LeafValidity = 2 * 365 * 24 * time.Hour
	// Backdate is how far before "now" a new certificate's NotBefore is
	// set, so peers whose clocks run a little behind accept it.
	Backdate = time.Hour
)

// Options tune a new certificate. The zero value gives a DefaultKeyType
// key, valid from Backdate before the current time for the default
// validity of its kind.
type Options struct {
	// KeyType is the new key's type; empty means DefaultKeyType.
	KeyType KeyType
	// NotBefore starts the validity period; zero means time.Now() minus
	// Backdate.
	NotBefore time.Time
	// Validity is the length of the validity period from NotBefore; zero
	// means CAValidity for a CA, LeafValidity otherwise.
	Validity time.Duration
	// DNSNames and IPAddresses are added as subject alternative names
	// (RFC 5280 §4.2.1.6) of a controller certificate, for peers that
	// check them. Open vSwitch does not.
	DNSNames    []string
	IPAddresses []net.IP
}

func (o Options) window(def time.Duration) (time.Time, time.Time, error) {
	nb := o.NotBefore
	if nb.IsZero() {
		nb = time.Now().Add(-Backdate)
	}
	v := o.Validity
	if v == 0 {
		v = def
	}
	if v < 0 {
		return time.Time{}, time.Time{}, fmt.Errorf("validity %v is negative", v)
	}
	return nb.UTC().Truncate(time.Second), nb.Add(v).UTC().Truncate(time.Second), nil
}

// KeyPair is a certificate and its private key.
type KeyPair struct {
	// Cert is the parsed certificate.
	Cert *x509.Certificate
	// Key is the certificate's private key.
	Key crypto.Signer
}

// CertPEM returns the certificate as a PEM "CERTIFICATE" block.
func (p KeyPair) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Cert.Raw})
}

// KeyPEM returns the private key as a PEM "PRIVATE KEY" block (PKCS #8).
func (p KeyPair) KeyPEM() ([]byte, error) { return MarshalKey(p.Key) }

// TLS returns the pair as a tls.Certificate with its leaf parsed.
func (p KeyPair) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{p.Cert.Raw}, PrivateKey: p.Key, Leaf: p.Cert}
}

// CA is a certificate authority that signs the controller's and the
// hosts' certificates: a self-signed certificate with the CA basic
// constraint and the certificate-signing key usage (RFC 5280 §4.2.1.9,
// §4.2.1.3), and its key.
type CA struct {
	KeyPair
}

// NewCA makes a self-signed CA whose common name is name (for example
// "ovsmesh CA"). It may sign end-entity certificates only (path length
// 0).
func NewCA(name string, o Options) (*CA, error) {
	if name == "" {
		return nil, errors.New("new CA: the name is empty")
	}
	key, err := generateKey(o.KeyType)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	nb, na, err := o.window(CAValidity)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{"ovsmesh"}},
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	p, err := sign(tmpl, nil, key)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	return &CA{p}, nil
}

// Pool returns a certificate pool holding only the CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// IssueController issues the controller's certificate with common name
// name and a URI SAN ovsmesh://controller/NAME. Its extended key usage
// is both TLS server (the OpenFlow ssl: listener) and TLS client (the
// controller dials ovsdb-server), RFC 5280 §4.2.1.12.
func (ca *CA) IssueController(name string, o Options) (KeyPair, error) {
	if err := checkName(name); err != nil {
		return KeyPair{}, fmt.Errorf("issue controller certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name, Organization: []string{"ovsmesh"}},
		URIs:        []*url.URL{ControllerURI(name)},
		DNSNames:    o.DNSNames,
		IPAddresses: o.IPAddresses,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	p, err := ca.issue(tmpl, o)
	if err != nil {
		return KeyPair{}, fmt.Errorf("issue controller certificate: %w", err)
	}
	return p, nil
}

// IssueHost issues host's certificate: common name host, and the URI
// SAN ovsmesh://host/HOST?dpid=DPID binding the host to its pinned
// datapath ID (HostURI). Its extended key usage is both TLS client
// (ovs-vswitchd dials the controller) and TLS server (ovsdb-server's
// pssl: remote that the controller dials).
func (ca *CA) IssueHost(host string, o Options) (KeyPair, error) {
	if err := checkName(host); err != nil {
		return KeyPair{}, fmt.Errorf("issue host certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: host, Organization: []string{"ovsmesh"}, OrganizationalUnit: []string{"hosts"}},
		URIs:        []*url.URL{HostURI(host, dpidOf(host))},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	p, err := ca.issue(tmpl, o)
	if err != nil {
		return KeyPair{}, fmt.Errorf("issue host certificate: %w", err)
	}
	return p, nil
}

// issue signs an end-entity certificate from tmpl with a new key.
func (ca *CA) issue(tmpl *x509.Certificate, o Options) (KeyPair, error) {
	key, err := generateKey(o.KeyType)
	if err != nil {
		return KeyPair{}, err
	}
	if tmpl.NotBefore, tmpl.NotAfter, err = o.window(LeafValidity); err != nil {
		return KeyPair{}, err
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter // a leaf outliving its CA would fail verification early anyway
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if _, isRSA := key.(*rsa.PrivateKey); isRSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment // RSA key exchange in TLS 1.2 (RFC 5246 §7.4.7.1)
	}
	tmpl.BasicConstraintsValid = true
	return sign(tmpl, &ca.KeyPair, key)
}

// sign signs tmpl (self-signed when parent is nil) for key's public
// key, with a random 128-bit serial number (RFC 5280 §4.1.2.2: positive,
// at most 20 octets).
func sign(tmpl *x509.Certificate, parent *KeyPair, key crypto.Signer) (KeyPair, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return KeyPair{}, fmt.Errorf("serial number: %w", err)
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	parentCert, signer := tmpl, key
	if parent != nil {
		parentCert, signer = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		return KeyPair{}, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return KeyPair{}, fmt.Errorf("parse new certificate: %w", err)
	}
	return KeyPair{Cert: cert, Key: key}, nil
}
