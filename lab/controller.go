package lab

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// Controller is an ovsmesh controller started on a lab's configuration,
// in its own process group, for the benchmarks.
type Controller struct {
	// Cmd is the running process.
	Cmd *exec.Cmd
	log *os.File
}

// StartController starts `bin controller --config ovsmesh.yaml args...`
// on the lab's configuration, its output appended to logPath. Errors
// name what failed to open or start.
func (l *Lab) StartController(bin, logPath string, args ...string) (*Controller, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("controller log: %w", err)
	}
	cmd := exec.Command(bin, append([]string{"controller", "--config", l.ConfigPath()}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s controller: %w", bin, err)
	}
	return &Controller{Cmd: cmd, log: logf}, nil
}

// Stop sends the controller SIGTERM and waits for it to exit; once it
// has, Stop does nothing.
func (c *Controller) Stop() {
	if c.Cmd.ProcessState != nil {
		return
	}
	_ = c.Cmd.Process.Signal(syscall.SIGTERM)
	_ = c.Cmd.Wait()
	c.log.Close()
}
