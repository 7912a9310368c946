package mesh

import "testing"

func TestExportClass(t *testing.T) {
	for _, tc := range []struct {
		name               string
		ns                 string
		exportTo, defaults []string
		client             string
		want               exportClass
	}{
		{"default public", "a", nil, []string{"*"}, "b", publicClass},
		{"no defaults means public", "a", nil, nil, "b", publicClass},
		{"default private, same namespace", "a", nil, []string{"."}, "a", privateClass},
		{"default private, other namespace", "a", nil, []string{"."}, "b", notVisible},
		{"default none", "a", nil, []string{"~"}, "a", notVisible},
		{"default namespace list is not honoured", "a", nil, []string{"b"}, "b", notVisible},
		{"star", "a", []string{"*"}, []string{"."}, "b", publicClass},
		{"dot", "a", []string{"."}, nil, "a", privateClass},
		{"dot elsewhere", "a", []string{"."}, nil, "b", notVisible},
		{"own namespace by name", "a", []string{"a"}, nil, "a", privateClass},
		{"listed", "a", []string{".", "b"}, nil, "b", exportedClass},
		{"not listed", "a", []string{".", "b"}, nil, "c", notVisible},
		{"tilde hides", "a", []string{"~"}, nil, "a", notVisible},
		{"tilde wins over others", "a", []string{"~", "b"}, nil, "b", notVisible},
		{"star wins over tilde", "a", []string{"*", "~"}, nil, "b", publicClass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exportClassFor(tc.ns, tc.exportTo, tc.defaults, tc.client); got != tc.want {
				t.Errorf("exportClassFor = %v, want %v", got, tc.want)
			}
			if got, want := visibleTo(tc.ns, tc.exportTo, tc.defaults, tc.client), tc.want != notVisible; got != want {
				t.Errorf("visibleTo = %v, want %v", got, want)
			}
		})
	}
}

func TestAudienceOverlaps(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b audience
		want bool
	}{
		{"all and all", audience{all: true}, audience{all: true}, true},
		{"all and some", audience{all: true}, audience{namespaces: []string{"x"}}, true},
		{"all and none", audience{all: true}, audience{}, false},
		{"shared namespace", audience{namespaces: []string{"x", "y"}}, audience{namespaces: []string{"y"}}, true},
		{"disjoint", audience{namespaces: []string{"x"}}, audience{namespaces: []string{"y"}}, false},
	} {
		if got := tc.a.overlaps(tc.b); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
		if got := tc.b.overlaps(tc.a); got != tc.want {
			t.Errorf("%s (swapped): got %v", tc.name, got)
		}
	}
	if got := audienceOf("a", []string{".", "b"}, nil); !got.overlaps(audience{namespaces: []string{"a"}}) {
		t.Errorf("audienceOf(.) does not include the own namespace: %+v", got)
	}
}
