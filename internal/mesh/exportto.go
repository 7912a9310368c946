package mesh

import "slices"

// visibleTo reports whether an object in namespace ns with exportTo (or
// defaults when exportTo is empty) is visible to a client in clientNS:
// "*" everywhere, "." its own namespace, "~" nowhere, or listed namespaces.
func visibleTo(ns string, exportTo, defaults []string, clientNS string) bool {
	if len(exportTo) == 0 {
		exportTo = defaults
	}
	if len(exportTo) == 0 {
		return true
	}
	for _, e := range exportTo {
		switch e {
		case "*":
			return true
		case ".":
			if ns == clientNS {
				return true
			}
		case "~":
		default:
			if e == clientNS {
				return true
			}
		}
	}
	return slices.Contains(exportTo, clientNS)
}
