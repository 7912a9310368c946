package lb

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func ep(addr string, weight uint32, health resource.HealthStatus, prio uint32) resource.Endpoint {
	return resource.Endpoint{Address: addr, Weight: weight, Health: health, Priority: prio}
}

func picks(t *testing.T, p Picker, n int, req *Request) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		e, ok := p.Pick(req)
		if !ok {
			t.Fatal("no endpoint")
		}
		out[e.Address]++
	}
	return out
}

func TestRoundRobinWeightsHealthAndPriority(t *testing.T) {
	tests := []struct {
		name string
		eps  []resource.Endpoint
		n    int
		want map[string]int
	}{
		{"weighted", []resource.Endpoint{ep("a", 1, 0, 0), ep("b", 2, 0, 0), ep("c", 5, 0, 0)}, 16,
			map[string]int{"a": 2, "b": 4, "c": 10}},
		{"unhealthy skipped", []resource.Endpoint{ep("a", 1, resource.HealthHealthy, 0), ep("b", 1, resource.HealthHealthy, 0),
			ep("c", 1, resource.HealthUnhealthy, 0)}, 4, map[string]int{"a": 2, "b": 2}},
		{"panic below threshold", []resource.Endpoint{ep("a", 1, resource.HealthHealthy, 0), ep("b", 1, resource.HealthUnhealthy, 0),
			ep("c", 1, resource.HealthDraining, 0)}, 3, map[string]int{"a": 1, "b": 1, "c": 1}},
		{"lowest healthy priority", []resource.Endpoint{ep("a", 1, resource.HealthUnhealthy, 0), ep("b", 1, 0, 1), ep("c", 1, 0, 2)}, 4,
			map[string]int{"b": 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New("ROUND_ROBIN", tt.eps, 50)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, picks(t, p, tt.n, nil)); diff != "" {
				t.Errorf("picks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExcludeAndEmptyAndUnknownPolicy(t *testing.T) {
	p, _ := New("ROUND_ROBIN", []resource.Endpoint{ep("a", 1, 0, 0), ep("b", 1, 0, 0)}, 50)
	if got := picks(t, p, 5, &Request{Exclude: []string{"a"}}); got["a"] != 0 {
		t.Errorf("excluded endpoint picked: %v", got)
	}
	empty, _ := New("ROUND_ROBIN", nil, 50)
	if _, ok := empty.Pick(nil); ok {
		t.Error("empty picker returned an endpoint")
	}
	if _, err := New("MAGLEV", nil, 50); err == nil || Supported("MAGLEV") {
		t.Error("MAGLEV should not be supported yet")
	}
}
