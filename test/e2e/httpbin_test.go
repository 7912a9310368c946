//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// sidecarClient returns an HTTP client whose requests leave through the
// sidecar of workload name, as the workload's own do: in capture=none the
// app's HTTP_PROXY is its proxy's outbound listener, <address>:15001; in
// capture=iptables connections made in its namespace are captured.
func (d *Demo) sidecarClient(t *testing.T, name string) *http.Client {
	t.Helper()
	w := d.workload(t, name)
	if w.Netns != "" {
		return d.netnsClient(t, w)
	}
	proxy := &url.URL{Scheme: "http", Host: net.JoinHostPort(w.Address, "15001")}
	tr := &http.Transport{Proxy: http.ProxyURL(proxy), MaxIdleConnsPerHost: 8}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 15 * time.Second, Transport: tr}
}

// loadGet sends n GETs of u through c, conc at a time, and counts the
// answers by status. A 503 must be the circuit breaker's ("... reset
// reason: overflow", as Envoy words it).
func loadGet(c *http.Client, u string, n, conc int) (map[int]int, error) {
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	var (
		mu    sync.Mutex
		codes = map[int]int{}
		errs  []error
		wg    sync.WaitGroup
	)
	for range conc {
		wg.Go(func() {
			for range jobs {
				code, err := getStatus(c, u)
				mu.Lock()
				codes[code]++
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return codes, fmt.Errorf("%d of %d requests failed, first: %w", len(errs), n, errs[0])
	}
	return codes, nil
}

func getStatus(c *http.Client, u string) (int, error) {
	resp, err := c.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusServiceUnavailable:
		if !strings.Contains(string(body), "overflow") {
			return resp.StatusCode, fmt.Errorf("GET %s: 503 not from the circuit breaker: %.200s", u, body)
		}
	default:
		return resp.StatusCode, fmt.Errorf("GET %s: %s: %.200s", u, resp.Status, body)
	}
	return resp.StatusCode, nil
}

// Istio's "circuit breaking" task: a DestinationRule allows one connection
// and one pending request to httpbin, so a load of three concurrent
// clients from sleep overflows. Each request takes 0.1 s (/delay/0.1) so
// that requests overlap on any machine: while one is served and one waits,
// the third is refused at once.
func TestCircuitBreaking(t *testing.T) {
	d := sharedDemo(t)
	d.apply(t, sample("httpbin-circuit-breaker.yaml"))
	sleep, c := d.workload(t, "sleep"), d.sidecarClient(t, "sleep")
	const overflow = "cluster.outbound|8000||httpbin.default.svc.cluster.local.upstream_rq_pending_overflow"

	var before, after int64
	var codes map[int]int
	eventually(t, propagation, "503s from the circuit breaker", func() error {
		var err error
		before = d.stat(t, sleep, overflow)
		if codes, err = loadGet(c, "http://httpbin:8000/delay/0.1", 30, 3); err != nil {
			return err
		}
		after = d.stat(t, sleep, overflow)
		if codes[http.StatusServiceUnavailable] == 0 {
			return fmt.Errorf("answers by status %v: no 503", codes)
		}
		return nil
	})
	t.Logf("30 requests, 3 at a time: answers by status %v; %s %d -> %d", codes, overflow, before, after)
	if codes[http.StatusOK] == 0 {
		t.Errorf("answers by status %v: no request got through", codes)
	}
	if after <= before {
		t.Errorf("%s of the sleep sidecar: %d before the load, %d after, want a rise", overflow, before, after)
	}
}

// accessLog reads the access log of a sample app (the demo's
// <state>/logs/<workload>.log) and returns the Host of each request it
// served, by request id.
func (d *Demo) accessLog(workload string) (map[string][]string, error) {
	data, err := os.ReadFile(filepath.Join(d.State.LogDir, workload+".log"))
	if err != nil {
		return nil, err
	}
	hosts := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		var host, id string
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "host="); ok {
				host = v
			} else if v, ok := strings.CutPrefix(f, "request_id="); ok {
				id = v
			}
		}
		if id != "" {
			hosts[id] = append(hosts[id], host)
		}
	}
	return hosts, nil
}

// getHeaders sends GET /headers to httpbin through c with request id id
// and checks that httpbin saw the request as sent.
func getHeaders(c *http.Client, id string) error {
	req, err := http.NewRequest(http.MethodGet, "http://httpbin:8000/headers", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Request-Id", id)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, err := readOK(resp)
	if err != nil {
		return err
	}
	var doc struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return fmt.Errorf("httpbin /headers: %w in %q", err, body)
	}
	if h := doc.Headers; h["Host"] != "httpbin:8000" || h["X-Request-Id"] != id {
		return fmt.Errorf("httpbin saw headers %v, want Host httpbin:8000 and X-Request-Id %s", h, id)
	}
	return nil
}

// Istio's "mirroring" task: httpbin traffic is served by v1 and a copy of
// every request goes to v2 with the Host "httpbin-shadow:8000". Requests
// carry ids of their own, which the sidecars keep and both httpbin
// versions log.
func TestMirroring(t *testing.T) {
	d := sharedDemo(t)
	d.apply(t, sample("httpbin-mirroring.yaml"))
	c := d.sidecarClient(t, "sleep")
	run := fmt.Sprintf("e2e-mirror-%08x", rand.Uint32()) // the shared demo outlives one run of the test
	const primary, shadow = "httpbin:8000", "httpbin-shadow:8000"

	probe := 0
	eventually(t, propagation, "a request mirrored to httpbin-v2", func() error {
		probe++
		if err := getHeaders(c, fmt.Sprintf("%s-probe-%d", run, probe)); err != nil {
			return err
		}
		v2, err := d.accessLog("httpbin-v2")
		if err != nil {
			return err
		}
		for id, hosts := range v2 {
			if strings.HasPrefix(id, run+"-probe-") && slices.Contains(hosts, shadow) {
				return nil
			}
		}
		return fmt.Errorf("%d requests sent, no copy in httpbin-v2's log yet", probe)
	})

	const n = 10
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%02d", run, i)
		if err := getHeaders(c, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// The copies are sent beside the requests, so they may be logged a
	// little after the answers.
	eventually(t, propagation, "each request served by httpbin-v1 and copied to httpbin-v2", func() error {
		return d.servedAndMirrored(ids, primary, shadow)
	})
}

// servedAndMirrored checks that httpbin-v1 logged each request once, with
// Host primary, and httpbin-v2 once, with Host shadow.
func (d *Demo) servedAndMirrored(ids []string, primary, shadow string) error {
	v1, err := d.accessLog("httpbin-v1")
	if err != nil {
		return err
	}
	v2, err := d.accessLog("httpbin-v2")
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.Equal(v1[id], []string{primary}) || !slices.Equal(v2[id], []string{shadow}) {
			return fmt.Errorf("request %s: httpbin-v1 logged Host %q, httpbin-v2 Host %q; want [%s] and [%s]",
				id, v1[id], v2[id], primary, shadow)
		}
	}
	return nil
}
