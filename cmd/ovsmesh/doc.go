// Command ovsmesh is the ovsmesh controller, its lab and its CLI.
package main
