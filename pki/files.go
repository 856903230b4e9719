package pki

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// File modes pki writes with.
const (
	// KeyMode is the mode of private key files: owner read and write.
	KeyMode os.FileMode = 0o600
	// CertMode is the mode of certificate files: world-readable.
	CertMode os.FileMode = 0o644
)

// WriteFile writes data to path atomically: into a new file in the same
// directory, synced, then moved into place, so a reader (such as a
// Loader) sees the old content or the new, never a part. The file gets
// mode perm and, when it replaces one, that file's owner and group (so
// a key chowned to the service's user stays readable by it). Without
// overwrite an existing path is an error wrapping fs.ErrExist and
// nothing is written.
func WriteFile(path string, data []byte, perm os.FileMode, overwrite bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename or link: a no-op or the spare name
	err = tmp.Chmod(perm)
	if old, serr := os.Stat(path); err == nil && serr == nil && overwrite {
		if st, ok := old.Sys().(*syscall.Stat_t); ok && (int(st.Uid) != os.Geteuid() || int(st.Gid) != os.Getegid()) {
			err = tmp.Chown(int(st.Uid), int(st.Gid))
		}
	}
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if overwrite {
		err = os.Rename(tmp.Name(), path)
	} else {
		err = os.Link(tmp.Name(), path) // fails if path exists, atomically
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteFiles writes the certificate (CertMode) and then the private key
// (KeyMode) as PEM, each atomically (WriteFile). That order is the one
// ovs-vswitchd 3.1 picks up in place: it notices a changed certificate
// only when the key changes too, and a key changed before its
// certificate can leave it on the old pair (docs/security.md). A Loader
// takes either order.
func (p KeyPair) WriteFiles(certPath, keyPath string, overwrite bool) error {
	key, err := p.KeyPEM()
	if err != nil {
		return err
	}
	if err := WriteFile(certPath, p.CertPEM(), CertMode, overwrite); err != nil {
		return err
	}
	return WriteFile(keyPath, key, KeyMode, overwrite)
}

// ParseCertificates decodes every PEM "CERTIFICATE" block of data, in
// order, skipping other blocks and text (ovs-pki puts a text dump before
// the PEM). No certificate at all is an error.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return out, nil
}

// ReadCertificates reads the certificates of a PEM file
// (ParseCertificates). Errors name the path.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}

// ReadKey reads the private key of a PEM file (ParseKey). Errors name
// the path.
func ReadKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ReadPool reads a PEM file of CA certificates into a pool, refusing a
// certificate that is not a CA (RFC 5280 §4.2.1.9).
func ReadPool(path string) (*x509.CertPool, error) {
	certs, err := ReadCertificates(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		if !c.IsCA {
			return nil, fmt.Errorf("%s: certificate %q is not a CA certificate", path, c.Subject.CommonName)
		}
		pool.AddCert(c)
	}
	return pool, nil
}

// LoadKeyPair reads a certificate file (its first certificate is the
// pair's; any others are ignored) and its private key file, and checks
// that the key is the certificate's.
func LoadKeyPair(certPath, keyPath string) (KeyPair, error) {
	certs, err := ReadCertificates(certPath)
	if err != nil {
		return KeyPair{}, err
	}
	key, err := ReadKey(keyPath)
	if err != nil {
		return KeyPair{}, err
	}
	if err := matchKey(certs[0], key); err != nil {
		return KeyPair{}, fmt.Errorf("%s and %s: %w", certPath, keyPath, err)
	}
	return KeyPair{Cert: certs[0], Key: key}, nil
}

// LoadCA reads a CA's certificate and key (LoadKeyPair) and checks the
// certificate may sign certificates.
func LoadCA(certPath, keyPath string) (*CA, error) {
	p, err := LoadKeyPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	if !p.Cert.IsCA || p.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%s: certificate %q is not a CA that may sign certificates", certPath, p.Cert.Subject.CommonName)
	}
	return &CA{p}, nil
}

// matchKey checks that key is the private key of cert's public key.
func matchKey(cert *x509.Certificate, key crypto.Signer) error {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("the private key (%s) does not belong to certificate %q (%s)",
			keyTypeOf(key.Public()), cert.Subject.CommonName, keyTypeOf(cert.PublicKey))
	}
	return nil
}
