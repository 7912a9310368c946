package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every request to details and ratings opens a new connection, so that
// the TLS handshakes between the sidecars use whichever certificates and
// roots are current while they rotate.
const handshakePerRequestYAML = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: details-new-connections
spec:
  host: details
  trafficPolicy:
    connectionPool:
      http:
        maxRequestsPerConnection: 1
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ratings-new-connections
spec:
  host: ratings
  trafficPolicy:
    connectionPool:
      http:
        maxRequestsPerConnection: 1
`

// Under constant load, workload certificates that rotate every few
// seconds (a 6 s lifetime, renewed at half of it) and one rotation of the
// mesh root lose no request: ingress → productpage → details, reviews →
// ratings, every hop over mTLS.
func TestMutualTLSRotationUnderLoad(t *testing.T) {
	skipShort(t)
	d := startDemo(t, demoOptions{Args: []string{"--workload-cert-ttl", "6s"}})
	d.apply(t, writeYAML(t, "new-connections.yaml", handshakePerRequestYAML))
	eventually(t, 30*time.Second, "configuration acknowledged", d.allSynced)

	load := startBookinfoLoad(d, 20*time.Millisecond)
	defer load.stop()
	details, ratings := d.workload(t, "details-v1"), d.workload(t, "ratings-v1")

	// Two renewals of details' certificate under the first root.
	seen := map[string]bool{}
	eventually(t, 60*time.Second, "details' certificate renewed twice", func() error {
		leaf, err := servingLeaf(servicePort(details))
		if err != nil {
			return err
		}
		seen[leaf.SerialNumber.String()] = true
		if len(seen) < 3 {
			return fmt.Errorf("%d certificates seen", len(seen))
		}
		return nil
	})

	load.atLeast(t, 20) // the renewals happened under load
	newRoot := d.rotateRoot(t)
	for _, w := range []string{"details-v1", "ratings-v1", "productpage-v1", "reviews-v1"} {
		addr := servicePort(d.workload(t, w))
		eventually(t, 60*time.Second, w+" certified by the new root", func() error {
			leaf, err := servingLeaf(addr)
			if err != nil {
				return err
			}
			if leaf.Issuer.CommonName != newRoot {
				return fmt.Errorf("issued by %q, want %q", leaf.Issuer.CommonName, newRoot)
			}
			return nil
		})
	}
	// One more renewal after the root changed, and load kept flowing.
	after, err := servingLeaf(servicePort(ratings))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "ratings renewed under the new root", func() error {
		leaf, err := servingLeaf(servicePort(ratings))
		if err != nil {
			return err
		}
		if leaf.SerialNumber.Cmp(after.SerialNumber) == 0 {
			return errors.New("not renewed yet")
		}
		return nil
	})

	load.atLeast(t, load.count()+20) // and traffic flows on under the new root

	sent, failures := load.stop()
	t.Logf("%d requests through three mTLS hops during the rotations", sent)
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed during rotation; first: %s", len(failures), sent, failures[0])
	}
}

// servingLeaf returns the certificate a sidecar's inbound port presents.
func servingLeaf(addr string) (*x509.Certificate, error) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"istio"}}) //nolint:gosec // only the presented certificate is read
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// rotateRoot asks pilot to replace its self-signed root and returns the
// new root's common name.
func (d *Demo) rotateRoot(t *testing.T) string {
	t.Helper()
	resp, err := d.client.Post("http://"+d.State.PilotHTTP+"/debug/ca/rotate-root", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Roots   int    `json:"roots"`
		Subject string `json:"subject"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.Roots != 2 {
		t.Fatalf("rotate-root: status %d, %+v, %v", resp.StatusCode, out, err)
	}
	_, cn, _ := strings.Cut(out.Subject, "CN=")
	cn, _, _ = strings.Cut(cn, ",")
	return cn
}

// bookinfoLoad requests the product page at a constant pace and records
// every request that failed or came back without details or ratings.
type bookinfoLoad struct {
	halt chan struct{}
	done chan struct{}
	once sync.Once

	mu       sync.Mutex
	sent     int
	failures []string
}

func startBookinfoLoad(d *Demo, every time.Duration) *bookinfoLoad {
	l := &bookinfoLoad{halt: make(chan struct{}), done: make(chan struct{})}
	client := newClient(nil)
	client.Timeout = 20 * time.Second
	go func() {
		defer close(l.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-l.halt:
				return
			case <-tick.C:
			}
			l.record(bookinfoProblem(d, client))
		}
	}()
	return l
}

func (l *bookinfoLoad) record(problem string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	if problem != "" {
		l.failures = append(l.failures, fmt.Sprintf("request %d: %s", l.sent, problem))
	}
}

// count is how many requests completed so far.
func (l *bookinfoLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent
}

// atLeast waits until n requests completed.
func (l *bookinfoLoad) atLeast(t *testing.T, n int) {
	t.Helper()
	eventually(t, 60*time.Second, fmt.Sprintf("%d requests of load", n), func() error {
		if got := l.count(); got < n {
			return fmt.Errorf("%d so far", got)
		}
		return nil
	})
}

// stop ends the load (once) and returns what it saw.
func (l *bookinfoLoad) stop() (sent int, failures []string) {
	l.once.Do(func() { close(l.halt) })
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent, l.failures
}

// bookinfoProblem fetches the product page and describes what went wrong
// ("" when nothing did): the page degrades instead of failing when a
// backend is unreachable.
func bookinfoProblem(d *Demo, c *http.Client) string {
	body, err := d.ingressGet(c, "/productpage")
	switch {
	case err != nil:
		return err.Error()
	case strings.Contains(body, "currently unavailable"):
		return "a backend was unreachable: " + excerpt(body, "currently unavailable")
	}
	return ""
}

// excerpt returns the text around the first occurrence of what.
func excerpt(s, what string) string {
	i := strings.Index(s, what)
	return s[max(0, i-80):min(len(s), i+len(what)+20)]
}
