package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// prereqs are the programs Up needs, with the Debian package to install.
var prereqs = []struct{ prog, pkg string }{
	{"ip", "iproute2"},
	{"ethtool", "ethtool"},
	{"ovsdb-tool", "openvswitch-common"},
	{"ovsdb-server", "openvswitch-switch"},
	{"ovs-vswitchd", "openvswitch-switch"},
	{"ovs-vsctl", "openvswitch-switch"},
}

// ErrPrereq is wrapped by CheckPrereqs' errors, so tests can skip on it.
var ErrPrereq = errors.New("lab prerequisites missing")

// CheckPrereqs reports, in one error wrapping ErrPrereq, everything that
// keeps Up from working: not running as root, or missing programs (ip,
// ethtool, ovsdb-tool, ovsdb-server, ovs-vswitchd, ovs-vsctl) with the
// package that provides them.
func CheckPrereqs() error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (network namespaces need it)")
	}
	for _, p := range prereqs {
		if _, err := exec.LookPath(p.prog); err != nil {
			missing = append(missing, fmt.Sprintf("%s (apt-get install %s)", p.prog, p.pkg))
		}
	}
	if _, err := os.Stat(schemaPath()); err != nil {
		missing = append(missing, "vswitch.ovsschema (apt-get install openvswitch-common)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrPrereq, strings.Join(missing, ", "))
	}
	return nil
}
