package lab

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/pki"
)

// PKIDir is the directory, inside the lab directory, where a lab with
// Options.TLS keeps its CA (ca.pem, ca.key) and the controller's
// certificate (controller.pem, controller.key), as `ovsmesh pki init`
// lays them out.
const PKIDir = "pki"

// PKIFiles returns the controller's side of the lab's TLS files: the
// tls section of its ovsmesh.yaml.
func (l *Lab) PKIFiles() pki.Files { return pkiFiles(l.dir) }

func pkiFiles(dir string) pki.Files {
	d := filepath.Join(dir, PKIDir)
	return pki.Files{CA: filepath.Join(d, "ca.pem"), Cert: filepath.Join(d, "controller.pem"), Key: filepath.Join(d, "controller.key")}
}

// caKey is the CA's private key file in the lab's PKI directory.
func caKey(dir string) string { return filepath.Join(dir, PKIDir, "ca.key") }

// TLSFiles returns where a lab host keeps its TLS files, in its
// directory, named as `ovsmesh pki issue` and ovs-pki name them: its
// certificate NAME-cert.pem, its key NAME-privkey.pem and the CA
// certificate ovsmesh-ca.pem. Its SSL row and hosts[].tls name them.
func (h Host) TLSFiles() config.HostTLS {
	return config.HostTLS{Cert: filepath.Join(h.Dir, h.Name+"-cert.pem"), Key: filepath.Join(h.Dir, h.Name+"-privkey.pem"),
		CA: filepath.Join(h.Dir, "ovsmesh-ca.pem")}
}

// ovsdbRemotes returns ovsdb-server's remote on the management address,
// and with TLS the SSL options read from its own database's SSL row, as
// Debian's ovs-ctl starts it on a real host (ovsdb-server(1)): the row
// is set by ovs-vsctl set-ssl during Up, and the pssl: remote listens
// once it is there.
func (h Host) ovsdbRemotes() []string {
	if !h.TLS {
		return []string{fmt.Sprintf("--remote=ptcp:%d:%s", OVSDBPort, h.MgmtIP)}
	}
	return []string{fmt.Sprintf("--remote=pssl:%d:%s", OVSDBPort, h.MgmtIP),
		"--private-key=db:Open_vSwitch,SSL,private_key", "--certificate=db:Open_vSwitch,SSL,certificate",
		"--ca-cert=db:Open_vSwitch,SSL,ca_cert"}
}

// upPKI makes the lab's CA and the controller's certificate in
// DIR/pki (0700, keys 0600), replacing any earlier ones. The
// controller's certificate also names the controller address (an IP
// SAN) for peers that check it; OVS does not.
func (l *Lab) upPKI(o Options) error {
	f := pkiFiles(l.dir)
	if err := os.MkdirAll(filepath.Dir(f.CA), 0o700); err != nil {
		return fmt.Errorf("lab up: pki: %w", err)
	}
	ca, err := pki.NewCA("ovsmesh lab CA", pki.Options{})
	if err != nil {
		return fmt.Errorf("lab up: pki: %w", err)
	}
	ctl, err := ca.IssueController("ovsmesh-controller", pki.Options{IPAddresses: []net.IP{ControllerIP(o.Slot).AsSlice()}})
	if err != nil {
		return fmt.Errorf("lab up: pki: %w", err)
	}
	if err := ca.WriteFiles(f.CA, caKey(l.dir), true); err != nil {
		return fmt.Errorf("lab up: pki: %w", err)
	}
	if err := ctl.WriteFiles(f.Cert, f.Key, true); err != nil {
		return fmt.Errorf("lab up: pki: %w", err)
	}
	return nil
}

// upHostTLS issues host h's certificate with the lab's CA, writes it
// (certificate first, then key) and the CA certificate into the host's
// directory, and points its SSL row at them (ovs-vsctl set-ssl), which
// both of its daemons read. A host without TLS is left alone.
func (l *Lab) upHostTLS(ctx context.Context, h Host) error {
	if !h.TLS {
		return nil
	}
	fail := func(err error) error { return fmt.Errorf("lab up: host %s: tls: %w", h.Name, err) }
	pf := pkiFiles(l.dir)
	ca, err := pki.LoadCA(pf.CA, caKey(l.dir))
	if err != nil {
		return fail(err)
	}
	pair, err := ca.IssueHost(h.Name, pki.Options{})
	if err != nil {
		return fail(err)
	}
	f := h.TLSFiles()
	if err := pki.WriteFile(f.CA, ca.CertPEM(), pki.CertMode, true); err != nil {
		return fail(err)
	}
	if err := pair.WriteFiles(f.Cert, f.Key, true); err != nil {
		return fail(err)
	}
	if _, err := l.VSCtl(ctx, h.Name, "--no-wait", "set-ssl", f.Key, f.Cert, f.CA); err != nil {
		return fail(err)
	}
	return nil
}

// tlsConfig turns a lab's configuration to TLS: the controller listens
// only on ssl: (no tcp: listener is left for a switch without a
// certificate), its target is ssl:, the tls section names the lab's
// PKI; the hosts' OVSDB addresses are already ssl: (Host.OVSDB) and
// each host's tls names its files (Host.TLSFiles).
func tlsConfig(cfg *config.Config, dir string, slot int) {
	target := fmt.Sprintf("ssl:%s:%d", ControllerIP(slot), OpenFlowPort)
	cfg.OpenFlow.Listen = []string{target}
	cfg.OpenFlow.Targets = []string{target}
	f := pkiFiles(dir)
	cfg.TLS = config.TLS{CA: f.CA, Cert: f.Cert, Key: f.Key}
}
