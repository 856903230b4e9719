package learning

import (
	"time"

	"github.com/ovsmesh/ovsmesh/config"
)

// Config is the apps.learning section.
type Config struct {
	// IdleTimeout is the idle timeout of learned-MAC flows: a MAC silent
	// this long is forgotten. Whole seconds, 1s to 65535s; default 300s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// FlapMoves is how many moves of one MAC within FlapWindow mark it as
	// flapping; further moves are damped until the window passes.
	// Default 4.
	FlapMoves int `yaml:"flap_moves"`
	// FlapWindow is the window for FlapMoves, also how long a damped
	// location is held off. Whole seconds, 1s to 65535s; default 10s.
	FlapWindow time.Duration `yaml:"flap_window"`
}

// DefaultConfig returns the section's defaults.
func DefaultConfig() Config {
	return Config{IdleTimeout: 300 * time.Second, FlapMoves: 4, FlapWindow: 10 * time.Second}
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	if !wholeSeconds(c.IdleTimeout) {
		return config.FieldErr("must be whole seconds between 1s and 65535s", "idle_timeout")
	}
	if c.FlapMoves < 1 {
		return config.FieldErr("must be at least 1", "flap_moves")
	}
	if !wholeSeconds(c.FlapWindow) {
		return config.FieldErr("must be whole seconds between 1s and 65535s (it is a flow's hard timeout)", "flap_window")
	}
	return nil
}

// wholeSeconds reports whether d fits a flow timeout: 1 to 65535 whole
// seconds.
func wholeSeconds(d time.Duration) bool {
	return d >= time.Second && d <= 65535*time.Second && d%time.Second == 0
}
