package trace

import (
	"time"

	"github.com/ovsmesh/ovsmesh/config"
)

// Config is the apps.trace section.
type Config struct {
	// FlowTimeout is the hard timeout of the temporary flows a probe
	// installs, and so how long a probe may take: whole seconds, 2s to
	// 60s; default 5s. The flows disappear by themselves this long after
	// a trace starts, even if the controller is killed meanwhile.
	FlowTimeout time.Duration `yaml:"flow_timeout"`
	// StepTimeout is how long a probe waits for the packet at its next
	// stop (the next stage, or the far end of a tunnel) before it
	// reports it lost; 100ms to 5s, default 1s.
	StepTimeout time.Duration `yaml:"step_timeout"`
	// MaxHops bounds the stops of one probe across all hosts (a loop
	// ends there); 8 to 4096, default 256.
	MaxHops int `yaml:"max_hops"`
}

// DefaultConfig returns the section's defaults.
func DefaultConfig() Config {
	return Config{FlowTimeout: 5 * time.Second, StepTimeout: time.Second, MaxHops: 256}
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	switch {
	case c.FlowTimeout < 2*time.Second || c.FlowTimeout > time.Minute || c.FlowTimeout%time.Second != 0:
		return config.FieldErr("must be whole seconds between 2s and 60s (it is a flow's hard timeout)", "flow_timeout")
	case c.StepTimeout < 100*time.Millisecond || c.StepTimeout > 5*time.Second:
		return config.FieldErr("must be between 100ms and 5s", "step_timeout")
	case c.StepTimeout >= c.FlowTimeout:
		return config.FieldErr("must be shorter than flow_timeout", "step_timeout")
	case c.MaxHops < 8 || c.MaxHops > 4096:
		return config.FieldErr("must be between 8 and 4096", "max_hops")
	}
	return nil
}
