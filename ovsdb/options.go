package ovsdb

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/topo"
)

// Publisher is where the Manager reports live OVSDB-side state; *topo.Mesh
// satisfies it. Calls come from the per-host goroutines concurrently.
type Publisher interface {
	// SetOVSDBState records host's OVSDB connection state.
	SetOVSDBState(host string, st topo.OVSDBState)
	// SetTunnelOFPort records the OFPort on host of the tunnel towards
	// peer; ofport <= 0 forgets it.
	SetTunnelOFPort(host, peer string, ofport int32)
}

// BatchPublisher is a Publisher that also takes every OFPort change of one
// reconcile pass of a host in one call; the Manager then calls
// SetTunnelOFPorts instead of SetTunnelOFPort once per peer. A publisher
// that persists each host's tunnel map does one write per pass instead of
// one per peer (O(peers) instead of O(peers²) per host while a mesh
// converges).
type BatchPublisher interface {
	Publisher
	// SetTunnelOFPorts records, for host, the OFPort of the tunnel towards
	// each peer in ports; ofport <= 0 forgets it. ports is not used after
	// the call returns.
	SetTunnelOFPorts(host string, ports map[string]int32)
}

// Options configures a Manager. Zero durations take the defaults below.
type Options struct {
	// Mesh is the bridge and tunnel configuration (bridge name,
	// datapath_type, tunnel type, tunnel key, underlay MTU).
	Mesh config.Mesh
	// Targets are the OpenFlow controller targets (tcp:IP:PORT,
	// ssl:IP:PORT) written into the mesh bridges' Controller rows: a
	// host with TLS files (topo.Host.TLS) gets the ssl: ones, written
	// after its SSL row, the others the tcp: ones (see hostTargets).
	Targets []string
	// PacketInRate (packets/s) and PacketInBurst (packets) bound the
	// packet-ins each switch sends; see Bridge. 0 means no limit.
	PacketInRate, PacketInBurst int
	// TLS configures the sessions of hosts whose OVSDB address is
	// ssl:IP:PORT (normally the tls section's *pki.Loader); required
	// when there is one.
	TLS ClientTLS
	// Hosts are the mesh members; each gets tunnels to all the others.
	Hosts []topo.Host
	// Publisher receives connection state and tunnel OFPorts; nil
	// publishes nowhere. A BatchPublisher gets each pass's OFPort changes
	// in one call; an AppPortPublisher also gets the app ports' status.
	Publisher Publisher
	// AppPorts says which interfaces apps own on each host's mesh bridge
	// (normally the *topo.Mesh): every pass makes them exactly the app
	// ports there (see Conn.SyncAppPorts), and a change of the declared
	// set starts a pass on every host at once. Nil declares none.
	AppPorts AppPortSource
	// Logger is the package's logger; nil discards. libovsdb's own logs
	// go to it too, at debug levels.
	Logger *slog.Logger
	// Registerer receives the ovsmesh_ovsdb_* metrics and libovsdb's
	// client metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// ResyncInterval is how often every connected host is reconciled even
	// without monitor updates, a backstop for missed updates. Default 10s.
	ResyncInterval time.Duration
	// RetryMin and RetryMax bound the exponential backoff between
	// connection attempts and between retries of a failed reconcile.
	// Defaults 250ms and 30s.
	RetryMin, RetryMax time.Duration
	// ConnectTimeout bounds one connection attempt (dial, schema and
	// initial monitor). Default 5s.
	ConnectTimeout time.Duration
	// TransactTimeout bounds one reconcile pass's transactions. Default
	// 10s.
	TransactTimeout time.Duration
	// AppPortRetry is how long an owned app port may stay in error (OVS
	// could not open its interface: ofport -1 and Interface.error set)
	// before ovsmesh reopens it (see Conn.SyncAppPorts), and again every
	// AppPortRetry while the error lasts. ovs-vswitchd itself retries
	// when the kernel announces a new device, so this is a backstop; see
	// docs/architecture.md, "App ports". Default 10s.
	AppPortRetry time.Duration
	// Debounce is how long a host's monitor must stay quiet after an
	// update before the host is reconciled, so that a burst of updates
	// (the rows of one transaction, ovs-vswitchd assigning OpenFlow ports
	// one by one) costs one pass instead of one each. Under a steady
	// stream of updates a pass still runs every 10×Debounce. Default
	// 20ms; resyncs and retries are not delayed.
	Debounce time.Duration
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ResyncInterval, 10*time.Second)
	def(&o.RetryMin, 250*time.Millisecond)
	def(&o.RetryMax, 30*time.Second)
	def(&o.ConnectTimeout, 5*time.Second)
	def(&o.TransactTimeout, 10*time.Second)
	def(&o.Debounce, 20*time.Millisecond)
	def(&o.AppPortRetry, 10*time.Second)
	if o.RetryMax < o.RetryMin {
		o.RetryMax = o.RetryMin
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate checks what the Manager relies on: a bridge name, a known
// tunnel type, dialable OVSDB addresses and unique host names. The config
// package checks the rest (key range, duplicate tunnel IPs, targets).
func (o Options) Validate() error {
	var errs []error
	if o.Mesh.Bridge == "" || len(o.Mesh.Bridge) > 15 {
		errs = append(errs, fmt.Errorf("bridge name %q must be 1 to 15 bytes", o.Mesh.Bridge))
	}
	if o.Mesh.Tunnel != "vxlan" && o.Mesh.Tunnel != "gre" {
		errs = append(errs, fmt.Errorf("tunnel type %q: want vxlan or gre", o.Mesh.Tunnel))
	}
	errs = append(errs, validateHosts(o.Hosts))
	for _, h := range o.Hosts {
		if strings.HasPrefix(h.OVSDB, "ssl:") && o.TLS == nil {
			errs = append(errs, fmt.Errorf("host %s: ovsdb address %q needs a TLS configuration", h.Name, h.OVSDB))
		}
	}
	return errors.Join(errs...)
}

func validateHosts(hosts []topo.Host) error {
	var errs []error
	seen := map[string]bool{}
	for _, h := range hosts {
		if h.Name == "" {
			errs = append(errs, errors.New("host with empty name"))
			continue
		}
		if seen[h.Name] {
			errs = append(errs, fmt.Errorf("duplicate host name %q", h.Name))
		}
		seen[h.Name] = true
		if err := CheckAddress(h.OVSDB); err != nil {
			errs = append(errs, fmt.Errorf("host %s: %w", h.Name, err))
		}
		if !h.TunnelIP.Is4() {
			errs = append(errs, fmt.Errorf("host %s: tunnel IP %v is not IPv4", h.Name, h.TunnelIP))
		}
	}
	return errors.Join(errs...)
}
