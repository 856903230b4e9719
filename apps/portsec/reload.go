package portsec

import "context"

// Reload implements apps.Reloader: from_ovsdb and the declared ports
// change live; only the flows and bindings that differ are rewritten.
// Ports declared through the API stay (a port the file now declares
// wins over them).
func (a *App) Reload(ctx context.Context, cfg any) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg = *cfg.(*Config)
	a.applyLocked(ctx)
	a.log.Info("port security settings reloaded", "from_ovsdb", a.cfg.FromOVSDB, "ports", len(a.cfg.Ports))
	return nil, nil
}
