package main

// version is the ovsmesh version, set at link time by make build and make
// package (-ldflags "-X main.version=...").
var version = "dev"
