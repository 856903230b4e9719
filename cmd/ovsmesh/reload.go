package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/topo"
)

// reloader applies a re-read configuration file to a running node: on
// SIGHUP and on POST /api/v1/reload. One reload runs at a time.
type reloader struct {
	f         controllerFlags
	n         *node
	level     *slog.LevelVar
	flagLevel slog.Level // --log-level, used when the file sets none
	log       *slog.Logger

	mu  sync.Mutex
	cfg config.Config // what runs now
}

// ReloadReport is the answer of a reload: what changed live, and what
// changed in the file but needs a restart (left as it runs).
type ReloadReport struct {
	// Applied lists the settings applied live (YAML paths).
	Applied []string `json:"applied"`
	// RestartRequired lists the settings that changed in the file and
	// are left unchanged until the next start (YAML paths).
	RestartRequired []string `json:"restart_required"`
}

// restartOnly are the core settings a running controller keeps: where it
// listens and the session settings of OpenFlow connections already up
// (every field of openflow), the API listener, its state file, the mesh
// bridge and tunnels, and the paths of its TLS files (their contents are
// re-read when they change on disk, with no reload: pki.Loader).
var restartOnly = []struct {
	path string
	get  func(config.Config) any
}{
	{"openflow", func(c config.Config) any { return c.OpenFlow }},
	{"api", func(c config.Config) any { return c.API }},
	{"state", func(c config.Config) any { return c.State }},
	{"mesh", func(c config.Config) any { return c.Mesh }},
	{"tls", func(c config.Config) any { return c.TLS }},
}

// changedFields returns the YAML paths under prefix whose values differ
// between a and b, structs of the same type: one path per changed
// top-level field, named by its yaml tag, or prefix itself when a and b
// are not structs.
func changedFields(prefix string, a, b any) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Kind() != reflect.Struct {
		if reflect.DeepEqual(a, b) {
			return nil
		}
		return []string{prefix}
	}
	var out []string
	for i := range va.NumField() {
		if reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			continue
		}
		name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			name = strings.ToLower(va.Type().Field(i).Name)
		}
		out = append(out, prefix+"."+name)
	}
	return out
}

// reload re-reads the file. A file that fails any validation is refused
// as a whole: the error names the field and line, and nothing changes.
// Otherwise it applies the host list, the log level and the apps'
// settings, and reports every other changed setting as needing a
// restart.
func (r *reloader) reload(ctx context.Context) (ReloadReport, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := ReloadReport{Applied: []string{}, RestartRequired: []string{}}
	next, err := loadConfig(r.f, r.n.registry)
	if err != nil {
		return rep, err
	}
	for _, o := range restartOnly {
		rep.RestartRequired = append(rep.RestartRequired, changedFields(o.path, o.get(r.cfg), o.get(next))...)
	}
	if !reflect.DeepEqual(r.cfg.Hosts, next.Hosts) {
		if err := r.applyHosts(next); err != nil {
			return rep, err
		}
		rep.Applied = append(rep.Applied, "hosts")
	}
	if next.Log.Level != r.cfg.Log.Level {
		level := r.flagLevel
		if next.Log.Level != "" {
			level.UnmarshalText([]byte(next.Log.Level)) // validated
		}
		r.level.Set(level)
		rep.Applied = append(rep.Applied, "log.level")
	}
	restart, err := r.n.registry.Reload(ctx, next, r.n.run)
	rep.RestartRequired = append(rep.RestartRequired, restart...)
	if err != nil {
		return rep, err
	}
	// The ports the apps own now: the OVSDB side follows at once.
	r.n.mesh.SetAppPorts(r.n.registry.AppPorts(next))
	rep.Applied = append(rep.Applied, "apps")
	if tf := next.API.TokenFile; tf != "" && tf == r.cfg.API.TokenFile {
		if tok, err := config.ReadToken(tf); err == nil && tok != *r.n.token.Load() {
			r.n.token.Store(&tok) // a rotated token file
			rep.Applied = append(rep.Applied, "api.token_file (re-read)")
		}
	}
	// What runs now: the new file, but for what needs a restart.
	kept := next
	kept.OpenFlow, kept.API, kept.State, kept.Mesh, kept.TLS = r.cfg.OpenFlow, r.cfg.API, r.cfg.State, r.cfg.Mesh, r.cfg.TLS
	r.cfg = kept
	return rep, nil
}

// applyHosts hands the new host list to the mesh and the OVSDB side and
// forgets the records of hosts that left (their MACs and bindings go at
// the apps' next sweep).
func (r *reloader) applyHosts(next config.Config) error {
	hosts := next.TopoHosts()
	if err := r.n.mgr.Reload(hosts); err != nil {
		return fmt.Errorf("reload the host list: %w", err)
	}
	r.n.mesh.SetHosts(hosts)
	r.n.admit.setHosts(next.Hosts)
	for _, rec := range r.n.st.hosts.Select(nil) {
		if !slices.ContainsFunc(hosts, func(h topo.Host) bool { return h.Name == rec.Name }) {
			r.n.st.hosts.Delete(rec.Name)
		}
	}
	return nil
}

// onHUP reloads on every SIGHUP until ctx ends, logging the report or
// why the file was refused.
func (r *reloader) onHUP(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		if f := r.n.reload.Load(); f != nil {
			(*f)(ctx) // logs the report or why the file was refused
		}
	}
}
