//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeConfig writes a file into the demo's config directory (pilot
// watches it); restoreConfig removes it when the test ends.
func (d *Demo) writeConfig(t *testing.T, name, yaml string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.ConfigDir, name), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ingressRequest sends GET path through the ingress with a request id and
// returns the status code.
func (d *Demo) ingressRequest(path, requestID string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, d.Ingress+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Request-Id", requestID)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// proxyLogLines returns the lines of a workload's proxy log (its stdout
// and stderr) that contain s.
func (d *Demo) proxyLogLines(workload, s string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(d.State.LogDir, workload+"-proxy.log"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out, nil
}

// istioTextLine matches one line of Istio's default TEXT access log for a
// GET of path answered 200 by an upstream.
func istioTextLine(path, requestID string) *regexp.Regexp {
	return regexp.MustCompile(`^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET ` + regexp.QuoteMeta(path) +
		` HTTP/1\.1" 200 - via_upstream - "-" \d+ \d+ \d+ \d+ "[^"]*" "[^"]*" "` + regexp.QuoteMeta(requestID) +
		`" "[^"]+" "[0-9.]+:\d+" (outbound|inbound)\|\d+\|[^ ]*\|[^ ]* - [0-9.]+:\d+ [0-9.]+:\d+ - [^ ]+$`)
}

// Istio's "Envoy access logs" task: MeshConfig accessLogFile /dev/stdout
// makes every proxy on the way log the request in Istio's default TEXT
// format; accessLogEncoding JSON switches them to Istio's JSON format.
func TestAccessLogsTextAndJSON(t *testing.T) {
	d := sharedDemo(t)
	d.writeConfig(t, "e2e-mesh.yaml", meshConfigMap("accessLogFile: /dev/stdout"))
	run := fmt.Sprintf("e2e-log-%08x", rand.Uint32())
	n := 0
	var lines []string
	eventually(t, propagation, "the productpage request in the ingress gateway's TEXT access log", func() error {
		n++
		id := fmt.Sprintf("%s-text-%d", run, n)
		if code, err := d.ingressRequest("/productpage", id); err != nil || code != 200 {
			return fmt.Errorf("GET /productpage: %d %v", code, err)
		}
		var err error
		lines, err = d.proxyLogLines("istio-ingressgateway", id)
		if err == nil && len(lines) == 0 {
			err = fmt.Errorf("no line with request id %s yet", id)
		}
		return err
	})
	id := fmt.Sprintf("%s-text-%d", run, n)
	if re := istioTextLine("/productpage", id); !re.MatchString(lines[0]) {
		t.Errorf("ingress access log line\n%s\ndoes not match\n%s", lines[0], re)
	}
	// Every hop logs: productpage (inbound, then its calls) and details.
	// Their proxies may take the new mesh config a little after the
	// gateway's, so each attempt sends a fresh request.
	eventually(t, propagation, "a request in productpage's and details' logs", func() error {
		n++
		hop := fmt.Sprintf("%s-text-%d", run, n)
		if code, err := d.ingressRequest("/productpage", hop); err != nil || code != 200 {
			return fmt.Errorf("GET /productpage: %d %v", code, err)
		}
		for _, w := range []string{"productpage-v1", "details-v1"} {
			got, err := d.proxyLogLines(w, hop)
			if err != nil {
				return err
			}
			if len(got) == 0 {
				return fmt.Errorf("%s logged nothing for %s", w, hop)
			}
		}
		return nil
	})

	d.writeConfig(t, "e2e-mesh.yaml", meshConfigMap("accessLogFile: /dev/stdout\naccessLogEncoding: JSON"))
	var entry map[string]any
	eventually(t, propagation, "a JSON access log line", func() error {
		n++
		id = fmt.Sprintf("%s-json-%d", run, n)
		if code, err := d.ingressRequest("/productpage", id); err != nil || code != 200 {
			return fmt.Errorf("GET /productpage: %d %v", code, err)
		}
		lines, err := d.proxyLogLines("istio-ingressgateway", id)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if json.Unmarshal([]byte(l), &entry) == nil {
				return nil
			}
		}
		return fmt.Errorf("no JSON line with request id %s yet: %q", id, lines)
	})
	for k, want := range map[string]any{"method": "GET", "path": "/productpage", "protocol": "HTTP/1.1",
		"response_code": 200.0, "response_flags": "-", "response_code_details": "via_upstream", "request_id": id,
		"upstream_transport_failure_reason": nil, "requested_server_name": nil} {
		if got, ok := entry[k]; !ok || got != want {
			t.Errorf("JSON access log %s = %#v, want %#v (line %v)", k, got, want, entry)
		}
	}
	for _, k := range []string{"start_time", "authority", "bytes_sent", "duration", "upstream_host", "upstream_cluster",
		"downstream_local_address", "downstream_remote_address", "user_agent", "x_forwarded_for", "route_name"} {
		if _, ok := entry[k]; !ok {
			t.Errorf("JSON access log has no %s: %v", k, entry)
		}
	}
}

// The Telemetry API with a CEL filter: the built-in envoy provider logs
// only the requests that failed.
func TestAccessLogFilterKeepsErrors(t *testing.T) {
	d := sharedDemo(t)
	d.writeConfig(t, "e2e-telemetry.yaml", `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  accessLogging:
  - providers:
    - name: envoy
    filter:
      expression: response.code >= 400
`)
	run := fmt.Sprintf("e2e-cel-%08x", rand.Uint32())
	n := 0
	eventually(t, propagation, "a 404 in the ingress gateway's access log", func() error {
		n++
		code, err := d.ingressRequest("/no-such-page", fmt.Sprintf("%s-404-%d", run, n))
		if err != nil || code != 404 {
			return fmt.Errorf("GET /no-such-page: %d %v", code, err)
		}
		lines, err := d.proxyLogLines("istio-ingressgateway", fmt.Sprintf("%s-404-%d", run, n))
		if err == nil && len(lines) == 0 {
			err = fmt.Errorf("not logged yet")
		}
		if err == nil && !strings.Contains(lines[0], `"GET /no-such-page HTTP/1.1" 404 NR route_not_found`) {
			err = fmt.Errorf("line %q", lines[0])
		}
		return err
	})
	// Successful requests sent now are not logged, while a later error is.
	ok := run + "-ok"
	if code, err := d.ingressRequest("/productpage", ok); err != nil || code != 200 {
		t.Fatalf("GET /productpage: %d %v", code, err)
	}
	last := fmt.Sprintf("%s-404-last", run)
	if code, err := d.ingressRequest("/no-such-page", last); err != nil || code != 404 {
		t.Fatalf("GET /no-such-page: %d %v", code, err)
	}
	eventually(t, propagation, "the last 404 logged", func() error {
		lines, err := d.proxyLogLines("istio-ingressgateway", last)
		if err == nil && len(lines) == 0 {
			err = fmt.Errorf("not logged yet")
		}
		return err
	})
	for _, w := range []string{"istio-ingressgateway", "productpage-v1", "details-v1"} {
		if lines, err := d.proxyLogLines(w, ok); err != nil || len(lines) > 0 {
			t.Errorf("%s logged the successful request: %q %v", w, lines, err)
		}
	}
}

func meshConfigMap(mesh string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    " +
		strings.ReplaceAll(mesh, "\n", "\n    ") + "\n"
}
