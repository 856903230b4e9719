package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// KeyType names the kind of key pki generates for a certificate.
type KeyType string

const (
	// ECDSAP256 is ECDSA over NIST P-256 (FIPS 186-5, RFC 5480), signed
	// with SHA-256. It is the default: Open vSwitch 3.1 with OpenSSL 3
	// takes it on its ssl: controller connection (see docs/security.md).
	ECDSAP256 KeyType = "ecdsa-p256"
	// Ed25519 is EdDSA over Curve25519 (RFC 8032, RFC 8410).
	Ed25519 KeyType = "ed25519"
	// RSA2048 is a 2048-bit RSA key signed with SHA-256 and PKCS #1 v1.5,
	// what ovs-pki makes; for peers that take nothing else.
	RSA2048 KeyType = "rsa-2048"
)

// DefaultKeyType is the key type used when Options.KeyType is empty.
const DefaultKeyType = ECDSAP256

// KeyTypes lists the key types pki can generate, the default first.
func KeyTypes() []KeyType { return []KeyType{ECDSAP256, Ed25519, RSA2048} }

// ErrKeyType is returned for a KeyType pki does not know.
var ErrKeyType = errors.New("unknown key type")

// generateKey makes a new private key of type t (DefaultKeyType when
// empty).
func generateKey(t KeyType) (crypto.Signer, error) {
	switch t {
	case ECDSAP256, "":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("%w %q (want %s, %s or %s)", ErrKeyType, t, ECDSAP256, Ed25519, RSA2048)
}

// keyTypeOf names the type of a public key, for messages.
func keyTypeOf(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ecdsa-" + strings.ToLower(strings.ReplaceAll(k.Curve.Params().Name, "-", "")) // ecdsa-p256
	case ed25519.PublicKey:
		return string(Ed25519)
	case *rsa.PublicKey:
		return fmt.Sprintf("rsa-%d", k.N.BitLen())
	}
	return fmt.Sprintf("%T", pub)
}

// MarshalKey encodes a private key as a PEM "PRIVATE KEY" block
// (PKCS #8, RFC 5208), which OpenSSL and so Open vSwitch read for every
// key type.
func MarshalKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseKey decodes the first private key in PEM data: "PRIVATE KEY"
// (PKCS #8), "EC PRIVATE KEY" (SEC 1, RFC 5915) or "RSA PRIVATE KEY"
// (PKCS #1). Encrypted keys are refused.
func ParseKey(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no PEM private key found")
		}
		var (
			k   any
			err error
		)
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			if _, enc := b.Headers["DEK-Info"]; enc {
				return nil, errors.New("the private key is encrypted: pki reads only unencrypted keys")
			}
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted: pki reads only unencrypted keys")
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", b.Type, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s holds a %T, not a signing key", b.Type, k)
		}
		return s, nil
	}
}
