package main

import (
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/apps/learning"
	"github.com/ovsmesh/ovsmesh/apps/proxyarp"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/topo"
)

// appTables are the shared tables the apps fill and the API reads.
type appTables struct {
	MACs *topo.MACTable
	ARP  *topo.ARPTable
}

// newApps builds the apps in the order the controller calls them:
// learning first (it installs the pipeline's baseline, ARP tables
// included), then proxy ARP unless apps.proxyarp.enabled is false (ARP
// is then flooded like any broadcast).
func newApps(cfg config.Config, gen uint16, mesh *topo.Mesh, t appTables, reg prometheus.Registerer, log *slog.Logger) ([]controller.App, error) {
	learn := learning.New(learning.Options{
		Mesh: mesh, Table: t.MACs, Generation: gen,
		IdleTimeout: cfg.Apps.Learning.IdleTimeout, FlapMoves: cfg.Apps.Learning.FlapMoves, FlapWindow: cfg.Apps.Learning.FlapWindow,
		Logger: log.With("app", "learning"), Metrics: learning.NewMetrics(reg),
	})
	apps := []controller.App{learn}
	if p := cfg.Apps.ProxyARP; p.Enabled {
		var static []proxyarp.Static
		for _, s := range p.Static {
			static = append(static, proxyarp.Static{IP: s.IP, MAC: net.HardwareAddr(s.MAC)})
		}
		apps = append(apps, proxyarp.New(proxyarp.Options{
			Mesh: mesh, Table: t.ARP, MACs: t.MACs, Generation: gen, Aging: p.Aging, Static: static,
			Logger: log.With("app", "proxyarp"), Metrics: proxyarp.NewMetrics(reg),
		}))
	}
	return apps, nil
}
