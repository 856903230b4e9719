package nat

import (
	"context"
	"net"
	"reflect"
)

// Reload implements apps.Reloader: forwards, redirects and inside change
// live (only the flows that differ are rewritten; rules added through
// the API stay unless the file now holds their key); the gateway, the
// external port and addresses, the router and the zones need a restart,
// since conntrack state and the external port hang on them.
func (a *App) Reload(ctx context.Context, cfg any) ([]string, error) {
	next := *cfg.(*Config)
	a.mu.Lock()
	defer a.mu.Unlock()
	var restart []string
	cur := a.cfg
	for _, f := range []struct {
		path     string
		old, new any
	}{
		{"gateway", cur.Gateway, next.Gateway},
		{"external", cur.External, next.External},
		{"router_ip", cur.RouterIP, next.RouterIP},
		{"router_mac", net.HardwareAddr(cur.RouterMAC).String(), net.HardwareAddr(next.RouterMAC).String()},
		{"zone", cur.Zone, next.Zone},
	} {
		if !reflect.DeepEqual(f.old, f.new) {
			restart = append(restart, f.path)
		}
	}
	next.Gateway, next.External, next.RouterIP, next.RouterMAC, next.Zone = cur.Gateway, cur.External, cur.RouterIP, cur.RouterMAC, cur.Zone
	if err := a.setConfig(next); err != nil {
		return restart, err
	}
	a.afterChangeLocked(ctx)
	return restart, nil
}
