package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/config"
	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/ovsdb"
	"github.com/ovsmesh/ovsmesh/topo"
)

type controllerFlags struct {
	config   string
	listen   []string
	api      string
	state    string
	logLevel string
	logFmt   logFormat
}

func newControllerCmd() *cobra.Command {
	var f controllerFlags
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the controller: OpenFlow sessions, OVSDB host management, API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runController(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "configuration file (YAML); defaults apply when empty")
	fl.StringSliceVar(&f.listen, "listen", nil, "OpenFlow listeners, tcp:[IP]:PORT (overrides openflow.listen)")
	fl.StringVar(&f.api, "api", "", "API listener host:port (overrides api.listen)")
	fl.StringVar(&f.state, "state", "", "state file (overrides state)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.Var(&f.logFmt, "log-format", "log lines as slog text or json (under systemd: no time, syslog priority prefix)")
	return cmd
}

func loadConfig(f controllerFlags) (config.Config, error) {
	cfg := config.Default()
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config); err != nil {
			return cfg, err
		}
	}
	if len(f.listen) > 0 {
		for _, l := range f.listen {
			if _, err := config.ParseListen(l); err != nil {
				return cfg, fmt.Errorf("--listen: %w", err)
			}
		}
		cfg.OpenFlow.Listen = f.listen
	}
	if f.api != "" {
		cfg.API.Listen = f.api
	}
	if f.state != "" {
		cfg.State = f.state
	}
	return cfg, nil
}

func runController(ctx context.Context, f controllerFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := newLogger(os.Stderr, f.logFmt, level)
	cfg, err := loadConfig(f)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mesh := topo.NewMesh(cfg.TopoHosts())
	tables := appTables{MACs: topo.NewMACTable(), ARP: topo.NewARPTable()}
	st, err := openState(cfg.State, tables, mesh, reg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.close(); err != nil {
			log.Error("closing the state file", "err", err)
		}
	}()
	gen := st.gen
	apps, err := newApps(cfg, gen, mesh, tables, reg, log)
	if err != nil {
		return err
	}
	var listen []string
	for _, l := range cfg.OpenFlow.Listen {
		addr, _ := config.ParseListen(l)
		listen = append(listen, addr)
	}
	ctl := controller.New(controller.Options{
		Listen: listen, EchoInterval: cfg.OpenFlow.EchoInterval, QueueLen: cfg.OpenFlow.QueueLen,
		Generation: gen, Logger: log, Registerer: reg,
	}, apps...)
	if err := ctl.Listen(); err != nil {
		return err
	}
	mgr, err := ovsdb.NewManager(ovsdb.Options{
		Mesh: cfg.Mesh, Targets: cfg.OpenFlow.Targets, PacketInRate: cfg.OpenFlow.PacketInRate, PacketInBurst: cfg.OpenFlow.PacketInBurst,
		Hosts: cfg.TopoHosts(), Publisher: persistingMesh{mesh, st.journal},
		Logger: log.With("component", "ovsdb"), Registerer: reg,
	})
	if err != nil {
		return err
	}
	apiLn, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("listen for the API on %s: %w", cfg.API.Listen, err)
	}
	var serving atomic.Bool
	checks := []api.Check{
		{Name: "state", Fn: st.store.Healthy},
		{Name: "listeners", Fn: func() error {
			if !serving.Load() {
				return errors.New("OpenFlow listeners are not serving")
			}
			return nil
		}},
	}
	srv := &http.Server{Handler: api.New(api.Sources{Mesh: mesh, MACs: tables.MACs, ARP: tables.ARP, Switches: ctl,
		Generation: gen, Checks: checks, Registry: reg}), ReadHeaderTimeout: 5 * time.Second}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("ovsmesh controller started", "openflow", strings.Join(cfg.OpenFlow.Listen, ","), "api", apiLn.Addr().String(),
		"hosts", len(cfg.Hosts), "generation", gen, "overlay_mtu", cfg.Mesh.OverlayMTU())

	errc := make(chan error, 3)
	serving.Store(true)
	go func() {
		err := ctl.Serve(ctx)
		serving.Store(false)
		errc <- err
	}()
	go func() { errc <- mgr.Run(ctx) }()
	go func() {
		if err := srv.Serve(apiLn); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("api: %w", err)
		}
	}()
	go reloadOnHUP(ctx, f, log, mesh, mgr)
	go notifyReady(ctx, checks, log)

	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	notifyStopping(log)
	stop()
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	log.Info("ovsmesh controller stopping")
	return err
}

// reloadOnHUP re-reads the host list on SIGHUP; a bad file is reported
// and the running configuration kept.
func reloadOnHUP(ctx context.Context, f controllerFlags, log *slog.Logger, mesh *topo.Mesh, mgr *ovsdb.Manager) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		cfg, err := loadConfig(f)
		if err != nil {
			log.Error("reload refused: keeping the running configuration", "err", err)
			continue
		}
		mesh.SetHosts(cfg.TopoHosts())
		if err := mgr.Reload(cfg.TopoHosts()); err != nil {
			log.Error("reload of the host list failed", "err", err)
			continue
		}
		log.Info("configuration reloaded", "hosts", len(cfg.Hosts))
	}
}
