package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/pki"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Files of a pki directory (`ovsmesh pki init`); host files are named as
// ovs-pki names them.
const (
	pkiCACert   = "ca.pem"
	pkiCAKey    = "ca.key"
	pkiCtlCert  = "controller.pem"
	pkiCtlKey   = "controller.key"
	pkiCAName   = "ovsmesh CA"
	pkiCtlName  = "ovsmesh-controller"
	hostCADest  = "/etc/openvswitch/ovsmesh-ca.pem"
	hostFileDir = "/etc/openvswitch"
)

func hostCertFile(host string) string { return host + "-cert.pem" }
func hostKeyFile(host string) string  { return host + "-privkey.pem" }

// pkiFlags are the flags init and issue share.
type pkiFlags struct {
	dir     string
	force   bool
	keyType string
	days    int
}

func (f *pkiFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "dir", "", "the PKI directory (required)")
	fl.BoolVar(&f.force, "force", false, "replace files that exist")
	fl.StringVar(&f.keyType, "key-type", string(pki.DefaultKeyType), "key type of new keys: ecdsa-p256, ed25519 or rsa-2048")
	fl.IntVar(&f.days, "days", int(pki.LeafValidity/(24*time.Hour)), "validity of the controller's or host's certificate, in days")
	cmd.MarkFlagRequired("dir")
}

func (f *pkiFlags) options() (pki.Options, error) {
	if f.days < 1 {
		return pki.Options{}, fmt.Errorf("--days %d: want at least 1", f.days)
	}
	return pki.Options{KeyType: pki.KeyType(f.keyType), Validity: time.Duration(f.days) * 24 * time.Hour}, nil
}

// absDir returns the directory as an absolute path, for the printed
// configuration.
func (f *pkiFlags) absDir() (string, error) {
	d, err := filepath.Abs(f.dir)
	if err != nil {
		return "", fmt.Errorf("--dir %s: %w", f.dir, err)
	}
	return d, nil
}

// refuseExisting fails, naming the first path that exists, unless force.
func refuseExisting(force bool, what string, paths ...string) error {
	if force {
		return nil
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s exists: use --force to replace %s", p, what)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// newPKICmd returns `ovsmesh pki` with its init and issue subcommands.
func newPKICmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pki",
		Short: "Make the CA and the certificates of ovsmesh's TLS connections",
		Long: `pki makes what ssl: OpenFlow and OVSDB connections need: a CA, the controller's
certificate, and one certificate per host that binds the host's name and
pinned datapath ID (a URI SAN ovsmesh://host/NAME?dpid=DPID). Keys are
written with mode 0600, certificates 0644. See docs/security.md.`,
	}
	cmd.AddCommand(newPKIInitCmd(), newPKIIssueCmd())
	return cmd
}

func newPKIInitCmd() *cobra.Command {
	var f pkiFlags
	cmd := &cobra.Command{
		Use:   "init --dir DIR",
		Short: "Make a CA and the controller's certificate in DIR",
		Long: `init makes DIR (mode 0700) if needed and writes a new CA (ca.pem, ca.key,
valid 10 years) and the controller's certificate (controller.pem,
controller.key), which serves the OpenFlow ssl: listener and is the client
certificate for OVSDB over TLS. It refuses to replace any of them without
--force; a new CA makes every host certificate of the old one useless.
It prints the configuration lines to use.`,
		Example: "  ovsmesh pki init --dir /etc/ovsmesh/pki",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return pkiInit(cmd.OutOrStdout(), f)
		},
	}
	f.register(cmd)
	return cmd
}

func pkiInit(w io.Writer, f pkiFlags) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	dir, err := f.absDir()
	if err != nil {
		return err
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	if err := refuseExisting(f.force, "the CA and the controller's certificate", p(pkiCACert), p(pkiCAKey), p(pkiCtlCert), p(pkiCtlKey)); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := pki.NewCA(pkiCAName, pki.Options{KeyType: o.KeyType})
	if err != nil {
		return err
	}
	ctl, err := ca.IssueController(pkiCtlName, o)
	if err != nil {
		return err
	}
	if err := ca.WriteFiles(p(pkiCACert), p(pkiCAKey), f.force); err != nil {
		return err
	}
	if err := ctl.WriteFiles(p(pkiCtlCert), p(pkiCtlKey), f.force); err != nil {
		return err
	}
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	_, err = fmt.Fprintf(w, `A new CA and the controller's certificate (%s) in %s:
  %-16s CA certificate %q, valid until %s: copy it to every host
  %-16s CA key (0600): signs certificates with "ovsmesh pki issue"; the controller never reads it, keep it offline
  %-16s the controller's certificate %q, valid until %s
  %-16s the controller's key (0600); the packaged service runs as user ovsmesh: chown ovsmesh: %s (re-issues keep the owner)

Controller configuration (ovsmesh.yaml):
  tls:
    ca: %s
    cert: %s
    key: %s
  openflow:
    listen: ["ssl::6653"]
    targets: ["ssl:CONTROLLER_IP:6653"]

Next, for every host: ovsmesh pki issue --dir %s HOST
`, o.KeyType, dir,
		pkiCACert, ca.Cert.Subject.CommonName, day(ca.Cert.NotAfter),
		pkiCAKey,
		pkiCtlCert, ctl.Cert.Subject.CommonName, day(ctl.Cert.NotAfter),
		pkiCtlKey, p(pkiCtlKey),
		p(pkiCACert), p(pkiCtlCert), p(pkiCtlKey), dir)
	return err
}

func newPKIIssueCmd() *cobra.Command {
	var (
		f          pkiFlags
		controller bool
	)
	cmd := &cobra.Command{
		Use:   "issue --dir DIR HOST | --dir DIR --controller",
		Short: "Issue a host's certificate (or a new controller certificate) with the CA in DIR",
		Long: `issue signs a new certificate with the CA of DIR (ca.pem, ca.key). For HOST
it writes HOST-cert.pem and HOST-privkey.pem, with HOST as the common name
and HOST with its pinned datapath ID in a URI SAN
(ovsmesh://host/HOST?dpid=DPID), and prints how to install them on the host
and the host's configuration lines. With --controller it re-issues
controller.pem and controller.key (rotation: a running controller picks them
up at the next handshake). It refuses to replace files without --force.`,
		Example: "  ovsmesh pki issue --dir /etc/ovsmesh/pki h1\n  ovsmesh pki issue --dir /etc/ovsmesh/pki --controller --force",
		Args: func(cmd *cobra.Command, args []string) error {
			if controller {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if controller {
				return pkiIssueController(cmd.OutOrStdout(), f)
			}
			return pkiIssueHost(cmd.OutOrStdout(), f, args[0])
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&controller, "controller", false, "re-issue the controller's certificate instead of a host's")
	return cmd
}

// loadCA reads the CA of the pki directory.
func (f *pkiFlags) loadCA() (*pki.CA, string, error) {
	dir, err := f.absDir()
	if err != nil {
		return nil, "", err
	}
	ca, err := pki.LoadCA(filepath.Join(dir, pkiCACert), filepath.Join(dir, pkiCAKey))
	if err != nil {
		return nil, "", fmt.Errorf("the CA of %s (made by ovsmesh pki init): %w", dir, err)
	}
	return ca, dir, nil
}

func pkiIssueHost(w io.Writer, f pkiFlags, host string) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	ca, dir, err := f.loadCA()
	if err != nil {
		return err
	}
	pair, err := ca.IssueHost(host, o)
	if err != nil {
		return err
	}
	cert, key := filepath.Join(dir, hostCertFile(host)), filepath.Join(dir, hostKeyFile(host))
	if err := refuseExisting(f.force, host+"'s certificate", cert, key); err != nil {
		return err
	}
	if err := pair.WriteFiles(cert, key, f.force); err != nil {
		return err
	}
	hc, hk := filepath.Join(hostFileDir, hostCertFile(host)), filepath.Join(hostFileDir, hostKeyFile(host))
	_, err = fmt.Fprintf(w, `Host %s's certificate (%s), datapath ID %s (%s), valid until %s:
  %s
  %s (0600)

On %s, as root, with these two files and %s copied over:
  install -m 0644 %s %s
  install -m 0600 %s %s
  install -m 0644 %s %s
  ovs-vsctl set-ssl %s %s %s
  ovs-vsctl set-manager pssl:6640:MGMT_IP      # for ovsdb: ssl:MGMT_IP:6640

Host configuration (ovsmesh.yaml, under hosts:):
  - name: %s
    ovsdb: ssl:MGMT_IP:6640
    tunnel_ip: TUNNEL_IP
    tls:
      cert: %s
      key: %s
      ca: %s
`, host, o.KeyType, topo.DPIDFor(host), pair.Cert.URIs[0], pair.Cert.NotAfter.UTC().Format("2006-01-02"),
		cert, key,
		host, filepath.Join(dir, pkiCACert),
		hostCertFile(host), hc, hostKeyFile(host), hk, pkiCACert, hostCADest,
		hk, hc, hostCADest,
		host, hc, hk, hostCADest)
	return err
}

func pkiIssueController(w io.Writer, f pkiFlags) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	ca, dir, err := f.loadCA()
	if err != nil {
		return err
	}
	cert, key := filepath.Join(dir, pkiCtlCert), filepath.Join(dir, pkiCtlKey)
	if err := refuseExisting(f.force, "the controller's certificate (a running controller takes the new one at its next handshake)", cert, key); err != nil {
		return err
	}
	pair, err := ca.IssueController(pkiCtlName, o)
	if err != nil {
		return err
	}
	if err := pair.WriteFiles(cert, key, f.force); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, `The controller's certificate (%s), valid until %s:
  %s
  %s (0600); the packaged service runs as user ovsmesh: chown ovsmesh: %s
A running controller presents it from its next TLS handshake on; no restart.
`, o.KeyType, pair.Cert.NotAfter.UTC().Format("2006-01-02"), cert, key, key)
	return err
}
