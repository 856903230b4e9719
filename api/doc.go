// Package api serves ovsmesh's JSON API and Prometheus metrics over HTTP:
// GET /api/v1/hosts, /api/v1/switches, /api/v1/flows, /api/v1/topology
// (fed by a port-stats sampler that TopologyServer.Run drives), the
// routes apps mount (/api/v1/macs, /api/v1/arp), /healthz and /metrics;
// and the topology page at / (package api/ui). Handlers only read:
// every source is safe for concurrent use.
package api
