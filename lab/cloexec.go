package lab

import (
	"os"
	"strconv"
	"sync"
	"syscall"
)

// inheritedOnce marks the process's inherited descriptors close-on-exec
// once.
var inheritedOnce sync.Once

// closeInheritedOnExec marks every descriptor above 2 close-on-exec, so
// the detached OVS daemons a lab starts keep none of them. Go opens its
// own descriptors close-on-exec, but one the process inherited does not
// change: a test run under `flock LOCK go test ...` holds the lock on
// such a descriptor, and a daemon that kept it would hold the lock for
// as long as the lab lives, blocking every later run. Errors are
// ignored: a descriptor that cannot be marked is left as it was.
func closeInheritedOnExec() { inheritedOnce.Do(markCloseOnExec) }

// markCloseOnExec marks every open descriptor above 2 close-on-exec.
func markCloseOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
