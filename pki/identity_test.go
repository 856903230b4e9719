package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

func TestIdentityOf(t *testing.T) {
	h1 := topo.DPIDFor("h1")
	uri := func(s string) []*url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return []*url.URL{u}
	}
	tests := []struct {
		name    string
		cn      string
		uris    []*url.URL
		want    Identity
		wantErr string
	}{
		{name: "plain common name", cn: "h1", want: Identity{"h1", h1, SourceCN}},
		{name: "ovs-pki common name", cn: "h1 id:29951e9b-964f-4b47-84fd-770800ea4e02", want: Identity{"h1", h1, SourceCN}},
		{name: "uri", cn: "h1", uris: []*url.URL{HostURI("h1", h1)}, want: Identity{"h1", h1, SourceURI}},
		{name: "uri binds its own dpid", cn: "h1", uris: uri("ovsmesh://host/h1?dpid=0000000000000abc"), want: Identity{"h1", 0xabc, SourceURI}},
		{name: "other schemes are not ours", cn: "h2", uris: uri("spiffe://example.org/h1"), want: Identity{"h2", topo.DPIDFor("h2"), SourceCN}},
		{name: "uri and cn disagree", cn: "h2", uris: []*url.URL{HostURI("h1", h1)}, wantErr: `common name "h2" does not name host "h1"`},
		{name: "two uris", cn: "h1", uris: append(uri("ovsmesh://host/h1?dpid=0a55000000000001"), HostURI("h1", h1)), wantErr: "has 2 ovsmesh URIs"},
		{name: "controller uri", cn: "ctl", uris: []*url.URL{ControllerURI("ctl")}, wantErr: "does not name a host"},
		{name: "dpid too short", cn: "h1", uris: uri("ovsmesh://host/h1?dpid=abc"), wantErr: "not 16 lower-case hex digits"},
		{name: "dpid upper case", cn: "h1", uris: uri("ovsmesh://host/h1?dpid=0A55000000000001"), wantErr: "not 16 lower-case hex digits"},
		{name: "dpid 0x", cn: "h1", uris: uri("ovsmesh://host/h1?dpid=0x55000000000001"), wantErr: "not 16 lower-case hex digits"},
		{name: "no dpid", cn: "h1", uris: uri("ovsmesh://host/h1"), wantErr: "exactly one query parameter dpid"},
		{name: "extra parameter", cn: "h1", uris: uri("ovsmesh://host/h1?dpid=0a55000000000001&x=1"), wantErr: "exactly one query parameter dpid"},
		{name: "bad name in uri", cn: "h.1", uris: uri("ovsmesh://host/h.1?dpid=0a55000000000001"), wantErr: "may hold only letters"},
		{name: "bad name in cn", cn: "h1.example.org", wantErr: "may hold only letters"},
		{name: "empty cn", cn: "", wantErr: "want 1 to 63 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := IdentityOf(&x509.Certificate{Subject: pkix.Name{CommonName: tc.cn}, URIs: tc.uris})
			if tc.wantErr != "" {
				if !errors.Is(err, ErrIdentity) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("IdentityOf = %+v, %v; want ErrIdentity with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("IdentityOf = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestHostURI(t *testing.T) {
	if got := HostURI("h1", flows.DPID(0x0a55000000000001)).String(); got != "ovsmesh://host/h1?dpid=0a55000000000001" {
		t.Errorf("HostURI = %s", got)
	}
}

// TestOVSPKICertificate reads a certificate ovs-pki made (testdata/ovs-pki,
// see its README): it verifies against ovs-pki's switchca for both TLS
// uses, its key loads, and its identity is the first word of its CN.
func TestOVSPKICertificate(t *testing.T) {
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) // inside its ten years
	pair, err := LoadKeyPair("testdata/ovs-pki/h1-cert.pem", "testdata/ovs-pki/h1-privkey.pem")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := ReadPool("testdata/ovs-pki/switchca-cacert.pem")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth} {
		if err := Verify([]*x509.Certificate{pair.Cert}, pool, u, at); err != nil {
			t.Errorf("Verify for %s: %v", usageName(u), err)
		}
	}
	id, err := IdentityOf(pair.Cert)
	if err != nil || id != (Identity{Host: "h1", DPID: topo.DPIDFor("h1"), Source: SourceCN}) {
		t.Errorf("IdentityOf = %+v, %v; want h1 from the CN %q", id, err, pair.Cert.Subject.CommonName)
	}
	if err := Verify([]*x509.Certificate{pair.Cert}, pool, x509.ExtKeyUsageClientAuth, at.AddDate(20, 0, 0)); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify twenty years on: %v, want ErrExpired", err)
	}
}
