package controller

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
)

const tMeterMod = 29

// meterModOf decodes the command, meter and drop band of a METER_MOD.
func meterModOf(t *testing.T, m ofMsg) flows.MeterMod {
	t.Helper()
	if len(m.body) < 8 {
		t.Fatalf("METER_MOD of %d bytes", len(m.body))
	}
	mm := flows.MeterMod{Command: flows.MeterCommand(binary.BigEndian.Uint16(m.body)), Meter: flows.MeterID(binary.BigEndian.Uint32(m.body[4:]))}
	if len(m.body) >= 24 {
		mm.RatePPS, mm.Burst = binary.BigEndian.Uint32(m.body[12:]), binary.BigEndian.Uint32(m.body[16:])
	}
	return mm
}

// TestMeters checks the switch's meters are listed, the missing ones
// added and the different ones modified before the apps' flows; a port
// that appears gets its meter and one that goes loses it.
func TestMeters(t *testing.T) {
	tc := startController(t, Options{Meters: Meters{SwitchPPS: 1000, SwitchBurst: 250, PortPPS: 100, PortBurst: 50}})
	f := dialSwitch(t, tc.addr)
	f.handshake(0x42, ofPort(1, "g1", 0), ofPort(2, "g2", 0), ofPort(uint32(flows.PortLocal), "br0", 0))
	req := f.expect(tMultipartRequest, "METER_CONFIG request")
	if typ := binary.BigEndian.Uint16(req.body); typ != flows.MultipartMeterConfig {
		t.Fatalf("first request after the handshake is multipart %d, want METER_CONFIG", typ)
	}
	// The switch kept meter 1 from a previous controller, at the right
	// rate, and meter 2 at a wrong one.
	entry := func(id flows.MeterID, rate, burst uint32) []byte {
		b := be16(nil, 24)
		b = be16(b, 0x2|0x4|0x8)
		b = be32(b, uint32(id))
		b = append(b, 0, 1, 0, 16)
		b = be32(b, rate)
		b = be32(b, burst)
		return append(b, 0, 0, 0, 0)
	}
	f.sendXID(tMultipartReply, req.h.XID, multipartReply(flows.MultipartMeterConfig, 0, append(entry(1, 100, 50), entry(2, 7, 7)...)))
	var got []string
	for len(got) < 2 {
		m := f.next("meter mods")
		if m.h.Type == tMeterMod {
			got = append(got, meterModOf(t, m).String())
		}
	}
	slices.Sort(got)
	want := []string{
		flows.MeterMod{Command: flows.MeterAdd, Meter: flows.MeterController, RatePPS: 1000, Burst: 250}.String(),
		flows.MeterMod{Command: flows.MeterModify, Meter: 2, RatePPS: 100, Burst: 50}.String(),
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("meter mods %q, want %q (meter 1 is already right; LOCAL has none)", got, want)
	}
	f.send(tPortStatus, portStatus(flows.PortAdded, ofPort(3, "g3", 0)))
	if mm := meterModOf(t, f.waitFor(tMeterMod, "meter of port 3", func(ofMsg) bool { return true })); mm.Command != flows.MeterAdd || mm.Meter != 3 {
		t.Errorf("new port: %v, want meter 3 added", mm)
	}
	f.send(tPortStatus, portStatus(flows.PortDeleted, ofPort(1, "g1", 0)))
	if mm := meterModOf(t, f.waitFor(tMeterMod, "meter of port 1 deleted", func(ofMsg) bool { return true })); mm.Command != flows.MeterDelete || mm.Meter != 1 {
		t.Errorf("deleted port: %v, want meter 1 deleted", mm)
	}
}

func TestPortMeter(t *testing.T) {
	m := Meters{PortPPS: 10}
	for _, tc := range []struct {
		port flows.OFPort
		ok   bool
	}{{1, true}, {0, false}, {flows.PortLocal, false}, {flows.OFPort(flows.MeterMax), true}, {flows.OFPort(flows.MeterMax) + 1, false}} {
		if _, ok := m.PortMeter(tc.port); ok != tc.ok {
			t.Errorf("PortMeter(%d) ok = %v, want %v", tc.port, ok, tc.ok)
		}
	}
	if _, ok := (Meters{}).PortMeter(1); ok {
		t.Error("per-port meters off: PortMeter must say so")
	}
}
