package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/ovsmesh/ovsmesh/api"
)

// readyPoll is how often notifyReady re-evaluates failing checks.
const readyPoll = 100 * time.Millisecond

// notifyReady tells systemd (Type=notify, through $NOTIFY_SOCKET) that
// the controller is ready, as soon as every check passes: the same
// checks, and so the same condition, as GET /healthz (the state file is
// loaded and the OpenFlow listeners serve; the API listener is bound
// before the checks are built). It returns when READY=1 is sent, when
// ctx ends, or at once when the controller does not run under systemd.
// A failed send is logged, not returned: readiness is a side channel,
// and systemd then fails the start by its own timeout.
func notifyReady(ctx context.Context, checks []api.Check, log *slog.Logger) {
	t := time.NewTicker(readyPoll)
	defer t.Stop()
	last := ""
	for {
		err := failing(checks)
		if err == nil {
			break
		}
		if status := "STATUS=waiting: " + err.Error(); status != last {
			notify(log, status)
			last = status
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	notify(log, daemon.SdNotifyReady+"\nSTATUS=serving")
}

// notifyStopping tells systemd that the controller is shutting down.
func notifyStopping(log *slog.Logger) {
	notify(log, daemon.SdNotifyStopping+"\nSTATUS=stopping")
}

// failing returns the checks that fail, joined, or nil.
func failing(checks []api.Check) error {
	var msgs []string
	for _, c := range checks {
		if err := c.Fn(); err != nil {
			msgs = append(msgs, fmt.Sprintf("%s: %v", c.Name, err))
		}
	}
	if msgs == nil {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// notify sends state to $NOTIFY_SOCKET, if set, and logs a failure.
func notify(log *slog.Logger, state string) {
	sent, err := daemon.SdNotify(false, state)
	if err != nil {
		log.Warn("sd_notify failed", "state", state, "err", err)
		return
	}
	if sent {
		log.Debug("sd_notify", "state", state)
	}
}
