package cbench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// startNull serves ServeNull on a loopback port until the test ends.
func startNull(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeNull(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeNull: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestServeNull(t *testing.T) {
	addr := startNull(t)
	for _, mode := range []Mode{Latency, Throughput} {
		t.Run(string(mode), func(t *testing.T) {
			res, err := Run(context.Background(), testConfig(addr, mode))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range res.Loops {
				if l.Responses == 0 || l.MinSwitchPerSec <= 0 || l.FlowModsPerSec != 0 {
					t.Fatalf("want responses from every switch and no flow-mods: %+v", l)
				}
			}
			if res.Lost != 0 || res.Errors != 0 || res.OtherPacketOuts != 0 {
				t.Fatalf("lost %d, errors %d, other packet-outs %d", res.Lost, res.Errors, res.OtherPacketOuts)
			}
		})
	}
}

func TestAppendPacketOut(t *testing.T) {
	frame := appendFrame(nil, 0, 0, 1)
	m := appendPacketOut(nil, 9, frame)
	want := cat(
		b(0x04, ofptPacketOut, 0, byte(40+len(frame)), 0, 0, 0, 9), // header
		b(0xff, 0xff, 0xff, 0xff),                                  // buffer_id: OFP_NO_BUFFER
		b(0xff, 0xff, 0xff, 0xfd),                                  // in_port: OFPP_CONTROLLER
		b(0, 16, 0, 0, 0, 0, 0, 0),                                 // actions_len, pad
		b(0, 0, 0, 16, 0xff, 0xff, 0xff, 0xf9),                     // output, len 16, port OFPP_TABLE
		b(0xff, 0xff, 0, 0, 0, 0, 0, 0),                            // max_len, pad
		frame)
	if !bytes.Equal(m, want) {
		t.Fatalf("packet-out\n got %x\nwant %x", m, want)
	}
	if got := packetOutFrame(m); !bytes.Equal(got, frame) {
		t.Fatalf("frame %x", got)
	}
}

// TestServeNullShortPacketIn: a packet-in whose match runs past its end
// closes that connection.
func TestServeNullShortPacketIn(t *testing.T) {
	c, err := net.Dial("tcp", startNull(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 24 fixed bytes, then a match claiming 64 bytes: past the end.
	pi := appendHeader(nil, ofptPacketIn, 32, 1)
	pi = append(pi, make([]byte, 16)...)
	pi = append(pi, 0, 1, 0, 64, 0, 0, 0, 0)
	if _, err := c.Write(pi); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("want the connection closed, got %v", err)
	}
	if len(got) != 2*headerLen { // HELLO and FEATURES_REQUEST only
		t.Fatalf("got %d bytes before the close, want %d", len(got), 2*headerLen)
	}
}

func TestParseStatCPU(t *testing.T) {
	// proc(5): utime 14 and stime 15, counted from the end of the name.
	line := "4242 (odd) name)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 7 0 1234 0 0\n"
	tests := []struct {
		name      string
		in        string
		user, sys time.Duration
		err       bool
	}{
		{"name with spaces and parentheses", line, 2500 * time.Millisecond, 750 * time.Millisecond, false},
		{"no closing parenthesis", "4242 (odd S 1", 0, 0, true},
		{"truncated", "4242 (x) S 1 2 3", 0, 0, true},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 5 0", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, sys, err := parseStatCPU([]byte(tt.in))
			if (err != nil) != tt.err || user != tt.user || sys != tt.sys {
				t.Fatalf("parseStatCPU = %v, %v, %v; want %v, %v, error %v", user, sys, err, tt.user, tt.sys, tt.err)
			}
		})
	}
}

// TestControllerCPU measures this test process as the "controller".
func TestControllerCPU(t *testing.T) {
	cfg := testConfig(startNull(t), Latency)
	cfg.ControllerPID = os.Getpid()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.ControllerCPUPerResponse <= 0 || res.GeneratorCPUs <= 0 || res.ControllerSysCPUPerResponse > res.ControllerCPUPerResponse {
		t.Fatalf("controller cpu %f us/response, generator %f cores: want both above 0", res.ControllerCPUPerResponse, res.GeneratorCPUs)
	}
	cfg.ControllerPID = 1 << 30
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "controller cpu") {
		t.Fatalf("missing pid: got %v, want a controller cpu error", err)
	}
}
