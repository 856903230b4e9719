package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/apps/learning"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/topo"
)

// appTables are the shared tables the apps fill and the API reads.
type appTables struct {
	MACs *topo.MACTable
	ARP  *topo.ARPTable
}

// newApps builds the apps in the order the controller calls them.
func newApps(cfg config.Config, gen uint16, mesh *topo.Mesh, t appTables, reg prometheus.Registerer, log *slog.Logger) ([]controller.App, error) {
	learn := learning.New(learning.Options{
		Mesh: mesh, Table: t.MACs, Generation: gen,
		IdleTimeout: cfg.Apps.Learning.IdleTimeout, FlapMoves: cfg.Apps.Learning.FlapMoves, FlapWindow: cfg.Apps.Learning.FlapWindow,
		Logger: log.With("app", "learning"), Metrics: learning.NewMetrics(reg),
	})
	return []controller.App{learn}, nil
}
