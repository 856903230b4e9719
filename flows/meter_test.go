package flows

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// TestMeterModOVS feeds our meter-mods to OVS's decoder.
func TestMeterModOVS(t *testing.T) {
	for _, tc := range []struct {
		m    MeterMod
		want string
	}{
		{MeterMod{Command: MeterAdd, Meter: 5, RatePPS: 100, Burst: 50},
			"OFPT_METER_MOD (OF1.3) (xid=0x1): ADD meter=5 pktps burst stats bands=\\ntype=drop rate=100 burst_size=50"},
		{MeterMod{Command: MeterModify, Meter: MeterController, RatePPS: 1000},
			"OFPT_METER_MOD (OF1.3) (xid=0x1): MOD meter=controller pktps stats bands=\\ntype=drop rate=1000"},
		{MeterMod{Command: MeterDelete, Meter: 7}, "OFPT_METER_MOD (OF1.3) (xid=0x1): DEL meter=7 bands="},
	} {
		t.Run(tc.m.String(), func(t *testing.T) {
			b, err := Encode(nil, 1, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(ofpPrint(t, b), "\n", "\\n")
			if got != tc.want {
				t.Errorf("ovs-ofctl ofp-print\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestMeterConfigRequestOVS(t *testing.T) {
	b, err := Encode(nil, 2, MeterConfigRequest{Meter: MeterAll})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ofpPrint(t, b), "OFPST_METER_CONFIG request (OF1.3) (xid=0x2): meter=all"; got != want {
		t.Errorf("ofp-print %q, want %q", got, want)
	}
}

// meterConfigEntry builds one ofp_meter_config with the given bands.
func meterConfigEntry(id MeterID, flags uint16, bands ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, 0)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(id))
	for _, band := range bands {
		b = append(b, band...)
	}
	binary.BigEndian.PutUint16(b, uint16(len(b)))
	return b
}

func dropBand(rate, burst uint32) []byte {
	b := []byte{0, 1, 0, 16}
	b = binary.BigEndian.AppendUint32(b, rate)
	b = binary.BigEndian.AppendUint32(b, burst)
	return append(b, 0, 0, 0, 0)
}

func TestDecodeMeterConfig(t *testing.T) {
	body := append(meterConfigEntry(3, meterFlagPktps|meterFlagBurst, dropBand(100, 50)),
		meterConfigEntry(MeterController, meterFlagKbps, dropBand(1, 2), []byte{0, 2, 0, 16, 0, 0, 0, 5, 0, 0, 0, 0, 1, 0, 0, 0})...)
	got, err := DecodeMeterConfig(body)
	want := []MeterConfig{{Meter: 3, Pktps: true, RatePPS: 100, Burst: 50}, {Meter: MeterController, RatePPS: 1, Burst: 2, Other: true}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeMeterConfig = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []struct {
		name string
		body []byte
		want string
	}{
		{"short", []byte{0, 8, 0}, "3 bytes left"},
		{"length past the end", meterConfigEntry(1, 0, dropBand(1, 1))[:16], "length 24 in 16 bytes"},
		{"band too long", func() []byte { b := meterConfigEntry(1, 0, dropBand(1, 1)); b[11] = 32; return b }(), "band length 32"},
	} {
		if _, err := DecodeMeterConfig(bad.body); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want %q", bad.name, err, bad.want)
		}
	}
	if !bytes.Equal(dropBand(1, 1)[:4], []byte{0, 1, 0, 16}) {
		t.Fatal("band helper")
	}
}
