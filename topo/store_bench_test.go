package topo

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkMACTablePut measures what the packet-in path pays per learned
// MAC: MACTable.Put alone, and with the Journal's change hook attached
// (encode the entry and queue it; the commit runs elsewhere).
//
//	go test ./topo -run '^$' -bench MACTablePut -benchtime 200000x -benchmem
func BenchmarkMACTablePut(b *testing.B) {
	for _, persist := range []bool{false, true} {
		name := "memory-only"
		if persist {
			name = "journal"
		}
		b.Run(name, func(b *testing.B) {
			t := NewMACTable()
			if persist {
				s, err := OpenStore(filepath.Join(b.TempDir(), "state.db"), time.Second)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				st := NewState(s, StateOptions{})
				defer st.Close()
				if t, err = OpenMACTable(st); err != nil {
					b.Fatal(err)
				}
			}
			e := MACEntry{MAC: make(net.HardwareAddr, 6), DPID: DPIDFor("h1"), OFPort: 3, Host: "h1", Learned: time.Now()}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				e.MAC[2], e.MAC[3], e.MAC[4], e.MAC[5] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
				t.Put(e)
			}
		})
	}
}

// BenchmarkJournalDurable measures durable writes per second: b.N
// distinct MAC entries queued as fast as possible while the writer
// group-commits them (fsync per commit), then a Flush. It reports
// writes/s and the mean number of keys per commit.
//
//	go test ./topo -run '^$' -bench JournalDurable -benchtime 200000x
func BenchmarkJournalDurable(b *testing.B) {
	s, err := OpenStore(filepath.Join(b.TempDir(), "state.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var commits, keys int
	j := NewJournal(s, JournalOptions{OnCommit: func(n int, _ time.Duration, _ error) { commits++; keys += n }})
	defer j.Close()
	e := MACEntry{MAC: make(net.HardwareAddr, 6), DPID: DPIDFor("h1"), OFPort: 3, Host: "h1", Learned: time.Now()}
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		e.MAC = net.HardwareAddr{2, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
		j.enqueue("macs", macKey(KeyOf(0, e.MAC)), encodeMAC(e))
	}
	if err := j.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
	if commits > 0 {
		b.ReportMetric(float64(keys)/float64(commits), "keys/commit")
	}
}

// BenchmarkStoreSyncWrite is the baseline the Journal avoids: one
// committed, fsynced transaction per change.
//
//	go test ./topo -run '^$' -bench StoreSyncWrite -benchtime 2000x
func BenchmarkStoreSyncWrite(b *testing.B) {
	s, err := OpenStore(filepath.Join(b.TempDir(), "state.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	e := MACEntry{MAC: make(net.HardwareAddr, 6), DPID: DPIDFor("h1"), OFPort: 3, Host: "h1", Learned: time.Now()}
	for i := 0; b.Loop(); i++ {
		e.MAC = net.HardwareAddr{2, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
		if err := s.Commit([]Change{{Bucket: "macs", Key: macKey(KeyOf(0, e.MAC)), Value: encodeMAC(e)}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
