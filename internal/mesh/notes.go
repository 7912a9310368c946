package mesh

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/lateenmesh/lateen/internal/config"
)

// Note says why an accepted object, or part of it, does not take effect
// (where istioctl analyze would warn): a VirtualService shadowed by an older
// one for the same host on sidecars, a delegate that cannot be found or is
// not exported to its root, a delegated route whose match conflicts with
// the root's, a gateway VirtualService whose hosts no server admits.
type Note struct {
	// Object is the object that is (partly) ignored.
	Object config.Key
	// Host is the host name concerned, when there is one.
	Host string
	// By is the object that wins over Object; zero when there is none.
	By config.Key
	// Reason explains in plain words.
	Reason string
}

// String renders the note in one line, for logs.
func (n Note) String() string {
	s := n.Object.String()
	if n.Host != "" {
		s += " host " + n.Host
	}
	return s + ": " + n.Reason
}

// MarshalJSON renders keys as "Kind namespace/name".
func (n Note) MarshalJSON() ([]byte, error) {
	out := struct {
		Object string `json:"object"`
		Host   string `json:"host,omitempty"`
		By     string `json:"by,omitempty"`
		Reason string `json:"reason"`
	}{Object: n.Object.String(), Host: n.Host, Reason: n.Reason}
	if !n.By.Kind.IsZero() {
		out.By = n.By.String()
	}
	return json.Marshal(out)
}

func sortNotes(notes []Note) {
	slices.SortStableFunc(notes, func(a, b Note) int {
		return cmp.Or(cmp.Compare(a.Object.String(), b.Object.String()), cmp.Compare(a.Host, b.Host))
	})
}
