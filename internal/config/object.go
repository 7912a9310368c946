// Package config holds Lateen's view of Istio configuration: objects of a closed
// set of kinds, where each came from, and the immutable Set that the rest of the
// control plane reads. Sources (a watched directory, Kubernetes, memory) produce
// objects; validation and the last-good rule live beside them in this tree.
package config

import (
	"fmt"
	"maps"
	"time"

	"google.golang.org/protobuf/proto"
)

// Key identifies one object: its kind, namespace and name.
type Key struct {
	Kind      Kind
	Namespace string
	Name      string
}

func (k Key) String() string {
	if k.Namespace == "" {
		return k.Kind.Name + " " + k.Name
	}
	return k.Kind.Name + " " + k.Namespace + "/" + k.Name
}

// Origin says where an object was read from, for error messages and conflicts.
type Origin struct {
	Source   string // source name, e.g. "file" or "kubernetes"
	File     string // file path for file sources
	Document int    // 1-based document index within File
}

func (o Origin) String() string {
	switch {
	case o.File != "" && o.Document > 0:
		return fmt.Sprintf("%s: document %d", o.File, o.Document)
	case o.File != "":
		return o.File
	default:
		return o.Source
	}
}

// Meta is the Kubernetes-style metadata Lateen keeps for every object.
type Meta struct {
	Name              string
	Namespace         string
	Labels            map[string]string
	Annotations       map[string]string
	CreationTimestamp time.Time
	// Generation counts accepted changes of this object within its source.
	Generation int64
}

// Object is one Istio configuration object with its spec as an istio.io/api
// message. Objects are immutable once built: never modify Spec or the maps.
type Object struct {
	Kind   Kind
	Meta   Meta
	Spec   proto.Message
	Origin Origin
	// Raw is the spec as checked JSON, set for the mesh ConfigMap, whose
	// merge over defaults depends on which fields were written.
	Raw []byte
}

// Key returns the object's identity.
func (o *Object) Key() Key {
	return Key{Kind: o.Kind, Namespace: o.Meta.Namespace, Name: o.Meta.Name}
}

// SameContent reports whether two objects carry the same metadata and spec,
// ignoring where they came from and when.
func (o *Object) SameContent(p *Object) bool {
	return o.Kind == p.Kind && o.Meta.Name == p.Meta.Name && o.Meta.Namespace == p.Meta.Namespace &&
		maps.Equal(o.Meta.Labels, p.Meta.Labels) && maps.Equal(o.Meta.Annotations, p.Meta.Annotations) &&
		proto.Equal(o.Spec, p.Spec)
}
