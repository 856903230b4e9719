package nat

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// Errors of rule changes, for the API's status codes.
var (
	// ErrConflict: the rule's key is taken, or the rule is the
	// configuration file's (change it there).
	ErrConflict = errors.New("conflict")
	// ErrNotFound: no such rule.
	ErrNotFound = errors.New("not found")
)

// source names where a rule comes from.
func source(fromConfig bool) string {
	if fromConfig {
		return "config"
	}
	return "api"
}

// AddForward adds a forward at runtime: it is persisted in the state
// file and its one flow is installed on the gateway at once. It fails
// with a *ruleError naming a bad field, or ErrConflict when the
// protocol and port are taken.
func (a *App) AddForward(ctx context.Context, f Forward) (Forward, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, err := f.rule(a.cfg.Inside)
	if err != nil {
		return Forward{}, err
	}
	if old, ok := a.forwards[r.key()]; ok {
		return Forward{}, fmt.Errorf("%w: %s already forwards to %s (%s)", ErrConflict, r.key(), old.Rule.To, source(old.FromConfig))
	}
	a.forwards[r.key()] = ruleEntry[forwardRule]{Rule: r}
	cf := r.config()
	a.rules.Put(record{Key: forwardKey(r), Forward: &cf})
	a.afterChangeLocked(ctx)
	a.log.Info("forward added", "forward", r.key(), "to", r.To.String())
	return cf, nil
}

// DeleteForward removes the forward of proto and port, added through
// the API. It fails with ErrNotFound, or ErrConflict for a forward of
// the configuration file.
func (a *App) DeleteForward(ctx context.Context, proto string, port int) (Forward, error) {
	p, err := parseProto(proto)
	if err != nil {
		return Forward{}, err
	}
	n, err := checkPort("port", port)
	if err != nil {
		return Forward{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := forwardRule{Proto: p, Port: n}.key()
	old, ok := a.forwards[key]
	switch {
	case !ok:
		return Forward{}, fmt.Errorf("%w: no forward %s", ErrNotFound, key)
	case old.FromConfig:
		return Forward{}, fmt.Errorf("%w: forward %s is in the configuration file: remove it there and reload", ErrConflict, key)
	}
	delete(a.forwards, key)
	a.rules.Delete(forwardKey(old.Rule))
	a.afterChangeLocked(ctx)
	a.log.Info("forward deleted", "forward", key)
	return old.Rule.config(), nil
}

// AddRedirect adds a redirect at runtime, persisted and installed on
// its target's host at once. Errors as AddForward's.
func (a *App) AddRedirect(ctx context.Context, d Redirect) (Redirect, error) {
	r, err := d.rule()
	if err != nil {
		return Redirect{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if old, ok := a.redirects[r.key()]; ok {
		return Redirect{}, fmt.Errorf("%w: %s already redirects to port %d (%s)", ErrConflict, r.key(), old.Rule.ToPort, source(old.FromConfig))
	}
	a.redirects[r.key()] = ruleEntry[redirectRule]{Rule: r}
	cd := r.config()
	a.rules.Put(record{Key: redirectKey(r), Redirect: &cd})
	a.afterChangeLocked(ctx)
	a.log.Info("redirect added", "redirect", r.key(), "to_port", r.ToPort)
	return cd, nil
}

// DeleteRedirect removes the redirect of proto, ip and port, added
// through the API. Errors as DeleteForward's.
func (a *App) DeleteRedirect(ctx context.Context, proto, ip string, port int) (Redirect, error) {
	p, err := parseProto(proto)
	if err != nil {
		return Redirect{}, err
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil || !addr.Is4() {
		return Redirect{}, &ruleError{"ip", fmt.Sprintf("%q is not an IPv4 address", ip)}
	}
	n, err := checkPort("port", port)
	if err != nil {
		return Redirect{}, err
	}
	r := redirectRule{Proto: p, IP: addr, Port: n}
	a.mu.Lock()
	defer a.mu.Unlock()
	old, ok := a.redirects[r.key()]
	switch {
	case !ok:
		return Redirect{}, fmt.Errorf("%w: no redirect %s", ErrNotFound, r.key())
	case old.FromConfig:
		return Redirect{}, fmt.Errorf("%w: redirect %s is in the configuration file: remove it there and reload", ErrConflict, r.key())
	}
	delete(a.redirects, r.key())
	a.rules.Delete(redirectKey(old.Rule))
	a.afterChangeLocked(ctx)
	a.log.Info("redirect deleted", "redirect", r.key())
	return old.Rule.config(), nil
}

// afterChangeLocked rewrites the flows a rule change touches (FlowSet
// sends only the difference) and counts the rules; a.mu is held.
func (a *App) afterChangeLocked(ctx context.Context) {
	a.countRulesLocked()
	a.syncAllLocked(ctx)
}
