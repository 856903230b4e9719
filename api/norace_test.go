//go:build !race

package api

// raceEnabled is true when the tests run with -race.
const raceEnabled = false
