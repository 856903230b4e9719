package topo

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/flows"
)

// crashHelperEnv names the state file the helper process writes to; the
// helper runs only when it is set.
const crashHelperEnv = "OVSMESH_CRASH_HELPER_STATE"

// crashMAC is the MAC of record i.
func crashMAC(i uint64) net.HardwareAddr {
	return net.HardwareAddr{2, 0xcc, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
}

// crashMarker is overwritten with the last acknowledged record number
// (in Moves) after every batch.
var crashMarker = net.HardwareAddr{2, 0xcc, 0xff, 0xff, 0xff, 0xff}

// TestCrashHelper is the child of TestCrashDuringWrites: it continues
// numbering after the records in the file, writes them through a
// Journal in batches of 1 to 64, and after each Flush prints "ack N",
// meaning records 0..N and the marker are durable. It writes until
// killed.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashHelperEnv)
	if path == "" {
		t.Skip("helper process of TestCrashDuringWrites")
	}
	s, err := OpenStore(path, 5*time.Second)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	st := NewState(s, StateOptions{})
	mt, err := OpenMACTable(st)
	if err != nil {
		fmt.Println("load:", err)
		os.Exit(2)
	}
	next := uint64(0)
	if e, ok := mt.Get(KeyOf(0, crashMarker)); ok {
		next = e.Moves + 1
	}
	j := st.Journal()
	out := bufio.NewWriter(os.Stdout)
	for {
		n := 1 + rand.N(64)
		for range n {
			mt.Put(MACEntry{MAC: crashMAC(next), DPID: flows.DPID(next), Moves: next, Host: "h" + strconv.FormatUint(next%7, 10)})
			next++
		}
		mt.Put(MACEntry{MAC: crashMarker, Moves: next - 1})
		if err := j.Flush(context.Background()); err != nil {
			fmt.Println("flush:", err)
			os.Exit(2)
		}
		fmt.Fprintf(out, "ack %d\n", next-1)
		out.Flush()
	}
}

// TestCrashDuringWrites SIGKILLs a writer process at random moments,
// OVSMESH_CRASH_CYCLES times (default 20; `make soak` runs 200), and
// checks after each kill that the file opens cleanly (not moved aside)
// and holds every record the writer acknowledged.
func TestCrashDuringWrites(t *testing.T) {
	if os.Getenv(crashHelperEnv) != "" {
		t.Skip("in the helper process")
	}
	cycles := 20
	if v := os.Getenv("OVSMESH_CRASH_CYCLES"); v != "" {
		var err error
		if cycles, err = strconv.Atoi(v); err != nil {
			t.Fatalf("OVSMESH_CRASH_CYCLES=%q: %v", v, err)
		}
	}
	path := filepath.Join(t.TempDir(), "state.db")
	var acked uint64
	ackedAny := false
	start := time.Now()
	for c := range cycles {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashHelperEnv+"="+path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill at a random moment 0-60 ms after the first ack of this run.
		sc := bufio.NewScanner(stdout)
		var timer *time.Timer
		var other []string
		for sc.Scan() {
			line := sc.Text()
			n, ok := strings.CutPrefix(line, "ack ")
			if !ok {
				other = append(other, line)
				continue
			}
			v, err := strconv.ParseUint(n, 10, 64)
			if err != nil {
				t.Fatalf("cycle %d: helper said %q", c, line)
			}
			acked, ackedAny = v, true
			if timer == nil {
				timer = time.AfterFunc(time.Duration(rand.N(60_000))*time.Microsecond, func() {
					cmd.Process.Signal(syscall.SIGKILL)
				})
			}
		}
		err = cmd.Wait()
		if timer == nil {
			t.Fatalf("cycle %d: helper exited (%v) before its first ack: %s", c, err, strings.Join(other, "\n"))
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("cycle %d: helper ended with %v, not SIGKILL: %s", c, err, strings.Join(other, "\n"))
		}

		s, err := OpenStore(path, time.Second)
		if err != nil {
			t.Fatalf("cycle %d: state file does not open after SIGKILL: %v", c, err)
		}
		if r := s.Recovered(); r != "" {
			t.Fatalf("cycle %d: state file was judged corrupt after SIGKILL and moved to %s", c, r)
		}
		st := NewState(s, StateOptions{})
		mt, err := OpenMACTable(st)
		st.Close()
		s.Close()
		if err != nil {
			t.Fatalf("cycle %d: %v", c, err)
		}
		if !ackedAny {
			continue
		}
		if m, ok := mt.Get(KeyOf(0, crashMarker)); !ok || m.Moves < acked {
			t.Fatalf("cycle %d: marker says %d (present %v); %d was acknowledged", c, m.Moves, ok, acked)
		}
		for i := uint64(0); i <= acked; i++ {
			if e, ok := mt.Get(KeyOf(0, crashMAC(i))); !ok || e.Moves != i {
				t.Fatalf("cycle %d: acknowledged record %d lost (present %v, %+v)", c, i, ok, e)
			}
		}
	}
	t.Logf("%d SIGKILL cycles in %v: the file always opened, all %d acknowledged records present",
		cycles, time.Since(start).Round(time.Millisecond), acked+1)
}
