package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/topo"
)

// state is the opened state file, its journal and what was restored.
type state struct {
	store   *topo.Store
	journal *topo.Journal
	gen     uint16
}

// openState opens the state file, takes the next cookie generation,
// restores the MAC and ARP tables and the hosts' tunnel OFPorts into
// tables and mesh, then attaches a journal so every later change is
// persisted. A corrupt file has been moved aside by topo.OpenStore; it is
// reported here at ERROR and counted in ovsmesh_state_recovered.
func openState(path string, tables appTables, mesh *topo.Mesh, reg prometheus.Registerer, log *slog.Logger) (*state, error) {
	store, err := topo.OpenStore(path, 2*time.Second)
	if err != nil {
		return nil, err
	}
	recovered := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ovsmesh_state_recovered",
		Help: "1 when the state file was corrupt at start, moved aside and replaced by an empty one."})
	if moved := store.Recovered(); moved != "" {
		recovered.Set(1)
		log.Error("STATE FILE WAS CORRUPT: moved aside, starting with empty tables; inspect or delete the old file",
			"state", path, "moved_to", moved)
	}
	gen, err := store.NextGeneration()
	if err != nil {
		store.Close()
		return nil, err
	}
	nmacs, err := store.LoadMACs(tables.MACs)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("restore MAC table: %w", err)
	}
	narp, err := store.LoadARP(tables.ARP)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("restore ARP table: %w", err)
	}
	hosts, err := store.Hosts()
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("restore hosts: %w", err)
	}
	for _, h := range hosts {
		for peer, port := range h.Tunnels {
			mesh.SetTunnelOFPort(h.Name, peer, port) // ignored for hosts no longer configured
		}
	}
	log.Info("state restored", "state", path, "macs", nmacs, "arp_bindings", narp, "hosts", len(hosts))

	writeSeconds := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ovsmesh_state_write_seconds",
		Help:    "Time one state-file commit took, fsync included, in seconds.",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 14)})
	commits := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ovsmesh_state_commits_total",
		Help: "State-file commits by result (ok, error)."}, []string{"result"})
	keys := prometheus.NewCounter(prometheus.CounterOpts{Name: "ovsmesh_state_keys_written_total",
		Help: "Keys (MACs, ARP bindings, hosts) written or deleted by state-file commits."})
	j := topo.NewJournal(store, topo.JournalOptions{OnCommit: func(n int, took time.Duration, err error) {
		writeSeconds.Observe(took.Seconds())
		if err != nil {
			commits.WithLabelValues("error").Inc()
			log.Error("state file commit failed; retrying", "keys", n, "err", err)
			return
		}
		commits.WithLabelValues("ok").Inc()
		keys.Add(float64(n))
	}})
	j.Attach(tables.MACs, tables.ARP)
	if reg != nil {
		reg.MustRegister(recovered, writeSeconds, commits, keys,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ovsmesh_state_pending_keys",
				Help: "Table changes waiting for the next state-file commit."}, func() float64 { return float64(j.Pending()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ovsmesh_mac_table_entries",
				Help: "MACs in the mesh-wide MAC table, restored ones included."}, func() float64 { return float64(tables.MACs.Len()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ovsmesh_arp_bindings",
				Help: "IPv4-to-MAC bindings in the mesh-wide ARP table."}, func() float64 { return float64(tables.ARP.Len()) }),
		)
	}
	return &state{store: store, journal: j, gen: gen}, nil
}

// close commits what is queued and closes the file.
func (s *state) close() error {
	jerr := s.journal.Close()
	if err := s.store.Close(); err != nil {
		return err
	}
	return jerr
}

// persistingMesh is the ovsdb.Publisher of the controller: it publishes
// into the Mesh and journals each host's tunnel OFPorts, so the API can
// show them after a restart before OVSDB answers.
type persistingMesh struct {
	*topo.Mesh
	j *topo.Journal
}

// SetTunnelOFPort implements ovsdb.Publisher.
func (p persistingMesh) SetTunnelOFPort(host, peer string, ofport int32) {
	p.Mesh.SetTunnelOFPort(host, peer, ofport)
	rec := topo.HostRecord{Name: host, DPID: topo.DPIDFor(host), Tunnels: map[string]int32{}}
	for _, h := range p.Mesh.Hosts() {
		if port, ok := p.Mesh.TunnelOFPort(host, h.Name); ok {
			rec.Tunnels[h.Name] = port
		}
	}
	p.j.PutHost(rec)
}
