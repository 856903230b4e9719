// Package api serves ovsmesh's JSON API and Prometheus metrics over HTTP:
// GET /api/v1/hosts, /api/v1/switches, /api/v1/macs, /healthz and
// /metrics. Handlers only read: every source is safe for concurrent use.
package api
