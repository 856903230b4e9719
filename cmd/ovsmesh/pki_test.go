package main

import (
	"bytes"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/pki"
	"github.com/ovsmesh/ovsmesh/topo"
)

// TestPKICommands runs `ovsmesh pki init` and `ovsmesh pki issue` as a
// user would: files and modes, refusals without --force, the printed
// configuration lines (which `config check` must accept), and
// certificates that verify against the CA and name the host and DPID.
func TestPKICommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	p := func(name string) string { return filepath.Join(dir, name) }
	mustRun := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := runOvsmesh(t, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("ovsmesh %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
		}
		return stdout
	}
	mustFail := func(want string, args ...string) {
		t.Helper()
		stdout, stderr, code := runOvsmesh(t, args...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, want) {
			t.Errorf("ovsmesh %s: exit %d, stdout %q, stderr %q; want 1 and %q", strings.Join(args, " "), code, stdout, stderr, want)
		}
	}

	initOut := mustRun("pki", "init", "--dir", dir)
	modes := map[string]os.FileMode{pkiCACert: 0o644, pkiCAKey: 0o600, pkiCtlCert: 0o644, pkiCtlKey: 0o600}
	for name, mode := range modes {
		fi, err := os.Stat(p(name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v; want mode %v", name, fi.Mode().Perm(), err, mode)
		}
		if !strings.Contains(initOut, name) {
			t.Errorf("pki init does not say where %s went:\n%s", name, initOut)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("pki directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	caPEM, _ := os.ReadFile(p(pkiCACert))
	mustFail(p(pkiCACert)+" exists: use --force", "pki", "init", "--dir", dir)
	if again, _ := os.ReadFile(p(pkiCACert)); !bytes.Equal(again, caPEM) {
		t.Error("a refused pki init changed ca.pem")
	}

	hostOut := mustRun("pki", "issue", "--dir", dir, "h1")
	for _, want := range []string{
		p("h1-cert.pem"), p("h1-privkey.pem") + " (0600)", "datapath ID " + topo.DPIDFor("h1").String(),
		"ovs-vsctl set-ssl /etc/openvswitch/h1-privkey.pem /etc/openvswitch/h1-cert.pem /etc/openvswitch/ovsmesh-ca.pem",
	} {
		if !strings.Contains(hostOut, want) {
			t.Errorf("pki issue output lacks %q:\n%s", want, hostOut)
		}
	}
	pair, err := pki.LoadKeyPair(p("h1-cert.pem"), p("h1-privkey.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pki.ReadPool(p(pkiCACert))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth} {
		if err := pki.Verify([]*x509.Certificate{pair.Cert}, pool, u, time.Now()); err != nil {
			t.Errorf("h1's certificate: %v", err)
		}
	}
	if id, err := pki.IdentityOf(pair.Cert); err != nil || id.Host != "h1" || id.DPID != topo.DPIDFor("h1") {
		t.Errorf("h1's identity %+v, %v", id, err)
	}
	if fi, _ := os.Stat(p("h1-privkey.pem")); fi.Mode().Perm() != 0o600 {
		t.Errorf("h1-privkey.pem mode %v", fi.Mode().Perm())
	}
	mustFail(p("h1-cert.pem")+" exists: use --force", "pki", "issue", "--dir", dir, "h1")
	mustRun("pki", "issue", "--dir", dir, "--force", "--key-type", "ed25519", "h1")
	if again, err := pki.LoadKeyPair(p("h1-cert.pem"), p("h1-privkey.pem")); err != nil || again.Cert.Equal(pair.Cert) || again.Cert.PublicKeyAlgorithm != x509.Ed25519 {
		t.Errorf("pki issue --force --key-type ed25519 did not replace h1's certificate with an Ed25519 one: %v", err)
	}
	mustFail(`name "h.1": may hold only letters`, "pki", "issue", "--dir", dir, "h.1")
	mustFail(`unknown key type "dsa"`, "pki", "issue", "--dir", dir, "--key-type", "dsa", "h2")
	mustFail("made by ovsmesh pki init", "pki", "issue", "--dir", filepath.Join(dir, "nothing"), "h2")
	mustFail("accepts 1 arg", "pki", "issue", "--dir", dir)

	ctlPEM, _ := os.ReadFile(p(pkiCtlCert))
	mustFail(p(pkiCtlCert)+" exists: use --force", "pki", "issue", "--dir", dir, "--controller")
	mustRun("pki", "issue", "--dir", dir, "--controller", "--force")
	if again, _ := os.ReadFile(p(pkiCtlCert)); bytes.Equal(again, ctlPEM) {
		t.Error("pki issue --controller --force did not re-issue controller.pem")
	}
	if again, _ := os.ReadFile(p(pkiCACert)); !bytes.Equal(again, caPEM) {
		t.Error("pki issue --controller changed the CA")
	}

	// The printed lines make a configuration config check accepts.
	cfgDoc := snippet(t, initOut, "Controller configuration (ovsmesh.yaml):") +
		"state: " + filepath.Join(t.TempDir(), "state.db") + "\nhosts:\n" +
		snippet(t, hostOut, "Host configuration (ovsmesh.yaml, under hosts:):")
	cfgDoc = strings.NewReplacer("CONTROLLER_IP", "198.19.255.254", "MGMT_IP", "198.19.0.1", "TUNNEL_IP", "198.18.0.1").Replace(cfgDoc)
	cfgPath := filepath.Join(t.TempDir(), "ovsmesh.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustRun("config", "check", cfgPath); out != cfgPath+": ok\n" {
		t.Errorf("config check of the printed lines: %q\n%s", out, cfgDoc)
	}

	// The daemon assembles with them: an ssl: listener on the files.
	cfg, err := checkConfig(controllerFlags{config: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hosts = nil
	registry, err := apps.NewRegistry(builtins...)
	if err != nil {
		t.Fatal(err)
	}
	n, err := assemble(cfg, registry, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("assemble with the printed lines: %v", err)
	}
	if n.tls == nil || n.tls.Files().Cert != p(pkiCtlCert) {
		t.Errorf("assemble did not load the tls section")
	}
	n.close()

	mustRun("pki", "init", "--dir", dir, "--force")
	if again, _ := os.ReadFile(p(pkiCACert)); bytes.Equal(again, caPEM) {
		t.Error("pki init --force kept the old CA")
	}
}

// snippet returns the indented lines that follow the line head in out,
// up to the first blank line, with their two-space indent removed.
func snippet(t *testing.T, out, head string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, head+"\n")
	if !ok {
		t.Fatalf("no %q in:\n%s", head, out)
	}
	var b strings.Builder
	for _, line := range strings.Split(rest, "\n") {
		if strings.TrimSpace(line) == "" {
			break
		}
		b.WriteString(strings.TrimPrefix(line, "  ") + "\n")
	}
	return b.String()
}
