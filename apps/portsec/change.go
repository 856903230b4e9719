package portsec

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Errors of changes through the API, for its status codes.
var (
	// ErrConflict: the port is the configuration file's or OVSDB's, or
	// an address is declared on another port by the file or the API.
	ErrConflict = errors.New("conflict")
	// ErrNotFound: no such port declared through the API.
	ErrNotFound = errors.New("not found")
)

// AddPort declares p through the API, or replaces the port's earlier
// API declaration: persisted, and in force on its host's switch at
// once. It reports whether the port was new. It fails with a
// *fieldError naming a bad field (an unknown host included), or
// ErrConflict when the file declares the port, or when the file or the
// API declares one of its addresses on another port. A port OVSDB
// declares may be declared through the API: the API's declaration wins.
func (a *App) AddPort(ctx context.Context, p PortDecl) (PortDecl, bool, error) {
	d, err := p.decl(srcAPI)
	if err != nil {
		return PortDecl{}, false, err
	}
	if _, ok := a.host(d.Host); !ok {
		return PortDecl{}, false, &fieldError{"host", fmt.Sprintf("%q is not a configured host", d.Host)}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.cfg.Ports {
		if c.decl().key() == d.key() {
			return PortDecl{}, false, fmt.Errorf("%w: %s is declared in the configuration file: change it there and reload", ErrConflict, d.key())
		}
	}
	for _, ip := range d.IPs {
		for _, o := range a.declsLocked() {
			if o.Source >= srcAPI && o.key() != d.key() && slices.Contains(o.IPs, ip) {
				return PortDecl{}, false, fmt.Errorf("%w: %s is declared on %s (%s)", ErrConflict, ip, o.key(), o.Source)
			}
		}
	}
	_, had := a.api[d.key()]
	a.api[d.key()] = d
	pd := d.portDecl()
	a.records.Put(record{Key: apiKey(d.key()), API: &pd})
	a.applyLocked(ctx)
	a.log.Info("port declared through the API", "host", d.Host, "port", d.Port, "mac", d.MAC.String(), "ips", fmt.Sprint(d.IPs), "replaced", had)
	return pd, !had, nil
}

// DeletePort removes the API's declaration of host's port. It fails
// with ErrNotFound, or ErrConflict for a port only the file or OVSDB
// declares.
func (a *App) DeletePort(ctx context.Context, host, port string) (PortDecl, error) {
	k := key{host, port}
	a.mu.Lock()
	defer a.mu.Unlock()
	d, ok := a.api[k]
	if !ok {
		if e := a.res.ports[k]; e != nil {
			return PortDecl{}, fmt.Errorf("%w: %s is declared by %s, not through the API", ErrConflict, k, e.Source)
		}
		return PortDecl{}, fmt.Errorf("%w: no port %s declared through the API", ErrNotFound, k)
	}
	delete(a.api, k)
	a.records.Delete(apiKey(k))
	a.applyLocked(ctx)
	a.log.Info("port declaration deleted through the API", "host", host, "port", port)
	return d.portDecl(), nil
}

// host returns the configured host called name.
func (a *App) host(name string) (string, bool) {
	for _, h := range a.opts.Mesh.Hosts() {
		if h.Name == name {
			return h.Name, true
		}
	}
	return "", false
}
