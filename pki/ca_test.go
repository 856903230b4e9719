package pki

import (
	"crypto/x509"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/topo"
)

func TestIssue(t *testing.T) {
	for _, kt := range append(KeyTypes(), "") {
		t.Run(string(kt), func(t *testing.T) {
			o := Options{KeyType: kt}
			ca := mustCA(t, "ovsmesh CA", o)
			ctl := mustController(t, ca, o)
			host := mustHost(t, ca, "h1", o)

			if !ca.Cert.IsCA || !ca.Cert.MaxPathLenZero || ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
				t.Errorf("CA: IsCA %v, MaxPathLenZero %v, key usage %b", ca.Cert.IsCA, ca.Cert.MaxPathLenZero, ca.Cert.KeyUsage)
			}
			want := string(kt)
			if kt == "" {
				want = string(DefaultKeyType)
			}
			for _, c := range []*x509.Certificate{ca.Cert, ctl.Cert, host.Cert} {
				if got := keyTypeOf(c.PublicKey); got != want {
					t.Errorf("%s: key type %s, want %s", c.Subject.CommonName, got, want)
				}
			}
			now := time.Now()
			for _, c := range []struct {
				name string
				cert *x509.Certificate
			}{{"controller", ctl.Cert}, {"host", host.Cert}} {
				for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
					if err := Verify([]*x509.Certificate{c.cert}, ca.Pool(), u, now); err != nil {
						t.Errorf("%s certificate for %s: %v", c.name, usageName(u), err)
					}
				}
				if c.cert.IsCA || c.cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
					t.Errorf("%s certificate: IsCA %v, key usage %b", c.name, c.cert.IsCA, c.cert.KeyUsage)
				}
				if d := c.cert.NotAfter.Sub(c.cert.NotBefore); d != LeafValidity {
					t.Errorf("%s certificate valid for %v, want %v", c.name, d, LeafValidity)
				}
			}
			if host.Cert.Subject.CommonName != "h1" || len(host.Cert.URIs) != 1 ||
				host.Cert.URIs[0].String() != "ovsmesh://host/h1?dpid="+topo.DPIDFor("h1").String() {
				t.Errorf("host certificate CN %q, URIs %v", host.Cert.Subject.CommonName, host.Cert.URIs)
			}
			id, err := IdentityOf(host.Cert)
			if err != nil || id != (Identity{Host: "h1", DPID: topo.DPIDFor("h1"), Source: SourceURI}) {
				t.Errorf("IdentityOf(host) = %+v, %v", id, err)
			}
			if _, err := IdentityOf(ctl.Cert); !errors.Is(err, ErrIdentity) {
				t.Errorf("IdentityOf(controller) = %v, want ErrIdentity: a controller certificate names no host", err)
			}
			if ctl.Cert.URIs[0].String() != "ovsmesh://controller/ovsmesh-controller" {
				t.Errorf("controller URI %v", ctl.Cert.URIs)
			}
			if ca.Cert.SerialNumber.Cmp(host.Cert.SerialNumber) == 0 || ca.Cert.SerialNumber.Sign() <= 0 {
				t.Errorf("serials: CA %v, host %v", ca.Cert.SerialNumber, host.Cert.SerialNumber)
			}
		})
	}
}

func TestIssueOptions(t *testing.T) {
	ca := mustCA(t, "ovsmesh CA", Options{NotBefore: t0, Validity: 48 * time.Hour})
	if !ca.Cert.NotBefore.Equal(t0) || !ca.Cert.NotAfter.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("CA window %v..%v", ca.Cert.NotBefore, ca.Cert.NotAfter)
	}
	// A leaf never outlives its CA.
	h := mustHost(t, ca, "h1", Options{NotBefore: t0})
	if !h.Cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("host NotAfter %v, want the CA's %v", h.Cert.NotAfter, ca.Cert.NotAfter)
	}
	before := time.Now()
	d := mustCA(t, "x", Options{})
	if d.Cert.NotBefore.After(before.Add(-Backdate+time.Second)) || d.Cert.NotAfter.Sub(d.Cert.NotBefore) != CAValidity {
		t.Errorf("default window %v..%v", d.Cert.NotBefore, d.Cert.NotAfter)
	}
	if _, err := NewCA("x", Options{KeyType: "dsa"}); !errors.Is(err, ErrKeyType) {
		t.Errorf("NewCA with key type dsa: %v, want ErrKeyType", err)
	}
	c, err := ca.IssueController("ctl", Options{NotBefore: t0, DNSNames: []string{"ctl.example"}})
	if err != nil || !slices.Equal(c.Cert.DNSNames, []string{"ctl.example"}) {
		t.Errorf("controller with DNS names: %v, %v", c.Cert.DNSNames, err)
	}
	for _, bad := range []string{"", "h 1", "h1.example", string(make([]byte, 64))} {
		if _, err := ca.IssueHost(bad, Options{}); err == nil {
			t.Errorf("IssueHost(%q) accepted", bad)
		}
	}
	if _, err := NewCA("", Options{}); err == nil {
		t.Error("NewCA without a name accepted")
	}
	if _, err := NewCA("x", Options{Validity: -time.Hour}); err == nil {
		t.Error("negative validity accepted")
	}
}
