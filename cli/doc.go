// Package cli holds what the ovsmesh command-line tools share: reading an
// endpoint of the controller's API, printing rows as aligned tables (as
// `kubectl get` does) or the API's own JSON, and the flags every such
// command takes. Apps build their own subcommands with it.
package cli
