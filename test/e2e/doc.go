// Package e2e holds Lateen's end-to-end tests: they build the lateen
// binary, run `lateen demo` (pilot, gateways, Bookinfo, httpbin, sleep and
// tcp-echo, each with its sidecar, as separate processes on loopback) and
// check what a user would see. See README.md.
package e2e
