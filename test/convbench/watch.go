package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ovsmesh/ovsmesh/lab"
	"github.com/ovsmesh/ovsmesh/ovsdb"
	"github.com/ovsmesh/ovsmesh/topo"
)

// meshWatch follows every host's OVSDB through a monitor and records when
// each host first held all its tunnel ports with an OpenFlow port number.
type meshWatch struct {
	conns map[string]*ovsdb.Conn
	want  map[string]map[string]bool // host -> tunnel port names it needs

	mu    sync.Mutex
	dirty map[string]bool
	done  map[string]time.Time
	kick  chan struct{}
}

// watchMesh dials every host's ovsdb-server on its unix socket. ctx
// bounds the dials; close ends the sessions.
func watchMesh(ctx context.Context, hosts []lab.Host) (*meshWatch, error) {
	w := &meshWatch{conns: map[string]*ovsdb.Conn{}, want: map[string]map[string]bool{},
		dirty: map[string]bool{}, done: map[string]time.Time{}, kick: make(chan struct{}, 1)}
	for _, h := range hosts {
		w.want[h.Name] = map[string]bool{}
		for _, p := range hosts {
			if p.Name != h.Name {
				w.want[h.Name][topo.TunnelPortName(p.Name)] = true
			}
		}
	}
	var mu sync.Mutex
	err := parallel(len(hosts), func(i int) error {
		name := hosts[i].Name
		c, err := ovsdb.Dial(ctx, "unix:"+hosts[i].DBSocket(), ovsdb.DialOptions{OnChange: func() { w.markDirty(name) }})
		if err != nil {
			return fmt.Errorf("watch %s: %w", name, err)
		}
		mu.Lock()
		w.conns[name] = c
		mu.Unlock()
		return nil
	})
	if err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *meshWatch) markDirty(host string) {
	w.mu.Lock()
	w.dirty[host] = true
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// complete reports whether host holds every tunnel port it needs, each
// with an OpenFlow port number.
func (w *meshWatch) complete(host string) bool {
	ports := w.conns[host].TunnelPorts(lab.MeshBridge)
	n := 0
	for _, p := range ports {
		if w.want[host][p.Name] && p.OFPort > 0 {
			n++
		}
	}
	return n == len(w.want[host])
}

// wait returns when every host is complete, or with ctx's error. It
// checks a host at most every 20 ms, after a monitor update.
func (w *meshWatch) wait(ctx context.Context) (time.Time, error) {
	for h := range w.conns {
		w.markDirty(h)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		w.mu.Lock()
		dirty := w.dirty
		w.dirty = map[string]bool{}
		w.mu.Unlock()
		for h := range dirty {
			if _, ok := w.done[h]; !ok && w.complete(h) {
				w.done[h] = time.Now()
			}
		}
		if len(w.done) == len(w.conns) {
			var last time.Time
			for _, t := range w.done {
				if t.After(last) {
					last = t
				}
			}
			return last, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("tunnel mesh: %d of %d hosts complete: %w", len(w.done), len(w.conns), ctx.Err())
		case <-tick.C:
		}
	}
}

// close ends every session.
func (w *meshWatch) close() {
	for _, c := range w.conns {
		c.Close()
	}
}

// parallel runs f for every i in [0, n) concurrently and joins the errors.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
