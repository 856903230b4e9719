package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovsmesh/ovsmesh/topo"
)

// state is the opened state file, the State over it, the host records
// and the cookie generation of this run.
type state struct {
	store *topo.Store
	*topo.State
	hosts *topo.HostTable
	gen   uint16
}

// openState opens the state file, takes the next cookie generation and
// restores the hosts' tunnel OFPorts into mesh; the apps open their own
// tables on the returned State. A corrupt file has been moved aside by
// topo.OpenStore; it is reported here at ERROR and counted in
// ovsmesh_state_recovered.
func openState(path string, mesh *topo.Mesh, reg prometheus.Registerer, log *slog.Logger) (*state, error) {
	store, err := topo.OpenStore(path, 2*time.Second)
	if err != nil {
		return nil, err
	}
	recovered := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ovsmesh_state_recovered",
		Help: "1 when the state file was corrupt at start, moved aside and replaced by an empty one."})
	if reg != nil {
		reg.MustRegister(recovered)
	}
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
	st := topo.NewState(store, topo.StateOptions{Logger: log.With("component", "state"), Registerer: reg})
	hosts, err := topo.OpenHostTable(st)
	if err != nil {
		st.Close()
		store.Close()
		return nil, fmt.Errorf("restore hosts: %w", err)
	}
	for _, h := range hosts.Select(nil) {
		for peer, port := range h.Tunnels {
			mesh.SetTunnelOFPort(h.Name, peer, port) // ignored for hosts no longer configured
		}
	}
	log.Info("state opened", "state", path, "generation", gen, "hosts", hosts.Len())
	return &state{store: store, State: st, hosts: hosts, gen: gen}, nil
}

// close commits what is queued and closes the file.
func (s *state) close() error {
	jerr := s.State.Close()
	if err := s.store.Close(); err != nil {
		return err
	}
	return jerr
}

// persistingMesh is the ovsdb.Publisher of the controller: it publishes
// into the Mesh and keeps each host's tunnel OFPorts in the host table,
// so the API can show them after a restart before OVSDB answers. It is
// an ovsdb.BatchPublisher (one host record written per reconcile pass)
// and, through the embedded Mesh, an ovsdb.AppPortPublisher.
type persistingMesh struct {
	*topo.Mesh
	hosts *topo.HostTable
}

// SetTunnelOFPort implements ovsdb.Publisher.
func (p persistingMesh) SetTunnelOFPort(host, peer string, ofport int32) {
	p.Mesh.SetTunnelOFPort(host, peer, ofport)
	p.persist(host)
}

// SetTunnelOFPorts implements ovsdb.BatchPublisher: every OFPort change
// of one pass on host goes into the Mesh, then host's record is written
// once.
func (p persistingMesh) SetTunnelOFPorts(host string, ports map[string]int32) {
	for peer, ofport := range ports {
		p.Mesh.SetTunnelOFPort(host, peer, ofport)
	}
	p.persist(host)
}

// persist writes host's record: its pinned DPID and the OFPort of its
// tunnel towards every configured peer the Mesh knows one for.
func (p persistingMesh) persist(host string) {
	rec := topo.HostRecord{Name: host, DPID: topo.DPIDFor(host), Tunnels: map[string]int32{}}
	for _, h := range p.Mesh.Hosts() {
		if port, ok := p.Mesh.TunnelOFPort(host, h.Name); ok {
			rec.Tunnels[h.Name] = port
		}
	}
	p.hosts.Put(rec)
}
