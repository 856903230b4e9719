package lab

import (
	"context"
	"fmt"
	"net"

	"github.com/cenkalti/rpc2"
	"github.com/cenkalti/rpc2/jsonrpc"
)

// appctl is one connection to an OVS daemon's unixctl socket, the one
// ovs-appctl -t talks to: JSON-RPC 1.0 requests whose params are the
// command's arguments as strings, answered with the command's output as a
// string. Many commands on one connection cost one process start less
// each than ovs-appctl.
type appctl struct {
	cli *rpc2.Client
}

// dialAppctl connects to the unixctl socket at path; ctx bounds the dial.
func dialAppctl(ctx context.Context, path string) (*appctl, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("unixctl %s: %w", path, err)
	}
	cli := rpc2.NewClientWithCodec(jsonrpc.NewJSONCodec(conn))
	go cli.Run()
	return &appctl{cli: cli}, nil
}

// call runs one command, as "ovs-appctl -t SOCKET method args..." does,
// and returns its output. A command the daemon refuses is an error
// carrying the daemon's message.
func (a *appctl) call(ctx context.Context, method string, args ...string) (string, error) {
	if args == nil {
		args = []string{}
	}
	var out string
	if err := a.cli.CallWithContext(ctx, method, args, &out); err != nil {
		return "", fmt.Errorf("unixctl %s %v: %w", method, args, err)
	}
	return out, nil
}

// close ends the connection.
func (a *appctl) close() error { return a.cli.Close() }
