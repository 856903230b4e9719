package ovsdb

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovsmesh/ovsmesh/ovsdb/vswitchd"
	"github.com/ovsmesh/ovsmesh/pki"
	"github.com/ovsmesh/ovsmesh/topo"
)

// ClientTLS gives the TLS configuration with which the controller dials
// one host's ovsdb-server (ssl:IP:PORT); *pki.Loader satisfies it: the
// controller's certificate as the files hold it at each handshake, and
// the server's certificate verified against the CA and required to name
// host (pki.ErrWrongHost otherwise).
type ClientTLS interface {
	ClientConfig(host string) *tls.Config
}

// SSL is the desired Open_vSwitch SSL row of a host (ovs-vsctl
// set-ssl): the files ovs-vswitchd presents to an ssl: controller and
// checks the controller against, and that ovsdb-server uses when started
// with --private-key=db:Open_vSwitch,SSL,private_key and the like
// (vswitchd.conf.db(5), "SSL TABLE"). The paths are on the host.
type SSL struct {
	// PrivateKey is the host's private key, Certificate its certificate.
	PrivateKey, Certificate string
	// CACert is the CA certificate peers must chain to.
	CACert string
}

// EnsureSSL makes the database's SSL row hold s, with bootstrap_ca_cert
// false (the CA file is never taken from the first peer, as ovs-pki's
// bootstrap would): it inserts the row and points the Open_vSwitch row
// at it when there is none, else updates the columns that differ. It
// reports whether anything was written. ovs-vswitchd sees all three
// columns change in one transaction; it re-reads the files themselves
// when they change on disk (certificate first, then key: see
// docs/security.md). Errors wrap ErrNoRoot or ErrTransact.
func (c *Conn) EnsureSSL(ctx context.Context, s SSL) (changed bool, err error) {
	return c.ensureSSL(ctx, c.snapshot(), s)
}

func (c *Conn) ensureSSL(ctx context.Context, snap *snapshot, s SSL) (bool, error) {
	if snap.root == nil {
		return false, fmt.Errorf("ensure ssl: %w", ErrNoRoot)
	}
	want := libovsdb.Row{"private_key": s.PrivateKey, "certificate": s.Certificate, "ca_cert": s.CACert, "bootstrap_ca_cert": false}
	var ops []libovsdb.Operation
	rows := c.sslRows()
	if len(rows) == 0 {
		ops = append(ops, insertOp(vswitchd.SSLTable, "ssl", want),
			updateOp(vswitchd.OpenvSwitchTable, whereUUID(snap.root.UUID), libovsdb.Row{"ssl": uuidSet("ssl")}))
	}
	// The SSL table is not a root table: a row no Open_vSwitch row
	// references is garbage-collected (RFC 7047 §3.2), so every row here
	// is the root's, normally the one.
	for _, r := range rows {
		if r.PrivateKey != s.PrivateKey || r.Certificate != s.Certificate || r.CaCert != s.CACert || r.BootstrapCaCert {
			ops = append(ops, updateOp(vswitchd.SSLTable, whereUUID(r.UUID), want))
		}
	}
	if len(ops) == 0 {
		return false, nil
	}
	if err := c.transact(ctx, "ensure ssl", ops); err != nil {
		return false, err
	}
	return true, nil
}

// sslRows returns the replica's SSL rows.
func (c *Conn) sslRows() []*vswitchd.SSL {
	t := c.cache.Table(vswitchd.SSLTable)
	if t == nil {
		return nil
	}
	var out []*vswitchd.SSL
	for _, m := range t.RowsShallow() {
		out = append(out, m.(*vswitchd.SSL))
	}
	return out
}

// ensureSSL writes the SSL row of a host with TLS files (hosts[].tls)
// before its bridge's Controller rows name ssl: targets, counting a
// failed transaction and noting a write; a host without them is left
// alone (an SSL row set by hand stays).
func (w *worker) ensureSSL(ctx context.Context, conn *Conn, s *snapshot, self topo.Host) error {
	if !self.TLS.Enabled() {
		return nil
	}
	changed, err := conn.ensureSSL(ctx, s, SSL{PrivateKey: self.TLS.Key, Certificate: self.TLS.Cert, CACert: self.TLS.CA})
	w.countErr(err)
	if changed {
		w.noteWrite("ssl row")
	}
	return err
}

// hostTargets returns the controller targets of h's bridge: the ssl:
// targets of openflow.targets for a host with TLS files, the others
// (tcp:) for a host without; all of them when that leaves none, so a
// host whose SSL row was set by hand still gets ssl: targets.
func hostTargets(targets []string, h topo.Host) []string {
	var out []string
	for _, t := range targets {
		if strings.HasPrefix(t, "ssl:") == h.TLS.Enabled() {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return targets
	}
	return out
}

// dialTLS returns the TLS configuration for dialling h's OVSDB: nil
// unless its address is ssl:.
func (m *Manager) dialTLS(h topo.Host) *tls.Config {
	if !strings.HasPrefix(h.OVSDB, "ssl:") || m.opts.TLS == nil {
		return nil
	}
	return m.opts.TLS.ClientConfig(h.Name)
}

// registerTLSMetrics creates ovsmesh_ovsdb_tls_refused_total, every
// reason exported at 0 for each host whose OVSDB is ssl:, and registers
// it with the Manager's Registerer, if any.
func (m *Manager) registerTLSMetrics() error {
	m.tlsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ovsmesh", Subsystem: "ovsdb", Name: "tls_refused_total",
		Help: "OVSDB connections over TLS (ssl:) refused, by host and reason: unknown_ca, expired, not_yet_valid, key_usage, invalid_certificate (the server's certificate), no_identity (it names no host), wrong_host (it names another host), peer_alert (the server refused the controller's certificate), plaintext (the server does not speak TLS), no_certificate, handshake (other TLS failures)."},
		[]string{"host", "reason"})
	for _, h := range m.hosts {
		if strings.HasPrefix(h.OVSDB, "ssl:") {
			for _, r := range pki.Reasons {
				m.tlsRefused.WithLabelValues(h.Name, r)
			}
		}
	}
	if m.opts.Registerer == nil {
		return nil
	}
	if err := m.opts.Registerer.Register(m.tlsRefused); err != nil {
		return fmt.Errorf("register ovsdb metrics: %w", err)
	}
	return nil
}

// tlsRefusal counts a connection attempt to an ssl: OVSDB address that
// TLS refused (pki.Reason) and returns err with the reason in front,
// for the caller's log line; other errors are returned as they are.
func (w *worker) tlsRefusal(err error) error {
	if !strings.HasPrefix(w.host.OVSDB, "ssl:") {
		return err
	}
	r := pki.Reason(err)
	if r == "" {
		return err
	}
	w.m.tlsRefused.WithLabelValues(w.host.Name, r).Inc()
	return fmt.Errorf("tls refused (%s): %w", r, err)
}
