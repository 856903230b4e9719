package topo

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenStore(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func reopen(t *testing.T, s *Store, path string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func TestJournalRoundTrip(t *testing.T) {
	learned := time.Unix(1700000000, 123456789)
	macs := []MACEntry{
		{MAC: mac("02:00:00:00:00:01"), DPID: DPIDFor("h1"), OFPort: 3, Host: "h1", Learned: learned, Moves: 2},
		{MAC: mac("02:00:00:00:00:02"), Domain: 0x42, DPID: 0x42, OFPort: 65534, Learned: learned},
		{MAC: mac("02:00:00:00:00:03"), DPID: DPIDFor("h2"), OFPort: 1, Host: "h2"},
	}
	arps := []ARPBinding{
		{IP: netip.MustParseAddr("10.0.0.1"), MAC: mac("02:00:00:00:00:01"), Host: "h1", DPID: DPIDFor("h1"), OFPort: 3, Learned: learned, Seen: learned.Add(time.Second)},
		{IP: netip.MustParseAddr("10.0.0.9"), MAC: mac("02:00:00:00:00:09"), Static: true},
	}
	s, path := openTemp(t)
	j := NewJournal(s, JournalOptions{})
	mt, at := NewMACTable(), NewARPTable()
	j.Attach(mt, at)
	for _, e := range macs {
		mt.Put(e)
	}
	mt.Put(MACEntry{MAC: mac("02:00:00:00:00:ff"), DPID: 1})
	mt.Delete(KeyOf(0, mac("02:00:00:00:00:ff")))
	for _, b := range arps {
		at.Put(b)
	}
	at.Put(ARPBinding{IP: netip.MustParseAddr("10.0.0.200"), MAC: mac("02:00:00:00:00:09")})
	at.Delete(netip.MustParseAddr("10.0.0.200"))
	host := HostRecord{Name: "h1", DPID: DPIDFor("h1"), Tunnels: map[string]int32{"h2": 4, "h3": 5}}
	j.PutHost(host)
	if err := j.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.PutStaticRule(StaticRule{Name: "r1", Spec: "table=0,priority=5,actions=drop"}); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, path)

	mt2, at2 := NewMACTable(), NewARPTable()
	if n, err := s.LoadMACs(mt2); err != nil || n != len(macs) {
		t.Fatalf("LoadMACs = %d, %v; want %d", n, err, len(macs))
	}
	for _, want := range macs {
		got, ok := mt2.Get(KeyOf(want.Domain, want.MAC))
		if !ok {
			t.Errorf("MAC %s lost", want.MAC)
			continue
		}
		if !got.Learned.Equal(want.Learned) {
			t.Errorf("MAC %s learned %v, want %v", want.MAC, got.Learned, want.Learned)
		}
		got.Learned, want.Learned = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("MAC entry = %+v, want %+v", got, want)
		}
	}
	if n, err := s.LoadARP(at2); err != nil || n != len(arps) {
		t.Fatalf("LoadARP = %d, %v; want %d", n, err, len(arps))
	}
	for _, want := range arps {
		got, _ := at2.Get(want.IP)
		if got.MAC.String() != want.MAC.String() || got.Static != want.Static || got.Host != want.Host ||
			got.OFPort != want.OFPort || !got.Seen.Equal(want.Seen) {
			t.Errorf("ARP binding = %+v, want %+v", got, want)
		}
	}
	hosts, err := s.Hosts()
	if err != nil || len(hosts) != 1 || !reflect.DeepEqual(hosts[0], host) {
		t.Errorf("Hosts = %+v, %v; want [%+v]", hosts, err, host)
	}
	rules, err := s.StaticRules()
	if err != nil || len(rules) != 1 || rules[0].Spec != "table=0,priority=5,actions=drop" {
		t.Errorf("StaticRules = %+v, %v", rules, err)
	}
}

func TestStoreUnknownVersion(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	if err := s.put(bucketMACs, macKey(KeyOf(0, mac("02:00:00:00:00:01"))), []byte{9, 1, 2}); err != nil {
		t.Fatal(err)
	}
	_, err := s.LoadMACs(NewMACTable())
	if err == nil || !strings.Contains(err.Error(), "version 9") || !strings.Contains(err.Error(), "macs entry") {
		t.Errorf("LoadMACs of a version-9 value: %v; want an error naming the bucket and version", err)
	}
}

func TestOpenStoreCorrupt(t *testing.T) {
	tests := []struct {
		name  string
		write func(t *testing.T, path string)
	}{
		{"garbage", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600)
		}},
		{"zeroed-meta", func(t *testing.T, path string) {
			s, err := OpenStore(path, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			s.NextGeneration()
			s.Close()
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			f.WriteAt(make([]byte, 8192), 0) // both meta pages
			f.Close()
		}},
		{"truncated", func(t *testing.T, path string) {
			s, err := OpenStore(path, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			j := NewJournal(s, JournalOptions{})
			for i := range 5000 {
				j.PutMAC(MACEntry{MAC: net.HardwareAddr{2, 0, 0, 0, byte(i >> 8), byte(i)}, Host: strings.Repeat("h", 200)})
			}
			j.Close()
			s.Close()
			fi, _ := os.Stat(path)
			os.Truncate(path, fi.Size()/3)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			tc.write(t, path)
			before, _ := os.ReadFile(path)
			s, err := OpenStore(path, time.Second)
			if err != nil {
				t.Fatalf("OpenStore of a corrupt file: %v; want it moved aside and a fresh file", err)
			}
			defer s.Close()
			moved := s.Recovered()
			if !strings.HasPrefix(moved, path+".corrupt-") {
				t.Fatalf("Recovered() = %q, want %s.corrupt-TIMESTAMP", moved, path)
			}
			if after, err := os.ReadFile(moved); err != nil || string(after) != string(before) {
				t.Errorf("the corrupt file was not kept byte for byte at %s (%v)", moved, err)
			}
			if g, err := s.NextGeneration(); err != nil || g == 0 {
				t.Errorf("NextGeneration on the fresh file = %d, %v", g, err)
			}
		})
	}
}

func TestOpenStoreUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		// root reads any file; use a directory in the file's place.
		path := filepath.Join(t.TempDir(), "state.db")
		os.Mkdir(path, 0o755)
		_, err := OpenStore(path, time.Second)
		if err == nil || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
			t.Errorf("OpenStore of a directory: %v; want an error naming the path, not ErrCorrupt", err)
		}
		if fi, _ := os.Stat(path); fi == nil || !fi.IsDir() {
			t.Errorf("the unreadable path was moved or replaced")
		}
		return
	}
	t.Skip("run as root")
}

func TestJournalCoalesces(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	var commits, keys int
	block := make(chan struct{})
	j := NewJournal(s, JournalOptions{OnCommit: func(n int, _ time.Duration, err error) {
		if err != nil {
			t.Error(err)
		}
		commits++
		keys += n
		if commits == 1 {
			<-block // hold the writer so the next changes pile up
		}
	}})
	e := MACEntry{MAC: mac("02:00:00:00:00:01")}
	j.PutMAC(e)
	for i := range 1000 {
		e.Moves = uint64(i)
		j.PutMAC(e)
	}
	close(block)
	if err := j.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if commits > 3 || keys > 3 {
		t.Errorf("1001 changes of one key took %d commits of %d keys; want them coalesced", commits, keys)
	}
	mt := NewMACTable()
	s.LoadMACs(mt)
	if got, _ := mt.Get(KeyOf(0, e.MAC)); got.Moves != 999 {
		t.Errorf("stored Moves = %d, want the last value 999", got.Moves)
	}
}

func TestJournalFlushAfterClose(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	j := NewJournal(s, JournalOptions{})
	j.Close()
	j.PutMAC(MACEntry{MAC: mac("02:00:00:00:00:01")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := j.Flush(ctx); !errors.Is(err, ErrJournalClosed) {
		t.Errorf("Flush after Close = %v, want ErrJournalClosed", err)
	}
}
