package mesh

import "slices"

// exportClass says how an object is visible to a namespace. Istio indexes
// objects by class and lists them in this order (own namespace first, then
// exported to the namespace by name, then public), oldest first within a
// class; where one object must win, the first in that order wins.
type exportClass int

const (
	notVisible    exportClass = iota
	privateClass              // the object's own namespace ("." or its name)
	exportedClass             // the client's namespace is listed
	publicClass               // "*"
)

// exportClassFor applies Istio's exportTo rules to an object in namespace
// ns seen from clientNS. An empty exportTo takes the MeshConfig default, of
// which Istio honours only "." and "*" ("." first); an empty default means
// "*". "*" anywhere makes the object public, "~" anywhere hides it (Istio
// ignores the other entries then), "." and the object's own namespace mean
// that namespace, and other entries name client namespaces.
func exportClassFor(ns string, exportTo, defaults []string, clientNS string) exportClass {
	if len(exportTo) == 0 {
		switch {
		case len(defaults) == 0:
			return publicClass
		case slices.Contains(defaults, "."):
			if ns == clientNS {
				return privateClass
			}
			return notVisible
		case slices.Contains(defaults, "*"):
			return publicClass
		}
		return notVisible
	}
	switch {
	case slices.Contains(exportTo, "*"):
		return publicClass
	case slices.Contains(exportTo, "~"):
		return notVisible
	}
	for _, e := range exportTo {
		if e == "." || e == ns {
			if clientNS == ns {
				return privateClass
			}
		} else if e == clientNS {
			return exportedClass
		}
	}
	return notVisible
}

// visibleTo reports whether an object in namespace ns with exportTo (or the
// defaults when exportTo is empty) is visible to a client in clientNS.
func visibleTo(ns string, exportTo, defaults []string, clientNS string) bool {
	return exportClassFor(ns, exportTo, defaults, clientNS) != notVisible
}

// audience is the set of namespaces an object is visible to: every one, or
// those listed.
type audience struct {
	all        bool
	namespaces []string
}

// audienceOf is exportClassFor for every client namespace at once.
func audienceOf(ns string, exportTo, defaults []string) audience {
	if len(exportTo) == 0 {
		switch {
		case len(defaults) == 0:
			return audience{all: true}
		case slices.Contains(defaults, "."):
			return audience{namespaces: []string{ns}}
		case slices.Contains(defaults, "*"):
			return audience{all: true}
		}
		return audience{}
	}
	switch {
	case slices.Contains(exportTo, "*"):
		return audience{all: true}
	case slices.Contains(exportTo, "~"):
		return audience{}
	}
	var a audience
	for _, e := range exportTo {
		if e == "." {
			e = ns
		}
		if !slices.Contains(a.namespaces, e) {
			a.namespaces = append(a.namespaces, e)
		}
	}
	return a
}

// overlaps reports whether some namespace sees both audiences.
func (a audience) overlaps(b audience) bool {
	switch {
	case a.all:
		return b.all || len(b.namespaces) > 0
	case b.all:
		return len(a.namespaces) > 0
	}
	for _, n := range a.namespaces {
		if slices.Contains(b.namespaces, n) {
			return true
		}
	}
	return false
}
