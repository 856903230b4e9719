package lab

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// cmdError describes a failed command with its stderr.
func cmdError(argv []string, err error, stderr []byte) error {
	msg := strings.TrimSpace(string(stderr))
	if msg == "" {
		return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, msg)
}

// run runs argv with env added to the environment and returns its stdout.
// Errors carry the command line and its stderr.
func run(ctx context.Context, env []string, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if len(env) > 0 {
		cmd.Env = append(cmd.Environ(), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// Daemons started with --detach may keep the pipes open a moment.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err() // "signal: killed" says less
		}
		return out.String(), cmdError(argv, err, errb.Bytes())
	}
	return out.String(), nil
}

// inNS runs argv inside network namespace ns ("" for the root namespace).
func inNS(ctx context.Context, ns string, argv ...string) (string, error) {
	return run(ctx, nil, nsArgv(ns, argv)...)
}

// nsArgv prefixes argv with "ip netns exec ns" unless ns is "".
func nsArgv(ns string, argv []string) []string {
	if ns == "" {
		return argv
	}
	return append([]string{"ip", "netns", "exec", ns}, argv...)
}

// ipCmd runs "ip -n ns ARGS" (the root namespace when ns is "").
func ipCmd(ctx context.Context, ns string, args ...string) error {
	argv := []string{"ip"}
	if ns != "" {
		argv = append(argv, "-n", ns)
	}
	_, err := run(ctx, nil, append(argv, args...)...)
	return err
}

// ipBatch runs several ip commands in namespace ns ("" for root) in one
// process; each line is an ip command without the leading "ip".
func ipBatch(ctx context.Context, ns string, lines ...string) error {
	argv := []string{"ip"}
	if ns != "" {
		argv = append(argv, "-n", ns)
	}
	argv = append(argv, "-batch", "-")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return cmdError(append(argv, "<<", strings.Join(lines, "; ")), err, errb.Bytes())
	}
	return nil
}

// offloadsOff turns off tx checksum offload (and, for guests, TSO and GSO)
// on interface ifname in namespace ns.
func offloadsOff(ctx context.Context, ns, ifname string, all bool) error {
	args := []string{"ethtool", "-K", ifname, "tx", "off"}
	if all {
		args = append(args, "tso", "off", "gso", "off")
	}
	_, err := inNS(ctx, ns, args...)
	return err
}

// isMissing reports whether err says a link or namespace does not exist.
func isMissing(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "Cannot find device") || strings.Contains(s, "No such file or directory") ||
		strings.Contains(s, "does not exist")
}
