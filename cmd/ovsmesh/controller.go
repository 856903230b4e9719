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
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/config"
)

type controllerFlags struct {
	config   string
	listen   []string
	api      string
	state    string
	logLevel string
	logFmt   logFormat
	pprof    string // --pprof loopback address, "" for none
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
	fl.StringSliceVar(&f.listen, "listen", nil, "OpenFlow listeners, tcp:[IP]:PORT or ssl:[IP]:PORT (ssl: needs the tls section; overrides openflow.listen)")
	fl.StringVar(&f.api, "api", "", "API listener host:port (overrides api.listen)")
	fl.StringVar(&f.state, "state", "", "state file (overrides state)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.Var(&f.logFmt, "log-format", "log lines as slog text or json (under systemd: no time, syslog priority prefix)")
	fl.StringVar(&f.pprof, "pprof", "", "serve net/http/pprof at http://ADDR/debug/pprof/, a loopback IP:PORT such as 127.0.0.1:6061 (off when empty)")
	return cmd
}

// loadConfig reads the file (or takes the defaults) with the apps'
// sections, then applies the flags that override it.
func loadConfig(f controllerFlags, reg *apps.Registry) (config.Config, error) {
	var cfg config.Config
	var err error
	if f.config != "" {
		cfg, err = config.Load(f.config, reg.Sections()...)
	} else {
		cfg, err = config.Parse(nil, reg.Sections()...)
	}
	if err != nil {
		return cfg, err
	}
	if len(f.listen) > 0 {
		cfg.OpenFlow.Listen = f.listen
		if _, _, err := listeners(cfg); err != nil {
			return cfg, fmt.Errorf("--listen: %w", err)
		}
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
	levelVar := new(slog.LevelVar)
	levelVar.Set(level)
	log := newLogger(os.Stderr, f.logFmt, levelVar)
	registry, err := apps.NewRegistry(builtins...)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(f, registry)
	if err != nil {
		return err
	}
	if f.pprof != "" {
		if err := checkPprofAddr(f.pprof); err != nil {
			return err
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n, err := assemble(cfg, registry, reg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := n.close(); err != nil {
			log.Error("closing the state file", "err", err)
		}
	}()
	ctl, mgr, gen := n.ctl, n.mgr, n.st.gen
	if err := ctl.Listen(); err != nil {
		return err
	}
	apiLn, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("listen for the API on %s: %w", cfg.API.Listen, err)
	}
	srv, apiLimited := api.NewServer(apiLn, n.api, api.DefaultServerOptions)
	if f.pprof != "" {
		ln, err := listenPprof(f.pprof)
		if err != nil {
			apiLn.Close()
			return err
		}
		psrv := pprofServer()
		go psrv.Serve(ln)
		defer psrv.Close()
		log.Info("serving net/http/pprof", "addr", ln.Addr().String())
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("ovsmesh controller started", "openflow", strings.Join(cfg.OpenFlow.Listen, ","), "api", apiLn.Addr().String(),
		"hosts", len(cfg.Hosts), "generation", gen, "overlay_mtu", cfg.Mesh.OverlayMTU())

	errc := make(chan error, 3)
	n.serving.Store(true)
	go func() {
		err := ctl.Serve(ctx)
		n.serving.Store(false)
		errc <- err
	}()
	go func() { errc <- mgr.Run(ctx) }()
	n.runApps(ctx)
	go func() {
		if err := srv.Serve(apiLimited); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("api: %w", err)
		}
	}()
	r := &reloader{f: f, n: n, level: levelVar, flagLevel: level, log: log, cfg: cfg}
	if cfg.Log.Level != "" {
		var l slog.Level
		l.UnmarshalText([]byte(cfg.Log.Level)) // validated
		levelVar.Set(l)
	}
	rf := reloadFunc(func(ctx context.Context) (any, error) {
		rep, err := r.reload(ctx)
		if err != nil {
			log.Error("reload refused: keeping the running configuration", "err", err)
			return nil, err
		}
		log.Info("configuration reloaded", "applied", rep.Applied, "restart_required", rep.RestartRequired)
		return rep, nil
	})
	n.reload.Store(&rf)
	go r.onHUP(ctx)
	go notifyReady(ctx, n.checks, log)

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
