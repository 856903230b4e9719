package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Accept backoff after a temporary error (out of file descriptors, out
// of memory for sockets), as net/http's Server does: 5 ms, doubling to
// 1 s, back to none after a successful accept.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// accept accepts connections on ln until ctx is done or ln is closed,
// starting a session for each that the connection limits allow. A
// temporary accept error (EMFILE, ENFILE, ENOBUFS, ENOMEM, ECONNABORTED)
// is logged, counted and retried after a backoff instead of ending the
// controller; any other error is returned.
func (c *Controller) accept(ctx context.Context, ln net.Listener, wg *sync.WaitGroup) error {
	var delay time.Duration
	var errLog rateLog
	for {
		// Wait for a handshake slot before accepting: a burst of
		// switches (all hosts reconnecting after a restart) waits in the
		// listen backlog instead of being refused.
		if !c.waitHandshakeSlot(ctx) {
			return nil
		}
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !temporary(err) {
				return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
			}
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			c.metrics.acceptErrors.Inc()
			if n, ok := errLog.due(time.Now()); ok {
				c.log.Warn("accepting a switch connection failed: retrying", "listener", ln.Addr().String(),
					"err", err, "backoff", delay, "failures_since_last_log", n)
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil
			}
			continue
		}
		delay = 0
		ip := remoteAddr(conn)
		if ok, stop := c.admitConn(conn, ip); stop {
			conn.Close()
			return nil
		} else if !ok {
			conn.Close()
			continue
		}
		_, secure := ln.(tlsListener)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.dropConn(conn, ip)
			newSession(c, conn, secure).serve(ctx)
		}()
	}
}

// temporary reports whether an accept error is worth retrying: the
// errors net/http's Server retries (net.Error's Temporary, which covers
// the errnos below), spelled out so the intent is plain.
func temporary(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// waitHandshakeSlot waits until fewer than MaxHandshaking connections
// are handshaking; false means ctx is done.
func (c *Controller) waitHandshakeSlot(ctx context.Context) bool {
	for {
		c.mu.Lock()
		free := len(c.handshaking) < c.opts.MaxHandshaking
		slot := c.slotFreed
		c.mu.Unlock()
		if free {
			return true
		}
		select {
		case <-slot:
		case <-ctx.Done():
			return false
		}
	}
}

// admitConn applies the connection limits to a new connection from ip:
// in total, and per source address. (The handshake limit is applied
// before accepting, see waitHandshakeSlot; the check here only guards
// against several listeners taking the last slot at once.) It records
// an admitted connection and reports ok; a refused one is counted and
// logged at most once a second. stop is set when the controller is
// closing.
func (c *Controller) admitConn(conn net.Conn, ip netip.Addr) (ok, stop bool) {
	c.mu.Lock()
	var reason string
	switch {
	case c.closing:
		c.mu.Unlock()
		return false, true
	case len(c.conns) >= c.opts.MaxConnections:
		reason = "max_connections"
	case len(c.handshaking) >= c.opts.MaxHandshaking:
		reason = "max_handshaking"
	case c.perIP[ip] >= c.opts.MaxConnectionsPerIP:
		reason = "max_connections_per_ip"
	default:
		c.conns[conn] = ip
		c.handshaking[conn] = struct{}{}
		c.perIP[ip]++
		c.mu.Unlock()
		return true, false
	}
	n, due := c.refusedLog.due(time.Now())
	total, hs, fromIP := len(c.conns), len(c.handshaking), c.perIP[ip]
	c.mu.Unlock()
	c.metrics.connsRefused.WithLabelValues(reason).Inc()
	if due {
		c.log.Warn("switch connection refused: over a connection limit", "remote", conn.RemoteAddr().String(), "limit", reason,
			"connections", total, "handshaking", hs, "from_this_ip", fromIP, "refused_since_last_log", n)
	}
	return false, false
}

// handshakeDone frees conn's handshake slot.
func (c *Controller) handshakeDone(conn net.Conn) {
	c.mu.Lock()
	c.freeSlot(conn)
	c.mu.Unlock()
}

// freeSlot frees conn's handshake slot, if it holds one, and wakes the
// accept loops waiting for one; c.mu is held.
func (c *Controller) freeSlot(conn net.Conn) {
	if _, ok := c.handshaking[conn]; ok {
		delete(c.handshaking, conn)
		close(c.slotFreed)
		c.slotFreed = make(chan struct{})
	}
}

// dropConn forgets a connection whose session has ended.
func (c *Controller) dropConn(conn net.Conn, ip netip.Addr) {
	c.mu.Lock()
	delete(c.conns, conn)
	c.freeSlot(conn)
	if c.perIP[ip]--; c.perIP[ip] <= 0 {
		delete(c.perIP, ip)
	}
	c.mu.Unlock()
}

// rateLog lets a repeated warning through at most once a second and
// counts the occurrences in between. The caller serializes calls.
type rateLog struct {
	last       time.Time
	suppressed int
}

// due reports whether to log now, and how many occurrences were not
// logged since the last line.
func (r *rateLog) due(now time.Time) (suppressed int, ok bool) {
	if now.Sub(r.last) < time.Second {
		r.suppressed++
		return 0, false
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	return n, true
}
