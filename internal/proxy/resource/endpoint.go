package resource

// LoadAssignment is a decoded ClusterLoadAssignment.
type LoadAssignment struct {
	ClusterName string
	Endpoints   []Endpoint
}

// HealthStatus of an endpoint, as EDS reports it.
type HealthStatus int

// Health states; only Healthy (and Unknown) endpoints receive traffic unless
// the cluster is in panic mode.
const (
	HealthUnknown HealthStatus = iota
	HealthHealthy
	HealthUnhealthy
	HealthDraining
	HealthTimeout
	HealthDegraded
)

// Endpoint is one upstream host with its locality data flattened in.
type Endpoint struct {
	Address        string // host:port
	Weight         uint32 // load_balancing_weight, >= 1
	Health         HealthStatus
	Priority       uint32
	Locality       string // region/zone/subzone
	LocalityWeight uint32
	Workload       string // filter_metadata.istio.workload
	TLSMode        string // filter_metadata.istio.tlsMode
	// SocketMatch is filter_metadata["envoy.transport_socket_match"]
	// (string values), which a cluster's transport_socket_matches select on.
	SocketMatch map[string]string
}

// Healthy reports whether the endpoint may receive traffic normally.
func (e Endpoint) Healthy() bool {
	return e.Health == HealthUnknown || e.Health == HealthHealthy || e.Health == HealthDegraded
}
