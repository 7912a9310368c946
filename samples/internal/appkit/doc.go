// Package appkit holds the plumbing shared by the sample applications:
// serving with graceful shutdown, access logging, JSON responses, trace
// header propagation and an outbound HTTP client that honours the
// HTTP_PROXY environment (the mesh points it at the sidecar).
package appkit
