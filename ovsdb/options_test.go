package ovsdb

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/topo"
)

func TestValidate(t *testing.T) {
	ok := func() Options {
		return Options{Mesh: testMesh(), Hosts: []topo.Host{
			testHost("h1", "unix:/run/h1.sock", "198.18.0.1"),
			testHost("h2", "tcp:198.18.0.2:6640", "198.18.0.2"),
		}}
	}
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr string // substring; "" means valid
	}{
		{"valid", func(*Options) {}, ""},
		{"no bridge", func(o *Options) { o.Mesh.Bridge = "" }, "bridge name"},
		{"long bridge", func(o *Options) { o.Mesh.Bridge = "br-0123456789abc" }, "1 to 15 bytes"},
		{"bad tunnel", func(o *Options) { o.Mesh = config.Mesh{Bridge: "br", Tunnel: "geneve"} }, "want vxlan or gre"},
		{"ssl address without TLS", func(o *Options) { o.Hosts[0].OVSDB = "ssl:198.18.0.1:6640" }, `"ssl:198.18.0.1:6640" needs a TLS configuration`},
		{"ssl address", func(o *Options) { o.Hosts[0].OVSDB = "ssl:198.18.0.1:6640"; o.TLS = noTLS{} }, ""},
		{"ssl without port", func(o *Options) { o.Hosts[0].OVSDB = "ssl:198.18.0.1"; o.TLS = noTLS{} }, "want tcp:IP:PORT, ssl:IP:PORT or unix:PATH"},
		{"empty unix path", func(o *Options) { o.Hosts[0].OVSDB = "unix:" }, "want tcp:IP:PORT, ssl:IP:PORT or unix:PATH"},
		{"duplicate name", func(o *Options) { o.Hosts[1].Name = "h1" }, `duplicate host name "h1"`},
		{"IPv6 tunnel IP", func(o *Options) { o.Hosts[1].TunnelIP = testHost("x", "", "2001:db8::1").TunnelIP }, "not IPv4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok()
			tc.edit(&o)
			err := o.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
			if _, err := NewManager(o); (err != nil) != (tc.wantErr != "") {
				t.Fatalf("NewManager error %v disagrees with Validate", err)
			}
		})
	}
}

// noTLS is a ClientTLS for options that are only validated.
type noTLS struct{}

func (noTLS) ClientConfig(string) *tls.Config { return &tls.Config{} }
