package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ovsmesh/ovsmesh/api"
)

// fakeNotifySocket listens where $NOTIFY_SOCKET points, as systemd does
// for a Type=notify service, and returns the socket.
func fakeNotifySocket(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, path
}

// nextNotify returns the next datagram on conn, failing t after 20 s.
func nextNotify(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no sd_notify message: %v", err)
	}
	return string(buf[:n])
}

// awaitNotify reads datagrams until one starts with prefix and returns
// every message read.
func awaitNotify(t *testing.T, conn *net.UnixConn, prefix string) []string {
	t.Helper()
	var got []string
	for {
		m := nextNotify(t, conn)
		got = append(got, m)
		if strings.HasPrefix(m, prefix) {
			return got
		}
	}
}

func TestNotifyReadyWaitsForTheHealthChecks(t *testing.T) {
	conn, path := fakeNotifySocket(t)
	t.Setenv("NOTIFY_SOCKET", path)
	var up atomic.Bool
	checks := []api.Check{
		{Name: "state", Fn: func() error { return nil }},
		{Name: "listeners", Fn: func() error {
			if !up.Load() {
				return errors.New("OpenFlow listeners are not serving")
			}
			return nil
		}},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		notifyReady(context.Background(), checks, slog.New(slog.DiscardHandler))
	}()
	if got, want := nextNotify(t, conn), "STATUS=waiting: listeners: OpenFlow listeners are not serving"; got != want {
		t.Fatalf("first message %q, want %q", got, want)
	}
	up.Store(true)
	if got, want := nextNotify(t, conn), "READY=1\nSTATUS=serving"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	<-done
	notifyStopping(slog.New(slog.DiscardHandler))
	if got, want := nextNotify(t, conn), "STOPPING=1\nSTATUS=stopping"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}

func TestNotifyReadyEnds(t *testing.T) {
	never := []api.Check{{Name: "state", Fn: func() error { return errors.New("closed") }}}
	tests := []struct {
		name   string
		socket bool
		checks []api.Check
		cancel bool
		want   []string // messages, in order
	}{
		{"no NOTIFY_SOCKET", false, nil, false, nil},
		{"ready at once", true, nil, false, []string{"READY=1\nSTATUS=serving"}},
		{"cancelled before ready", true, never, true, []string{"STATUS=waiting: state: closed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, path := fakeNotifySocket(t)
			if !tc.socket {
				path = ""
			}
			t.Setenv("NOTIFY_SOCKET", path)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				notifyReady(ctx, tc.checks, slog.New(slog.DiscardHandler))
			}()
			for _, want := range tc.want {
				if got := nextNotify(t, conn); got != want {
					t.Fatalf("message %q, want %q", got, want)
				}
			}
			if tc.cancel {
				cancel()
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("notifyReady did not return")
			}
			cancel()
			// Nothing more was sent.
			if err := conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			if n, err := conn.Read(make([]byte, 64)); err == nil {
				t.Errorf("unexpected message after the end: %d bytes", n)
			}
		})
	}
}

// TestControllerNotifiesSystemd runs `ovsmesh controller` (no hosts,
// loopback listeners) as systemd runs a Type=notify unit: READY=1 comes
// once /healthz answers 200, STOPPING=1 on SIGTERM, and the exit is 0.
func TestControllerNotifiesSystemd(t *testing.T) {
	conn, path := fakeNotifySocket(t)
	dir := t.TempDir()
	apiAddr := "127.0.0.1:" + freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := ovsmeshCmd(ctx, t, []string{"NOTIFY_SOCKET=" + path},
		"controller", "--state", filepath.Join(dir, "state.db"), "--listen", "tcp:127.0.0.1:"+freePort(t), "--api", apiAddr)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill() // only the child this test started
			<-exited
		}
		if t.Failed() {
			t.Logf("controller log:\n%s", logs.String())
		}
	})

	msgs := awaitNotify(t, conn, "READY=1")
	t.Logf("sd_notify before ready: %q", msgs)
	resp, err := http.Get("http://" + apiAddr + "/healthz")
	if err != nil {
		t.Fatalf("READY=1 was sent but /healthz does not answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("READY=1 was sent but /healthz answers %s: %s", resp.Status, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	awaitNotify(t, conn, "STOPPING=1")
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("controller exit after SIGTERM: %v", waitErr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("controller did not exit within 20s of SIGTERM")
	}
}
