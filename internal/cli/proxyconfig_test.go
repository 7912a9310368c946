package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSecretTable(t *testing.T) {
	certs := `{"certificates": [{
	  "ca_cert": [{"path": "<inline>", "serial_number": "aa", "valid_from": "2026-01-01T00:00:00Z", "expiration_time": "2036-01-01T00:00:00Z"}],
	  "cert_chain": [{"path": "<inline>", "serial_number": "bb", "valid_from": "2026-01-01T00:00:00Z", "expiration_time": "2026-01-02T00:00:00Z",
	    "subject_alt_names": [{"uri": "spiffe://cluster.local/ns/default/sa/httpbin"}]}]
	}]}`
	rows, err := secretRows([]byte(certs))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printSecrets(&out, rows, time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "RESOURCE NAME") {
		t.Fatalf("table:\n%s", out.String())
	}
	for i, want := range []string{"default Cert Chain ACTIVE true bb 2026-01-02T00:00:00Z 2026-01-01T00:00:00Z spiffe://cluster.local/ns/default/sa/httpbin",
		"ROOTCA CA ACTIVE true aa 2036-01-01T00:00:00Z 2026-01-01T00:00:00Z"} {
		if got := strings.Join(strings.Fields(lines[i+1]), " "); got != want {
			t.Errorf("row %d: %q, want %q", i, got, want)
		}
	}
}
