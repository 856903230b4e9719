package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/controller"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// scaleTopology builds the source of a mesh of hosts hosts with guests
// guests in all (spread evenly): every host connected over OVSDB and
// OpenFlow, a full mesh of tunnels with OVSDB OFPorts, one port per
// guest, and a sampler holding two samples in which every tunnel port
// carries traffic when busy (the largest answer: no rate is left out),
// none otherwise.
func scaleTopology(tb testing.TB, hosts, guests int, busy bool) (MeshTopology, *sampler) {
	tb.Helper()
	var hs []topo.Host
	for i := range hosts {
		hs = append(hs, topo.Host{Name: fmt.Sprintf("host%03d", i+1), TunnelIP: netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})})
	}
	mesh := topo.NewMesh(hs)
	fc := &fakeController{}
	macs := topo.NewMACTable()
	s := newSampler()
	since, t0 := time.Unix(1000, 0), time.Unix(2000, 0)
	per := guests / hosts
	for i, h := range hs {
		mesh.SetOVSDBState(h.Name, topo.OVSDBState{Connected: true})
		sw := controller.SwitchInfo{DPID: h.DPID(), Since: since}
		var first, second []flows.PortStats
		no := flows.OFPort(1)
		for _, p := range hs {
			if p.Name == h.Name {
				continue
			}
			mesh.SetTunnelOFPort(h.Name, p.Name, int32(no))
			sw.Ports = append(sw.Ports, flows.Port{No: no, Name: topo.TunnelPortName(p.Name)})
			first = append(first, flows.PortStats{Port: no, TxPackets: 1, RxPackets: 1, TxBytes: 1, RxBytes: 1, Duration: time.Second})
			next := flows.PortStats{Port: no, TxPackets: 1, RxPackets: 1, TxBytes: 1, RxBytes: 1, Duration: 3 * time.Second}
			if busy {
				next.TxPackets, next.RxPackets, next.TxBytes, next.RxBytes = 1e6+uint64(no), 1e6+3, 1.4e9+uint64(no), 7e8+11
			}
			second = append(second, next)
			no++
		}
		for g := range per {
			mac := net.HardwareAddr{2, 0, byte(i >> 8), byte(i), byte(g >> 8), byte(g)}
			macs.Put(topo.MACEntry{MAC: mac, DPID: h.DPID(), OFPort: no, Host: h.Name})
			sw.Ports = append(sw.Ports, flows.Port{No: no, Name: fmt.Sprintf("v%d", g)})
			no++
		}
		fc.up = append(fc.up, sw)
		s.record(h.DPID(), since, t0, first)
		s.record(h.DPID(), since, t0.Add(2*time.Second), second)
	}
	return MeshTopology{Mesh: mesh, Controller: fc, MACs: macs}, s
}

// TestTopologyScale builds the answer for 100 hosts and 10,000 guests
// through MeshTopology, the sampler and the HTTP handler, and checks it
// stays small: guests are counts with 3 MACs per host, so the body is
// mostly the 4,950 tunnel edges, largest when every tunnel carries
// traffic. How long it takes is BenchmarkTopology's to say.
func TestTopologyScale(t *testing.T) {
	const hosts, guests = 100, 10000
	tests := []struct {
		name                string
		busy                bool
		maxPlain, maxZipped int // bytes
	}{
		{"every tunnel busy", true, 2 << 20, 96 << 10},
		{"idle", false, 768 << 10, 48 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, s := scaleTopology(t, hosts, guests, tt.busy)
			ts := NewTopologyServer(src, TopologyOptions{})
			ts.sampler = s
			plain, zipped := get(ts, "identity"), get(ts, "gzip")
			zr, err := gzip.NewReader(bytes.NewReader(zipped))
			if err != nil {
				t.Fatal(err)
			}
			unzipped, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			var got Topology
			if err := json.Unmarshal(unzipped, &got); err != nil {
				t.Fatal(err)
			}
			rated := 0
			for _, tun := range got.Tunnels {
				if tun.State == TunnelUp && tun.AEnd.Rates != nil && tun.BEnd.Rates != nil && (tun.AEnd.Rates.TxBytes > 0) == tt.busy {
					rated++
				}
			}
			if len(got.Hosts) != hosts || len(got.Tunnels) != hosts*(hosts-1)/2 || rated != len(got.Tunnels) || got.GuestsTotal != guests {
				t.Fatalf("%d hosts, %d tunnels (%d up with the expected rates), %d guests; want %d, %d (all), %d",
					len(got.Hosts), len(got.Tunnels), rated, got.GuestsTotal, hosts, hosts*(hosts-1)/2, guests)
			}
			for _, h := range got.Hosts {
				if h.Guests.Count != guests/hosts || len(h.Guests.MACs) != 3 || len(h.Tunnels) != hosts-1 {
					t.Fatalf("host %s: %d guests listing %d MACs, %d tunnels; want %d listing 3, %d", h.Name, h.Guests.Count, len(h.Guests.MACs), len(h.Tunnels), guests/hosts, hosts-1)
				}
			}
			t.Logf("%d hosts × %d guests: %d tunnel edges; body %d KB plain, %d KB gzipped",
				hosts, guests, len(got.Tunnels), len(plain)/1024, len(zipped)/1024)
			if len(plain) > tt.maxPlain || len(zipped) > tt.maxZipped {
				t.Errorf("body %d bytes plain, %d gzipped; want at most %d and %d", len(plain), len(zipped), tt.maxPlain, tt.maxZipped)
			}
		})
	}
}

// get asks h for the topology with Accept-Encoding encoding and returns
// the body.
func get(h http.Handler, encoding string) []byte {
	req := httptest.NewRequest("GET", "/api/v1/topology", nil)
	req.Header.Set("Accept-Encoding", encoding)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Body.Bytes()
}

// BenchmarkTopology measures building and encoding the answer for 100
// hosts and 10,000 guests.
//
//	go test ./api -run '^$' -bench Topology -benchmem
func BenchmarkTopology(b *testing.B) {
	src, s := scaleTopology(b, 100, 10000, true)
	ts := NewTopologyServer(src, TopologyOptions{})
	ts.sampler = s
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/v1/topology", nil)
			req.Header.Set("Accept-Encoding", enc)
			for b.Loop() {
				w := httptest.NewRecorder()
				ts.ServeHTTP(w, req)
				b.SetBytes(int64(w.Body.Len()))
			}
		})
	}
}
