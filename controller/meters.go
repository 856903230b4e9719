package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// Meters are the packet-in meters the controller keeps on every switch
// (OpenFlow 1.3.5 §5.7; OVS's userspace datapath supports pktps drop
// bands): the switch's reserved controller meter, which bounds all its
// packet-ins, and one meter per port, numbered as the port, which the
// apps name in the actions that copy a port's packets to the
// controller (flows.ToControllerMetered), so one flooding guest cannot
// use up the switch's budget. A zero rate turns a meter off.
type Meters struct {
	// SwitchPPS and SwitchBurst are the controller meter's rate in
	// packets per second and burst in packets.
	SwitchPPS, SwitchBurst uint32
	// PortPPS and PortBurst are each port's meter's.
	PortPPS, PortBurst uint32
}

// PortMeter returns the meter of packet-ins from port: the port's own
// when per-port meters are on and the port has a meter number (reserved
// ports such as LOCAL do not), else false (the switch's controller meter
// alone applies).
func (m Meters) PortMeter(port flows.OFPort) (flows.MeterID, bool) {
	if m.PortPPS == 0 || port == 0 || flows.MeterID(port) > flows.MeterMax {
		return 0, false
	}
	return flows.MeterID(port), true
}

// meterTimeout bounds the meter-config request at switch setup.
const meterTimeout = 5 * time.Second

// setupMeters makes the switch's meters what the options say: it lists
// the meters the switch has (they outlive a controller restart), adds
// the missing ones and modifies those that differ. A switch that cannot
// list its meters gets adds (an existing meter then keeps its rate and
// the switch reports the add as an error, logged). It runs before the
// apps' SwitchUp, whose flows name the meters.
func (s *session) setupMeters(ctx context.Context) {
	m := s.c.opts.Meters
	if m.SwitchPPS == 0 && m.PortPPS == 0 {
		return
	}
	want := map[flows.MeterID][2]uint32{}
	if m.SwitchPPS != 0 {
		want[flows.MeterController] = [2]uint32{m.SwitchPPS, m.SwitchBurst}
	}
	for _, p := range s.Ports() {
		if id, ok := m.PortMeter(p.No); ok {
			want[id] = [2]uint32{m.PortPPS, m.PortBurst}
		}
	}
	have := map[flows.MeterID]flows.MeterConfig{}
	lctx, cancel := context.WithTimeout(ctx, meterTimeout)
	defer cancel()
	if cfgs, err := s.meterConfig(lctx); err != nil {
		s.log.Warn("listing the switch's meters failed: adding them all", "err", err)
	} else {
		for _, c := range cfgs {
			have[c.Meter] = c
		}
	}
	var msgs []flows.Message
	for id, w := range want {
		c, ok := have[id]
		switch {
		case !ok:
			msgs = append(msgs, flows.MeterMod{Command: flows.MeterAdd, Meter: id, RatePPS: w[0], Burst: w[1]})
		case !c.Pktps || c.Other || c.RatePPS != w[0] || c.Burst != w[1]:
			msgs = append(msgs, flows.MeterMod{Command: flows.MeterModify, Meter: id, RatePPS: w[0], Burst: w[1]})
		}
	}
	s.sendMeters(msgs)
	s.metersMu.Lock()
	s.meters = want
	s.metersMu.Unlock()
}

// meterConfig lists the switch's meters (OFPMP_METER_CONFIG).
func (s *session) meterConfig(ctx context.Context) ([]flows.MeterConfig, error) {
	parts, err := s.multipart(ctx, flows.MeterConfigRequest{Meter: flows.MeterAll})
	if err != nil {
		return nil, fmt.Errorf("meter config of %s: %w", s.dpid.String(), err)
	}
	var out []flows.MeterConfig
	for _, body := range parts {
		cs, err := flows.DecodeMeterConfig(body)
		if err != nil {
			return nil, fmt.Errorf("meter config of %s: %w", s.dpid.String(), err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

// portMeter adds the meter of a port that appeared, or deletes the one
// of a port that went away, before the apps hear of the port.
func (s *session) portMeter(ev flows.PortStatus) {
	m := s.c.opts.Meters
	id, ok := m.PortMeter(ev.Port.No)
	if !ok {
		return
	}
	s.metersMu.Lock()
	_, have := s.meters[id]
	var msg flows.Message
	switch {
	case ev.Reason == flows.PortDeleted && have:
		delete(s.meters, id)
		msg = flows.MeterMod{Command: flows.MeterDelete, Meter: id}
	case ev.Reason != flows.PortDeleted && !have:
		s.meters[id] = [2]uint32{m.PortPPS, m.PortBurst}
		msg = flows.MeterMod{Command: flows.MeterAdd, Meter: id, RatePPS: m.PortPPS, Burst: m.PortBurst}
	}
	s.metersMu.Unlock()
	if msg != nil {
		s.sendMeters([]flows.Message{msg})
	}
}

func (s *session) sendMeters(msgs []flows.Message) {
	for _, m := range msgs {
		if err := s.w.send(m); err != nil {
			s.log.Warn("installing a packet-in meter failed", "meter", m, "err", err)
			return
		}
	}
}

// meterSummary describes the meters set up on the switch.
func (s *session) meterSummary() string {
	s.metersMu.Lock()
	defer s.metersMu.Unlock()
	var parts []string
	ports := 0
	for id := range s.meters {
		if id != flows.MeterController {
			ports++
		}
	}
	m := s.c.opts.Meters
	if _, ok := s.meters[flows.MeterController]; ok {
		parts = append(parts, fmt.Sprintf("controller %d/s burst %d", m.SwitchPPS, m.SwitchBurst))
	}
	if ports > 0 {
		parts = append(parts, fmt.Sprintf("%d ports %d/s burst %d", ports, m.PortPPS, m.PortBurst))
	}
	return strings.Join(parts, ", ")
}
