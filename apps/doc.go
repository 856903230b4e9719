// Package apps is the seam every ovsmesh app plugs into. An app is one
// folder under apps/ whose package declares a Spec: its name, its cookie
// app ID, the stages (tables) it owns with their successors and
// table-miss behaviour, its configuration section, and a constructor
// that opens its state tables and returns the handlers, API routes and
// CLI commands. The program lists the specs in one place
// (cmd/ovsmesh/apps.go); the Registry checks them (one owner per table
// and ID, no cycles, no unknown stage), composes the pipeline in table
// order, derives app names for metrics and the API, installs every
// stage's table-miss entry through the controller's baseline, and turns
// a disabled app's stages into pass-throughs.
//
// Apps never import each other: they meet in topo (shared tables) and
// through the stages they name.
package apps
