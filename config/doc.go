// Package config loads and validates the ovsmesh YAML configuration file:
// OpenFlow listeners and controller targets, the API address, the state
// file, the mesh bridge and tunnel settings, the host list, the TLS
// files and per-app settings. Every validation error names the field by its YAML path and,
// where the file has it, the line.
package config
