package cbench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// userHZ is the unit of the utime and stime fields of /proc/PID/stat:
// USER_HZ, 100 on every Linux architecture Go supports (proc(5)).
const userHZ = 100

// processCPU is the user plus system CPU time used by this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pidCPU returns the user and the system CPU time, all threads, of
// process pid from /proc/PID/stat (10 ms resolution). Errors name the
// file.
func pidCPU(pid int) (user, sys time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("controller cpu: %w", err)
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15, in USER_HZ ticks)
// from the contents of a /proc/PID/stat file. The command name (field 2)
// is in parentheses and may itself hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStatCPU(b []byte) (user, sys time.Duration, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("controller cpu: /proc stat line without ')': %q", b)
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3, state
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("controller cpu: /proc stat line with %d fields after the name, want at least 13", len(f))
	}
	var t [2]time.Duration
	for k, s := range f[11:13] {
		n, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("controller cpu: utime/stime %q: %w", s, err)
		}
		t[k] = time.Duration(n) * time.Second / userHZ
	}
	return t[0], t[1], nil
}

// pidPeakRSS returns the peak resident set size of process pid, in bytes:
// VmHWM from /proc/PID/status (the kernel's high-water mark since the
// process started). Errors name the file.
func pidPeakRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("controller peak rss: %w", err)
	}
	return parseStatusHWM(b)
}

// parseStatusHWM reads the "VmHWM:  N kB" line of a /proc/PID/status file
// and returns N in bytes.
func parseStatusHWM(b []byte) (uint64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("controller peak rss: VmHWM line %q, want \"VmHWM: N kB\"", bytes.TrimSpace(line))
		}
		n, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("controller peak rss: VmHWM %q: %w", f[0], err)
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("controller peak rss: no VmHWM line in /proc status")
}
