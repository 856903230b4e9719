package flows

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// MeterID is an OpenFlow meter number (OpenFlow 1.3.5 §5.7): 1 to
// MeterMax for meters the controller defines, or MeterController.
type MeterID uint32

// Meter numbers (OpenFlow 1.3.5 §7.3.4.4, enum ofp_meter).
const (
	// MeterMax is the last number of a flow meter (OFPM_MAX).
	MeterMax MeterID = 0xffff0000
	// MeterController is the virtual meter of every packet sent to the
	// controller (OFPM_CONTROLLER): OVS applies it to all packet-ins of
	// the switch.
	MeterController MeterID = 0xfffffffe
	// MeterAll names all meters in deletes and requests (OFPM_ALL).
	MeterAll MeterID = 0xffffffff
)

// String renders the meter as ovs-ofctl names it: a number, or
// "controller", "all".
func (m MeterID) String() string {
	switch m {
	case MeterController:
		return "controller"
	case MeterAll:
		return "all"
	}
	return fmt.Sprint(uint32(m))
}

// MeterCommand is ofp_meter_mod_command.
type MeterCommand uint16

// Meter commands (OpenFlow 1.3.5 §7.3.4.4).
const (
	MeterAdd    MeterCommand = 0
	MeterModify MeterCommand = 1
	MeterDelete MeterCommand = 2
)

// Meter flags (ofp_meter_flags).
const (
	meterFlagKbps  = 1 << 0
	meterFlagPktps = 1 << 1
	meterFlagBurst = 1 << 2
	meterFlagStats = 1 << 3
)

// MeterMod is OFPT_METER_MOD (OpenFlow 1.3.5 §7.3.4.4) for a packet-rate
// meter with one drop band: packets above RatePPS (packets per second),
// with bursts of up to Burst packets, are dropped. OVS's userspace
// datapath supports exactly this kind (drop bands; dscp_remark is
// refused). Burst 0 sends no burst (OVS then uses its default).
//
// Wire layout: ofp_header, command (2), flags (2), meter_id (4), then
// ofp_meter_band_drop: type 1 (2), len 16 (2), rate (4), burst_size (4),
// pad (4). A delete carries no band.
//
// ovs-ofctl prints it as "ADD meter=5 pktps burst stats bands=type=drop
// rate=100 burst_size=50".
type MeterMod struct {
	Command MeterCommand
	Meter   MeterID
	// RatePPS is the band's rate in packets per second.
	RatePPS uint32
	// Burst is the band's burst size in packets.
	Burst uint32
}

// MsgType implements Message.
func (MeterMod) MsgType() MsgType { return MsgMeterMod }

func (m MeterMod) appendBody(b []byte) []byte {
	flags := uint16(meterFlagPktps | meterFlagStats)
	if m.Burst != 0 {
		flags |= meterFlagBurst
	}
	b = binary.BigEndian.AppendUint16(b, uint16(m.Command))
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Meter))
	if m.Command == MeterDelete {
		return b
	}
	b = append(b, 0, 1, 0, 16) // OFPMBT_DROP, len 16
	b = binary.BigEndian.AppendUint32(b, m.RatePPS)
	b = binary.BigEndian.AppendUint32(b, m.Burst)
	return append(b, 0, 0, 0, 0)
}

// String renders the meter-mod in ovs-ofctl's words.
func (m MeterMod) String() string {
	cmd := map[MeterCommand]string{MeterAdd: "add", MeterModify: "modify", MeterDelete: "delete"}[m.Command]
	if m.Command == MeterDelete {
		return fmt.Sprintf("meter_%s meter=%s", cmd, m.Meter)
	}
	s := fmt.Sprintf("meter_%s meter=%s pktps", cmd, m.Meter)
	if m.Burst != 0 {
		s += " burst"
	}
	s += fmt.Sprintf(" stats bands=type=drop rate=%d", m.RatePPS)
	if m.Burst != 0 {
		s += fmt.Sprintf(" burst_size=%d", m.Burst)
	}
	return s
}

// MultipartMeterConfig is OFPMP_METER_CONFIG (OpenFlow 1.3.5 §7.3.5.13).
const MultipartMeterConfig uint16 = 10

// MeterConfigRequest is an OFPMP_METER_CONFIG request for Meter
// (MeterAll for every meter).
type MeterConfigRequest struct{ Meter MeterID }

// MsgType implements Message.
func (MeterConfigRequest) MsgType() MsgType { return MsgMultipartRequest }

// appendBody appends ofp_multipart_request (type 10, flags 0, pad) and
// ofp_meter_multipart_request: meter_id, 4 pad.
func (m MeterConfigRequest) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, MultipartMeterConfig)
	b = append(b, 0, 0, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Meter))
	return append(b, 0, 0, 0, 0)
}

// MeterConfig is one meter of an OFPMP_METER_CONFIG reply: its number
// and its drop band, in the units MeterMod uses (other band types are
// reported with RatePPS and Burst 0 and Other true).
type MeterConfig struct {
	Meter MeterID
	// Pktps is true for a packet-rate meter.
	Pktps          bool
	RatePPS, Burst uint32
	// Other is true when the meter has a band that is not one drop band.
	Other bool
}

// DecodeMeterConfig decodes an OFPMP_METER_CONFIG reply body: a list of
// ofp_meter_config (length (2), flags (2), meter_id (4), bands). Errors
// name the entry and what was wrong.
func DecodeMeterConfig(body []byte) ([]MeterConfig, error) {
	var out []MeterConfig
	for p := body; len(p) > 0; {
		if len(p) < 8 {
			return nil, fmt.Errorf("meter config entry %d: %d bytes left, need at least 8", len(out), len(p))
		}
		n := int(binary.BigEndian.Uint16(p))
		if n < 8 || n > len(p) || n%8 != 0 {
			return nil, fmt.Errorf("meter config entry %d: length %d in %d bytes", len(out), n, len(p))
		}
		mc := MeterConfig{Meter: MeterID(binary.BigEndian.Uint32(p[4:])), Pktps: binary.BigEndian.Uint16(p[2:])&meterFlagPktps != 0}
		bands := p[8:n]
		nb := 0
		for len(bands) > 0 {
			if len(bands) < 16 {
				return nil, fmt.Errorf("meter %s: truncated band (%d bytes)", mc.Meter, len(bands))
			}
			typ, bl := binary.BigEndian.Uint16(bands), int(binary.BigEndian.Uint16(bands[2:]))
			if bl < 16 || bl > len(bands) {
				return nil, fmt.Errorf("meter %s: band length %d in %d bytes", mc.Meter, bl, len(bands))
			}
			if typ == 1 && nb == 0 {
				mc.RatePPS, mc.Burst = binary.BigEndian.Uint32(bands[4:]), binary.BigEndian.Uint32(bands[8:])
			} else {
				mc.Other = true
			}
			nb++
			bands = bands[bl:]
		}
		out = append(out, mc)
		p = p[n:]
	}
	return out, nil
}

// nxastController2 is NXAST_CONTROLLER2 (nicira-ext.h).
const nxastController2 uint16 = 37

// ToControllerMetered is NXAST_CONTROLLER2 with a meter: send the
// packet to the controller through Meter, which drops packet-ins over
// its rate, leaving the rest of the action list (a goto, a flood) to go
// on for every packet. OVS's controller(meter_id=N) action; a meter
// instruction would instead limit the whole flow.
//
// Wire layout: the 10-byte Nicira header, 6 zero bytes, then
// properties: NXAC2PT_METER_ID (type 5, len 8, meter_id (4)); the
// default max_len (65535, the whole packet) is not sent.
//
// ovs-ofctl prints "controller(meter_id=3)".
type ToControllerMetered struct{ Meter MeterID }

func (a ToControllerMetered) appendTo(b []byte) []byte {
	b = appendNXHeader(b, 24, nxastController2)
	b = append(b, 0, 0, 0, 0, 0, 0)
	b = append(b, 0, 5, 0, 8)
	return binary.BigEndian.AppendUint32(b, uint32(a.Meter))
}

// String renders "controller(meter_id=N)".
func (a ToControllerMetered) String() string {
	return "controller(meter_id=" + strings.TrimSpace(fmt.Sprint(uint32(a.Meter))) + ")"
}
