package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

// runAsOvsmesh is the environment variable that makes the test binary
// run main() instead of the tests: the tests run the real command line,
// `ovsmesh ARGS...`, in a child process.
const runAsOvsmesh = "OVSMESH_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsOvsmesh) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// ovsmeshCmd returns `ovsmesh args...` run by the test binary, with
// extra environment variables env ("K=V").
func ovsmeshCmd(ctx context.Context, t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(append(os.Environ(), runAsOvsmesh+"=1"), env...)
	return cmd
}

// runOvsmesh runs `ovsmesh args...` to its end (at most 30 s) and returns
// its stdout, stderr and exit code.
func runOvsmesh(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := ovsmeshCmd(ctx, t, nil, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run ovsmesh %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}
