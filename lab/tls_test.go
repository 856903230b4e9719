package lab

import (
	"crypto/x509"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/pki"
)

// TestTLSConfig: a lab with Options.TLS makes its PKI in DIR/pki and
// writes an ovsmesh.yaml that config check accepts: the tls section on
// those files, only an ssl: listener and target, ssl: OVSDB addresses
// and each host's tls paths; ovsdb-server gets a pssl: remote with its
// SSL options from the database.
func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, Hosts: 2, Slot: 9, TLS: true}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	st := plan(o)
	l := &Lab{dir: dir, st: st}
	if err := l.upPKI(o); err != nil {
		t.Fatal(err)
	}
	if err := writeConfig(dir, st); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "ovsmesh.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ssl:198.19.9.254:6653"}
	if !slices.Equal(cfg.OpenFlow.Listen, want) || !slices.Equal(cfg.OpenFlow.Targets, want) || len(cfg.PlainListeners()) != 0 {
		t.Errorf("listen %v, targets %v; want only %v", cfg.OpenFlow.Listen, cfg.OpenFlow.Targets, want)
	}
	if f := l.PKIFiles(); cfg.TLS != (config.TLS{CA: f.CA, Cert: f.Cert, Key: f.Key}) || filepath.Dir(f.CA) != filepath.Join(dir, PKIDir) {
		t.Errorf("tls = %+v", cfg.TLS)
	}
	h := cfg.Hosts[1]
	if h.OVSDB != "ssl:198.19.9.2:6640" || h.TLS != st.Hosts[1].TLSFiles() || !strings.HasPrefix(h.TLS.Cert, st.Hosts[1].Dir+"/h2-cert.pem") {
		t.Errorf("hosts[1] = %+v", h)
	}
	remotes := strings.Join(st.Hosts[0].ovsdbRemotes(), " ")
	for _, w := range []string{"--remote=pssl:6640:198.19.9.1", "--private-key=db:Open_vSwitch,SSL,private_key",
		"--certificate=db:Open_vSwitch,SSL,certificate", "--ca-cert=db:Open_vSwitch,SSL,ca_cert"} {
		if !strings.Contains(remotes, w) {
			t.Errorf("ovsdb-server remotes %q lack %q", remotes, w)
		}
	}
	// The CA signs what upHostTLS issues, and the controller's
	// certificate serves and dials.
	ca, err := pki.LoadCA(l.PKIFiles().CA, caKey(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.NewLoader(l.PKIFiles(), pki.LoaderOptions{}); err != nil {
		t.Errorf("controller files: %v", err)
	}
	pair, err := ca.IssueHost("h1", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.Verify([]*x509.Certificate{pair.Cert}, ca.Pool(), x509.ExtKeyUsageClientAuth, time.Now()); err != nil {
		t.Error(err)
	}
	plain := Host{MgmtIP: st.Hosts[0].MgmtIP}
	if r := plain.ovsdbRemotes(); len(r) != 1 || r[0] != "--remote=ptcp:6640:198.19.9.1" || plain.OVSDB() != "tcp:198.19.9.1:6640" {
		t.Errorf("a host without TLS: remotes %v, ovsdb %s", r, plain.OVSDB())
	}
}
