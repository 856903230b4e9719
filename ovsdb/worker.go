package ovsdb

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ovsmesh/ovsmesh/topo"
)

// worker owns one host: it connects, reconciles and publishes, and
// retries with backoff when the host is unreachable. All its fields
// except kick and done are used only by the run goroutine.
type worker struct {
	m      *Manager
	host   topo.Host
	log    *slog.Logger
	cancel context.CancelFunc
	prev   <-chan struct{} // closed when the worker this one replaces has exited
	done   chan struct{}   // closed when run returns
	kick   chan struct{}   // capacity 1: "reconcile soon"

	state      topo.OVSDBState
	gen        uint64                        // Manager generation last reconciled against
	appGen     uint64                        // Manager app port generation likewise
	published  map[string]int32              // peer -> OFPort last published
	appStatus  map[string]topo.AppPortStatus // app port -> status last published
	appTouched map[string]time.Time          // app port -> when its rows were last written
	appRetried map[string]bool               // app ports reopened since they were last up
	appIfindex map[string]ifindexSeen        // app port -> its device's ifindex while served
	mtuWarned  map[string]int                // interface -> MTU already warned about
	lastErr    string                        // last connect error logged at warn level

	// ifaceWarned holds, per interface, the external_ids problems
	// already logged (ifaces.go).
	ifaceWarned map[string]string
}

func newWorker(m *Manager, h topo.Host, cancel context.CancelFunc, prev <-chan struct{}) *worker {
	return &worker{
		m: m, host: h, cancel: cancel, prev: prev,
		log:        m.opts.Logger.With("host", h.Name, "ovsdb", h.OVSDB),
		done:       make(chan struct{}),
		kick:       make(chan struct{}, 1),
		published:  map[string]int32{},
		appStatus:  map[string]topo.AppPortStatus{},
		appTouched: map[string]time.Time{},
		appRetried: map[string]bool{},
		appIfindex: map[string]ifindexSeen{},
		mtuWarned:  map[string]int{},
	}
}

// poke asks for a reconcile pass without blocking; safe from any goroutine.
func (w *worker) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// stop cancels the worker; done is closed once it has exited. A stopped
// worker publishes nothing more, so its replacement owns the host's state.
func (w *worker) stop() { w.cancel() }

// run connects and reconciles until ctx ends, reconnecting with backoff.
// It returns only when ctx is done.
func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	if w.prev != nil {
		select {
		case <-w.prev:
		case <-ctx.Done():
			return
		}
	}
	w.setState(false, "not connected yet")
	bo := backoff{min: w.m.opts.RetryMin, max: w.m.opts.RetryMax}
	for {
		established, err := w.session(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := bo.next()
		if established {
			bo.reset()
			wait = bo.next()
			w.m.metrics.disconnects.WithLabelValues(w.host.Name).Inc()
			w.log.Warn("ovsdb session lost; reconnecting", "err", err, "retry_in", wait)
			w.lastErr = ""
		} else {
			w.m.metrics.connectErrors.WithLabelValues(w.host.Name).Inc()
			lvl := slog.LevelWarn
			if err.Error() == w.lastErr {
				lvl = slog.LevelDebug // same failure again: once at warn is enough
			}
			w.lastErr = err.Error()
			w.log.Log(ctx, lvl, "ovsdb connect failed; host reported down", "err", err, "retry_in", wait)
		}
		w.setState(false, err.Error())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// session runs one OVSDB session. It reports whether the session was
// established and why it ended (nil when ctx ended it).
func (w *worker) session(ctx context.Context) (bool, error) {
	dctx, cancel := context.WithTimeout(ctx, w.m.opts.ConnectTimeout)
	conn, err := Dial(dctx, w.host.OVSDB, DialOptions{
		Logger:     w.log.With("component", "libovsdb"),
		Registerer: w.m.hostRegisterer(w.host.Name),
		OnChange:   w.poke,
		TLS:        w.m.dialTLS(w.host),
	})
	cancel()
	if err != nil {
		return false, w.tlsRefusal(err)
	}
	defer conn.Close()
	w.m.metrics.connects.WithLabelValues(w.host.Name).Inc()
	w.log.Info("ovsdb connected")
	w.state.Converged = false
	w.setState(true, "")

	resync := time.NewTicker(w.m.opts.ResyncInterval)
	defer resync.Stop()
	bo := backoff{min: w.m.opts.RetryMin, max: w.m.opts.RetryMax}
	var retry, appRetry *time.Timer
	for {
		var retryC, appRetryC <-chan time.Time
		if err := w.reconcile(ctx, conn); err != nil && ctx.Err() == nil {
			d := bo.next()
			w.log.Warn("reconcile failed; retrying", "err", err, "retry_in", d)
			w.setState(true, err.Error())
			retry = time.NewTimer(d)
			retryC = retry.C
		} else {
			bo.reset()
			if w.state.LastError != "" {
				w.setState(true, "")
			}
		}
		if d, ok := w.appRetryIn(time.Now()); ok {
			appRetry = time.NewTimer(d)
			appRetryC = appRetry.C
		}
		select {
		case <-ctx.Done():
			return true, nil
		case <-conn.Done():
			return true, fmt.Errorf("ovsdb session to %s closed", w.host.OVSDB)
		case <-w.kick:
			w.settle(ctx, conn.Done())
		case <-resync.C:
		case <-retryC:
		case <-appRetryC:
		}
		for _, t := range []*time.Timer{retry, appRetry} {
			if t != nil {
				t.Stop()
			}
		}
		retry, appRetry = nil, nil
	}
}

// settle returns once no kick has come for Debounce, or 10×Debounce after
// it was called, or when ctx or the session ends: the kicks of one burst
// of monitor updates then cost one reconcile pass.
func (w *worker) settle(ctx context.Context, sessionDone <-chan struct{}) {
	quiet := w.m.opts.Debounce
	limit := time.NewTimer(10 * quiet)
	defer limit.Stop()
	t := time.NewTimer(quiet)
	defer t.Stop()
	for {
		select {
		case <-w.kick:
			t.Reset(quiet)
		case <-t.C:
			return
		case <-limit.C:
			return
		case <-ctx.Done():
			return
		case <-sessionDone:
			return
		}
	}
}

// setState publishes the connection state; Since moves only when
// Connected changes.
func (w *worker) setState(connected bool, lastErr string) {
	if connected != w.state.Connected || w.state.Since.IsZero() {
		w.state.Since = time.Now()
	}
	w.state.Connected, w.state.LastError = connected, lastErr
	v := 0.0
	if connected {
		v = 1
	}
	w.m.metrics.connected.WithLabelValues(w.host.Name).Set(v)
	c := 0.0
	if connected && w.state.Converged {
		c = 1
	}
	w.m.metrics.converged.WithLabelValues(w.host.Name).Set(c)
	if p := w.m.opts.Publisher; p != nil {
		p.SetOVSDBState(w.host.Name, w.state)
	}
}

// backoff is a capped exponential backoff with ±20% jitter.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(b.cur) * jitter)
}

func (b *backoff) reset() { b.cur = 0 }
