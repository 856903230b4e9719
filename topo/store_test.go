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
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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
	st := NewState(s, StateOptions{})
	mt, err := OpenMACTable(st)
	if err != nil {
		t.Fatal(err)
	}
	at, err := OpenARPTable(st)
	if err != nil {
		t.Fatal(err)
	}
	ht, err := OpenHostTable(st)
	if err != nil {
		t.Fatal(err)
	}
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
	ht.Put(host)
	if err := st.Journal().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, path)
	st = NewState(s, StateOptions{})
	defer st.Close()

	mt2, err := OpenMACTable(st)
	if err != nil || mt2.Len() != len(macs) {
		t.Fatalf("restored MAC table has %d entries (%v); want %d", mt2.Len(), err, len(macs))
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
	at2, err := OpenARPTable(st)
	if err != nil || at2.Len() != len(arps) {
		t.Fatalf("restored ARP table has %d bindings (%v); want %d", at2.Len(), err, len(arps))
	}
	for _, want := range arps {
		got, _ := at2.Get(want.IP)
		if got.MAC.String() != want.MAC.String() || got.Static != want.Static || got.Host != want.Host ||
			got.OFPort != want.OFPort || !got.Seen.Equal(want.Seen) {
			t.Errorf("ARP binding = %+v, want %+v", got, want)
		}
	}
	ht2, err := OpenHostTable(st)
	if err != nil || ht2.Len() != 1 {
		t.Fatalf("restored hosts: %d (%v)", ht2.Len(), err)
	}
	if got, _ := ht2.Get("h1"); !reflect.DeepEqual(got, host) {
		t.Errorf("host record = %+v, want %+v", got, host)
	}
	if again, err := OpenMACTable(st); err != nil || again != mt2 {
		t.Errorf("a second Open of macs = %p, %v; want the same table", again, err)
	}
	if _, err := Open(st, "macs", ARPCodec, TableOptions{}); err == nil {
		t.Error("opening macs with the ARP codec succeeded")
	}
}

// TestBadRecordsAreQuarantined: a record of an unknown version or too
// short for its layout is skipped, counted and moved to quarantine; the
// rest of its bucket loads and the start goes on (it used to stop it).
func TestBadRecordsAreQuarantined(t *testing.T) {
	s, path := openTemp(t)
	good := MACEntry{MAC: mac("02:00:00:00:00:01"), DPID: 7, OFPort: 1}
	err := s.Commit([]Change{
		{Bucket: "macs", Key: macKey(KeyOf(0, good.MAC)), Value: encodeMAC(good)},
		{Bucket: "macs", Key: macKey(KeyOf(0, mac("02:00:00:00:00:02"))), Value: []byte{9, 1, 2}},
		{Bucket: "macs", Key: macKey(KeyOf(0, mac("02:00:00:00:00:03"))), Value: encodeMAC(good)[:5]},
		{Bucket: "macs", Key: []byte("short key"), Value: encodeMAC(good)},
		{Bucket: "arp", Key: netip.MustParseAddr("10.0.0.1").AsSlice(), Value: []byte{ValueVersion, 6, 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	st := NewState(s, StateOptions{Registerer: reg})
	mt, err := OpenMACTable(st)
	if err != nil {
		t.Fatalf("a bad record stopped the restore: %v", err)
	}
	at, err := OpenARPTable(st)
	if err != nil {
		t.Fatalf("a bad record stopped the restore: %v", err)
	}
	if mt.Len() != 1 || at.Len() != 0 {
		t.Errorf("restored %d MACs and %d bindings, want the 1 good MAC and nothing else", mt.Len(), at.Len())
	}
	if n, err := s.Quarantined(); err != nil || n != 4 {
		t.Errorf("quarantine holds %d records (%v), want 4", n, err)
	}
	if got := testutil.ToFloat64(st.m.quarantined.WithLabelValues("macs")); got != 3 {
		t.Errorf("ovsmesh_state_records_quarantined_total{bucket=macs} = %v, want 3", got)
	}
	st.Close()
	s = reopen(t, s, path)
	st = NewState(s, StateOptions{})
	defer st.Close()
	mt, _ = OpenMACTable(st)
	if again := testutil.ToFloat64(st.m.quarantined.WithLabelValues("macs")); mt.Len() != 1 || again != 0 {
		t.Errorf("after a restart: %d MACs, %v quarantined again; want the bad records gone from the bucket", mt.Len(), again)
	}
}

// TestHealthFailsWhileCommitsFail: the state check of /healthz fails
// while commits fail (a full disk), not only when the file cannot be
// read, and passes again once a commit succeeds.
func TestHealthFailsWhileCommitsFail(t *testing.T) {
	b := &failingBackend{}
	st := NewState(b, StateOptions{RetryInterval: 10 * time.Millisecond})
	defer st.Close()
	mt, err := OpenMACTable(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Healthy(); err != nil {
		t.Fatalf("healthy before any write: %v", err)
	}
	b.fail.Store(true)
	mt.Put(MACEntry{MAC: mac("02:00:00:00:00:01")})
	deadline := time.Now().Add(5 * time.Second)
	for st.Healthy() == nil {
		if time.Now().After(deadline) {
			t.Fatal("Healthy stayed nil while commits failed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.fail.Store(false)
	for st.Healthy() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("Healthy = %v after commits recovered", st.Healthy())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// failingBackend is an in-memory Backend whose commits fail on demand.
type failingBackend struct {
	fail atomic.Bool
}

func (*failingBackend) NextGeneration() (uint16, error)                 { return 1, nil }
func (*failingBackend) ForEach(string, func(k, v []byte) error) error   { return nil }
func (*failingBackend) Quarantine(string, []byte, []byte, string) error { return nil }
func (*failingBackend) Healthy() error                                  { return nil }

func (b *failingBackend) Commit([]Change) error {
	if b.fail.Load() {
		return errors.New("no space left on device")
	}
	return nil
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
				e := MACEntry{MAC: net.HardwareAddr{2, 0, 0, 0, byte(i >> 8), byte(i)}, Host: strings.Repeat("h", 200)}
				j.enqueue("macs", macKey(KeyOf(0, e.MAC)), encodeMAC(e))
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
	put := func(e MACEntry) { j.enqueue("macs", macKey(KeyOf(0, e.MAC)), encodeMAC(e)) }
	put(e)
	for i := range 1000 {
		e.Moves = uint64(i)
		put(e)
	}
	close(block)
	if err := j.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if commits > 3 || keys > 3 {
		t.Errorf("1001 changes of one key took %d commits of %d keys; want them coalesced", commits, keys)
	}
	st := NewState(s, StateOptions{})
	defer st.Close()
	mt, _ := OpenMACTable(st)
	if got, _ := mt.Get(KeyOf(0, e.MAC)); got.Moves != 999 {
		t.Errorf("stored Moves = %d, want the last value 999", got.Moves)
	}
}

func TestJournalFlushAfterClose(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	j := NewJournal(s, JournalOptions{})
	j.Close()
	j.enqueue("macs", []byte("k"), []byte("v"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := j.Flush(ctx); !errors.Is(err, ErrJournalClosed) {
		t.Errorf("Flush after Close = %v, want ErrJournalClosed", err)
	}
}
