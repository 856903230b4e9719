// Package ui is the topology page the API serves at /: hosts as nodes,
// tunnels as edges with live rates, guests as counts, drawn in SVG by
// plain JavaScript polling GET /api/v1/topology every 2 s. Every asset
// is embedded with go:embed: the page loads nothing from anywhere else
// (no CDN, no web fonts), so it works on a machine with no internet.
package ui
