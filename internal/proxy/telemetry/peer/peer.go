// Package peer describes the workload on the other side of a request or
// connection as Istio's metadata exchange carries it: the proxy's node
// metadata (a google.protobuf.Struct with NAMESPACE, WORKLOAD_NAME, LABELS,
// ...), base64 in the x-envoy-peer-metadata header for HTTP and inside the
// istio-peer-exchange preamble for TCP over mTLS.
package peer

import (
	"encoding/base64"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// Headers of Istio's HTTP metadata exchange.
const (
	HeaderMetadata   = "X-Envoy-Peer-Metadata"
	HeaderMetadataID = "X-Envoy-Peer-Metadata-Id"
)

// Istio's labels for canonical services.
const (
	LabelCanonicalName     = "service.istio.io/canonical-name"
	LabelCanonicalRevision = "service.istio.io/canonical-revision"
)

// Workload is one side of a request or connection. Empty fields are
// unknown (telemetry reports "unknown").
type Workload struct {
	ID                string // xDS node id of the workload's proxy
	Name              string // instance name (pod or WorkloadEntry)
	Namespace         string
	Workload          string // workload name, e.g. reviews-v1
	App               string
	Version           string
	CanonicalService  string
	CanonicalRevision string
	Cluster           string // CLUSTER_ID
	MeshID            string
	ServiceAccount    string
	Labels            map[string]string
}

// New completes a workload from its labels: app, version and the
// canonical service and revision, derived as Istio's injector does.
func New(w Workload) *Workload {
	l := w.Labels
	w.App = first(l["app"], l["app.kubernetes.io/name"])
	w.Version = first(l["version"], l["app.kubernetes.io/version"])
	w.CanonicalService = first(l[LabelCanonicalName], l["app.kubernetes.io/name"], l["app"], w.Workload)
	w.CanonicalRevision = first(l[LabelCanonicalRevision], l["app.kubernetes.io/version"], l["version"], "latest")
	return &w
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// Struct is the node metadata a workload exchanges (Istio's keys).
func (w *Workload) Struct() *structpb.Struct {
	labels := make(map[string]*structpb.Value, len(w.Labels))
	for k, v := range w.Labels {
		labels[k] = structpb.NewStringValue(v)
	}
	f := map[string]*structpb.Value{
		"LABELS": structpb.NewStructValue(&structpb.Struct{Fields: labels}),
	}
	for k, v := range map[string]string{"NAME": w.Name, "NAMESPACE": w.Namespace, "WORKLOAD_NAME": w.Workload,
		"CLUSTER_ID": w.Cluster, "MESH_ID": w.MeshID, "SERVICE_ACCOUNT": w.ServiceAccount} {
		if v != "" {
			f[k] = structpb.NewStringValue(v)
		}
	}
	return &structpb.Struct{Fields: f}
}

// FromStruct reads exchanged node metadata.
func FromStruct(id string, s *structpb.Struct) *Workload {
	str := func(k string) string { return s.GetFields()[k].GetStringValue() }
	labels := map[string]string{}
	for k, v := range s.GetFields()["LABELS"].GetStructValue().GetFields() {
		labels[k] = v.GetStringValue()
	}
	return New(Workload{ID: id, Name: str("NAME"), Namespace: str("NAMESPACE"), Workload: str("WORKLOAD_NAME"),
		Cluster: str("CLUSTER_ID"), MeshID: str("MESH_ID"), ServiceAccount: str("SERVICE_ACCOUNT"), Labels: labels})
}

// Encode returns the x-envoy-peer-metadata header value: the Struct's
// deterministic protobuf encoding in base64.
func (w *Workload) Encode() string {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(w.Struct())
	if err != nil {
		panic(err) // a Struct of strings always marshals
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Decode reads an x-envoy-peer-metadata header value (id from
// x-envoy-peer-metadata-id).
func Decode(id, value string) (*Workload, error) {
	b, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("peer metadata: %w", err)
	}
	var s structpb.Struct
	if err := proto.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("peer metadata: %w", err)
	}
	return FromStruct(id, &s), nil
}
