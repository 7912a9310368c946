// Package sortedmap iterates maps in key order, so that output built from
// maps is deterministic.
package sortedmap

import (
	"cmp"
	"maps"
	"slices"
)

// Keys returns m's keys in ascending order.
func Keys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}
