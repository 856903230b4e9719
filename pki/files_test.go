package pki

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestKeys(t *testing.T) {
	ec, err := generateKey(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := generateKey(RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	sec1, _ := x509.MarshalECPrivateKey(ec.(*ecdsa.PrivateKey))
	pkcs1 := x509.MarshalPKCS1PrivateKey(rk.(*rsa.PrivateKey))
	pemOf := func(typ string, der []byte, h map[string]string) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: typ, Headers: h, Bytes: der})
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"sec1", pemOf("EC PRIVATE KEY", sec1, nil), ""},
		{"pkcs1", pemOf("RSA PRIVATE KEY", pkcs1, nil), ""},
		{"after a certificate", append(pemOf("CERTIFICATE", []byte{1}, nil), pemOf("EC PRIVATE KEY", sec1, nil)...), ""},
		{"encrypted pkcs8", pemOf("ENCRYPTED PRIVATE KEY", []byte{1}, nil), "encrypted"},
		{"encrypted pkcs1", pemOf("RSA PRIVATE KEY", pkcs1, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}), "encrypted"},
		{"garbage", pemOf("PRIVATE KEY", []byte{1, 2, 3}, nil), "parse PRIVATE KEY"},
		{"none", []byte("hello"), "no PEM private key"},
	}
	for _, kt := range KeyTypes() {
		k, err := generateKey(kt)
		if err != nil {
			t.Fatal(err)
		}
		data, err := MarshalKey(k)
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name    string
			data    []byte
			wantErr string
		}{"pkcs8 " + string(kt), data, ""})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKey(tc.data)
			if tc.wantErr == "" {
				if err != nil || k == nil {
					t.Fatalf("ParseKey: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ParseKey error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	ca := mustCA(t, "ovsmesh CA", Options{})
	h := mustHost(t, ca, "h1", Options{})
	cert, key := filepath.Join(dir, "h1-cert.pem"), filepath.Join(dir, "h1-privkey.pem")
	if err := h.WriteFiles(cert, key, false); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{cert: CertMode, key: KeyMode} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode().Perm(), err, mode)
		}
	}
	if err := h.WriteFiles(cert, key, false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second write without overwrite: %v, want fs.ErrExist", err)
	}
	h2 := mustHost(t, ca, "h1", Options{})
	if err := h2.WriteFiles(cert, key, true); err != nil {
		t.Fatal(err)
	}
	back, err := LoadKeyPair(cert, key)
	if err != nil || !back.Cert.Equal(h2.Cert) {
		t.Fatalf("LoadKeyPair after overwrite: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// The key of another pair.
	other := filepath.Join(dir, "other.key")
	kp, _ := h.KeyPEM()
	if err := WriteFile(other, kp, KeyMode, false); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyPair(cert, other); err == nil || !strings.Contains(err.Error(), "does not belong to certificate") {
		t.Errorf("mismatched key: %v", err)
	}
	// A CA and what is not one.
	caCert, caKey := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key")
	if err := ca.WriteFiles(caCert, caKey, false); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadCA(caCert, caKey); err != nil || !got.Cert.Equal(ca.Cert) {
		t.Errorf("LoadCA: %v", err)
	}
	if _, err := LoadCA(cert, key); err == nil || !strings.Contains(err.Error(), "not a CA") {
		t.Errorf("LoadCA of a host pair: %v", err)
	}
	if _, err := ReadPool(cert); err == nil || !strings.Contains(err.Error(), "not a CA certificate") {
		t.Errorf("ReadPool of a host certificate: %v", err)
	}
	if _, err := ReadCertificates(key); err == nil || !strings.Contains(err.Error(), key+": no PEM certificate") {
		t.Errorf("ReadCertificates of a key: %v", err)
	}
	if _, err := ReadKey(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadKey of a missing file: %v", err)
	}
}

// TestWriteFileKeepsOwner: a replaced file keeps its owner and group,
// so a key chowned to the service's user stays readable by it after a
// re-issue. Needs root to chown.
func TestWriteFileKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	path := filepath.Join(t.TempDir(), "controller.key")
	if err := WriteFile(path, []byte("one"), KeyMode, false); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("two"), KeyMode, true); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 65534 || st.Gid != 65534 || fi.Mode().Perm() != KeyMode {
		t.Errorf("replaced file: uid %d gid %d mode %v; want 65534, 65534, %v", st.Uid, st.Gid, fi.Mode().Perm(), KeyMode)
	}
}
