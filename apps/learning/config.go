package learning

import (
	"time"

	"github.com/ovsmesh/ovsmesh/config"
)

// Config is the apps.learning section.
type Config struct {
	// IdleTimeout is the idle timeout of learned-MAC flows: a MAC silent
	// this long is forgotten. Whole seconds, 1s to 65535s; default 300s.
	// Replayed flows get up to 10% more, spread by MAC, so that MACs
	// restored together do not all expire together.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// FlapMoves is how many moves of one MAC within FlapWindow mark it as
	// flapping; further moves are damped until the window passes.
	// Default 4.
	FlapMoves int `yaml:"flap_moves"`
	// FlapWindow is the window for FlapMoves, also how long a refused or
	// damped claimant is held off. Whole seconds, 1s to 65535s; default
	// 10s.
	FlapWindow time.Duration `yaml:"flap_window"`
	// VerifyTimeout is how long a MAC's current place has to show it is
	// still alive (any frame, or the answer to an ARP probe) when another
	// place claims the MAC; a silent owner loses it. Default 1s, 100ms
	// to 10s.
	VerifyTimeout time.Duration `yaml:"verify_timeout"`
	// MaxMACsPerPort caps the MACs learned behind one port (Faucet's
	// max_hosts); past it, unknown sources on the port are dropped in
	// the datapath for PortLimitHold. Default 1024; 0 disables.
	MaxMACsPerPort int `yaml:"max_macs_per_port"`
	// PortLimitHold is how long a port past its cap drops unknown
	// sources. Whole seconds, 1s to 65535s; default 60s.
	PortLimitHold time.Duration `yaml:"port_limit_hold"`
	// MaxMACs caps the mesh-wide MAC table; past it new MACs are not
	// learned (their packets are still forwarded and flooded). Default
	// 100000; 0 disables.
	MaxMACs int `yaml:"max_macs"`
}

// DefaultConfig returns the section's defaults.
func DefaultConfig() Config {
	return Config{IdleTimeout: 300 * time.Second, FlapMoves: 4, FlapWindow: 10 * time.Second, VerifyTimeout: time.Second,
		MaxMACsPerPort: 1024, PortLimitHold: 60 * time.Second, MaxMACs: 100000}
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	switch {
	case !wholeSeconds(c.IdleTimeout):
		return config.FieldErr("must be whole seconds between 1s and 65535s", "idle_timeout")
	case c.FlapMoves < 1:
		return config.FieldErr("must be at least 1", "flap_moves")
	case !wholeSeconds(c.FlapWindow):
		return config.FieldErr("must be whole seconds between 1s and 65535s (it is a flow's hard timeout)", "flap_window")
	case c.VerifyTimeout < 100*time.Millisecond || c.VerifyTimeout > 10*time.Second:
		return config.FieldErr("must be between 100ms and 10s", "verify_timeout")
	case c.MaxMACsPerPort < 0:
		return config.FieldErr("must be 0 (no cap) or more", "max_macs_per_port")
	case !wholeSeconds(c.PortLimitHold):
		return config.FieldErr("must be whole seconds between 1s and 65535s (it is a flow's hard timeout)", "port_limit_hold")
	case c.MaxMACs < 0:
		return config.FieldErr("must be 0 (no cap) or more", "max_macs")
	}
	return nil
}

// wholeSeconds reports whether d fits a flow timeout: 1 to 65535 whole
// seconds.
func wholeSeconds(d time.Duration) bool {
	return d >= time.Second && d <= 65535*time.Second && d%time.Second == 0
}
