package lab

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestMarkCloseOnExec checks a descriptor opened without O_CLOEXEC (as
// one inherited from `flock` is) does not reach a command the lab runs.
func TestMarkCloseOnExec(t *testing.T) {
	fd, err := syscall.Open(filepath.Join(t.TempDir(), "lock"), syscall.O_CREAT|syscall.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	has := func() bool {
		out, err := exec.Command("ls", "/proc/self/fd").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(" "+strings.Join(strings.Fields(string(out)), " ")+" ", " "+strconv.Itoa(fd)+" ")
	}
	if !has() {
		t.Skip("the descriptor did not reach the child before marking: nothing to check")
	}
	markCloseOnExec()
	if has() {
		t.Errorf("descriptor %d still reaches commands the lab runs", fd)
	}
}
