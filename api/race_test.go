//go:build race

package api

// raceEnabled is true when the tests run with -race, which slows the
// scale test about eight times.
const raceEnabled = true
