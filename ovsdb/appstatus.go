package ovsdb

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/ovsmesh/ovsmesh/topo"
)

// ifindexSeen is the Linux ifindex an app port's interface row had while
// ovs-vswitchd served it (an OpenFlow port, no error).
type ifindexSeen struct {
	iface   string // Interface row UUID
	ifindex int
}

// syncAppPorts makes the host's app ports right against snapshot s (see
// Conn.SyncAppPorts) and reports their status. It reopens an owned port
// whose Linux device came back under a new ifindex while ovs-vswitchd
// kept the port (bound to the dead device), and one that OVS could not
// open for Options.AppPortRetry, again every AppPortRetry while that
// lasts (ovs-vswitchd itself retries when the kernel announces a new
// device; this is the backstop). It returns whether it changed the
// configuration on the host (reopens do not count: they are neither
// convergence nor drift) and the error of the transactions.
func (w *worker) syncAppPorts(ctx context.Context, conn *Conn, s *snapshot, bridge string) (bool, error) {
	var want []topo.AppPort
	if src := w.m.opts.AppPorts; src != nil {
		want = src.AppPorts(w.host.Name)
	}
	now := time.Now()
	reopen := map[string]string{} // port -> why
	for _, p := range want {
		port, iface := s.portByName[p.Name], s.ifaceByName[p.Name]
		if port == nil || iface == nil || port.ExternalIDs[AppKey] != p.App || !owned(port.ExternalIDs) {
			continue
		}
		st := ifaceStatus(iface)
		switch {
		case retryable(st) && now.Sub(w.appTouched[p.Name]) >= w.m.opts.AppPortRetry:
			reopen[p.Name] = "ovs-vswitchd could not open it"
		case st.OFPort > 0 && iface.Ifindex != nil && *iface.Ifindex > 0:
			seen, ok := w.appIfindex[p.Name]
			if ok && seen.iface == iface.UUID && seen.ifindex != *iface.Ifindex {
				reopen[p.Name] = "its network device was created again"
			}
			w.appIfindex[p.Name] = ifindexSeen{iface: iface.UUID, ifindex: *iface.Ifindex}
		}
	}
	res, status, err := conn.syncAppPorts(ctx, s, bridge, want, slices.Sorted(maps.Keys(reopen)))
	for _, name := range slices.Concat(res.Created, res.Adopted, res.Reopened) {
		w.appTouched[name] = now
	}
	for _, name := range res.Reopened {
		w.m.metrics.appPortReopens.WithLabelValues(w.host.Name, name).Inc()
		// A retry of the same error every AppPortRetry is worth one line
		// at info; a device that came back is news each time.
		lvl := slog.LevelInfo
		if retryable(w.appStatus[name]) {
			if w.appRetried[name] {
				lvl = slog.LevelDebug
			}
			w.appRetried[name] = true
		}
		w.log.Log(ctx, lvl, "app port reopened: removed and added again so that ovs-vswitchd opens its device afresh",
			"port", name, "because", reopen[name], "retry_every", w.m.opts.AppPortRetry)
	}
	if len(res.Removed) > 0 {
		w.log.Info("removed app ports no longer declared", "ports", res.Removed)
	}
	if len(res.Adopted) > 0 {
		w.log.Info("adopted app ports already on the bridge", "ports", res.Adopted)
	}
	for _, name := range res.Reopened {
		delete(status, name) // what s says of it is gone with its rows
	}
	res.Reopened = nil
	if res.Changed() {
		w.noteWrite("app ports: " + res.String())
	}
	w.publishAppPorts(want, status, now)
	return res.Changed(), err
}

// publishAppPorts logs, counts and publishes each wanted app port whose
// status changed, and forgets the ports no longer wanted. A port that
// goes from an error to "pending" (its rows just recreated, no ofport
// yet) keeps its error: only a new error or the port coming up is news.
func (w *worker) publishAppPorts(want []topo.AppPort, status map[string]topo.AppPortStatus, now time.Time) {
	pub, _ := w.m.opts.Publisher.(AppPortPublisher)
	wanted := map[string]bool{}
	for _, p := range want {
		wanted[p.Name] = true
		st := status[p.Name]
		old, had := w.appStatus[p.Name]
		if had && (st.OFPort == old.OFPort && st.Error == old.Error || st.OFPort == 0 && st.Error == "" && old.Error != "") {
			continue
		}
		st.Since = old.Since
		if !had || st.Up() != old.Up() {
			st.Since = now
		}
		w.appStatus[p.Name] = st
		up := 0.0
		switch {
		case st.Up():
			up = 1
			delete(w.appRetried, p.Name)
			w.log.Info("app port up", "port", p.Name, "app", p.App, "ofport", st.OFPort)
		case st.Error != "":
			w.log.Warn("app port not up", "port", p.Name, "app", p.App, "ofport", st.OFPort, "err", st.Error)
		default:
			w.log.Debug("app port pending", "port", p.Name, "app", p.App)
		}
		w.m.metrics.appPortUp.WithLabelValues(w.host.Name, p.Name).Set(up)
		if pub != nil {
			pub.SetAppPortStatus(w.host.Name, p.Name, st)
		}
	}
	for name := range w.appStatus {
		if !wanted[name] {
			delete(w.appStatus, name)
			delete(w.appTouched, name)
			delete(w.appRetried, name)
			delete(w.appIfindex, name)
			w.m.metrics.forgetAppPort(w.host.Name, name)
		}
	}
}

// appRetryIn returns how long until the next reopen of an app port that
// OVS could not open is due, and false when there is none. One that is
// overdue (its last pass found it pending, not in error) is looked at
// again a whole AppPortRetry later, not at once.
func (w *worker) appRetryIn(now time.Time) (time.Duration, bool) {
	var next time.Duration
	due := false
	for name, st := range w.appStatus {
		if !retryable(st) {
			continue
		}
		d := w.appTouched[name].Add(w.m.opts.AppPortRetry).Sub(now)
		if d <= 0 {
			d = w.m.opts.AppPortRetry
		}
		if !due || d < next {
			next, due = d, true
		}
	}
	return next, due
}

// retryable reports whether st is OVS failing to open the interface
// (ofport -1 with Interface.error), which reopening the port may cure;
// ovsmesh's own reasons for leaving a port alone have ofport 0.
func retryable(st topo.AppPortStatus) bool { return st.OFPort < 0 && st.Error != "" }
