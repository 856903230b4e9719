package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// dispatch runs SwitchUp and reconciliation, then hands queued events to
// the apps in order until the queue is closed, then runs SwitchDown.
func (s *session) dispatch(ctx context.Context, early []any) {
	s.setupMeters(ctx)
	for _, app := range s.c.apps {
		if h, ok := app.(SwitchUpHandler); ok {
			s.call(app, func() error { return h.SwitchUp(ctx, s) })
		}
	}
	// The table-miss entries go after the apps' flows: a miss may point
	// at a group an app has just created.
	for _, f := range s.c.opts.Baseline {
		if err := s.w.send(flows.AddFlow(f)); err != nil {
			s.log.Warn("installing the baseline failed", "err", err)
			break
		}
	}
	if err := s.reconcile(ctx); err != nil {
		s.log.Warn("reconciling flows after connect failed", "err", err)
	}
	for _, ev := range early {
		s.handle(ctx, ev)
	}
	// Handlers get a ctx marked with this session: their sends to this
	// switch only queue bytes, written once the mailbox is empty without
	// a hand-off to the writer goroutine.
	hctx := context.WithValue(ctx, dispatchKey{}, s)
	var spare []item
	for {
		batch, ok := s.queue.take(spare)
		if !ok {
			break
		}
		for i, it := range batch {
			s.handle(hctx, it.ev)
			batch[i] = item{}
			s.queue.release(it)
			if i < len(batch)-1 || s.queue.len() > 0 {
				// More events wait: let the writer goroutine send what
				// this one queued, or it would sit behind a blocked
				// handler, or for ever under a flood.
				s.w.signal()
			}
		}
		s.w.flush()
		spare = batch
		if cap(spare) > maxKeptBatch {
			spare = nil // a burst grew it: do not hold it for the session's life
		}
	}
	for _, app := range s.c.apps {
		if h, ok := app.(SwitchDownHandler); ok {
			s.call(app, func() error { h.SwitchDown(ctx, s); return nil })
		}
	}
}

// maxKeptBatch is the largest event batch, in events, the dispatcher
// keeps for reuse: a thousand switches each holding the backing array of
// their largest burst (1024 events) would pin 64 MB.
const maxKeptBatch = 256

// handle hands one event to every app that handles its kind.
func (s *session) handle(ctx context.Context, ev any) {
	switch ev := ev.(type) {
	case *flows.PacketIn:
		start := time.Now()
		owner := s.c.route(ev.Cookie.App(), ev.Table)
		if h, ok := owner.(PacketInHandler); ok {
			s.call(owner, func() error { return h.PacketIn(ctx, s, ev) })
		} else if owner == nil {
			s.c.metrics.unrouted.Inc()
		}
		for _, app := range s.c.observe[ev.Table] {
			if h, ok := app.(PacketInHandler); ok && app != owner {
				s.call(app, func() error { return h.PacketIn(ctx, s, ev) })
			}
		}
		s.c.metrics.packetInTiming.Observe(time.Since(start).Seconds())
	case flows.PortStatus:
		s.portsMu.Lock()
		if ev.Reason == flows.PortDeleted {
			delete(s.ports, ev.Port.No)
		} else {
			s.ports[ev.Port.No] = ev.Port
		}
		s.portsMu.Unlock()
		s.portMeter(ev)
		for _, app := range s.c.apps {
			if h, ok := app.(PortStatusHandler); ok {
				s.call(app, func() error { return h.PortStatus(ctx, s, ev) })
			}
		}
	case *flows.FlowRemoved:
		owner := s.c.route(ev.Cookie.App(), ev.Table)
		if h, ok := owner.(FlowRemovedHandler); ok {
			s.call(owner, func() error { return h.FlowRemoved(ctx, s, ev) })
		}
	}
}

// call runs one handler, turning a panic into an error carrying the app
// name; errors are logged with dpid and app, and counted.
func (s *session) call(app App, fn func() error) {
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("app %s panicked: %v", app.Name(), r)
			}
		}()
		return fn()
	}()
	if err != nil {
		s.c.metrics.appErrors.WithLabelValues(app.Name()).Inc()
		s.log.Error("app handler failed", "app", app.Name(), "err", err)
	}
}

// reconcile removes flows left by earlier controller runs once the apps
// have replayed theirs: a barrier makes the switch finish the replay,
// a flow-stats dump lists the cookies present, and each ovsmesh
// generation/app pair that is not current is deleted by cookie and mask.
// A final barrier orders the deletes before later messages.
func (s *session) reconcile(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, dispatcherWait{}, true), 30*time.Second)
	defer cancel()
	if err := s.w.send(flows.BarrierRequest{}); err != nil {
		return err
	}
	parts, err := s.multipart(ctx, flows.FlowStatsRequest{Table: flows.TableAll})
	if err != nil {
		return fmt.Errorf("flow stats: %w", err)
	}
	stale := map[flows.Cookie]bool{}
	for _, body := range parts {
		entries, err := flows.DecodeFlowStats(body)
		if err != nil {
			return fmt.Errorf("flow stats: %w", err)
		}
		for _, e := range entries {
			if e.Cookie.Owned() && e.Cookie.Generation() != s.c.opts.Generation {
				stale[e.Cookie&flows.CookieGenAppMask] = true
			}
		}
	}
	for c := range stale {
		if err := s.w.send(flows.DeleteByCookie(c, flows.CookieGenAppMask)); err != nil {
			return err
		}
	}
	if len(stale) > 0 {
		s.c.metrics.staleDeleted.WithLabelValues(s.dpid.String()).Add(float64(len(stale)))
		s.log.Info("deleted flows of older generations", "generation_app_pairs", len(stale))
	}
	return s.w.send(flows.BarrierRequest{})
}
