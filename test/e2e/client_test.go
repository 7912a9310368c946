//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/lateenmesh/lateen/internal/demo"
	"github.com/lateenmesh/lateen/internal/wait"
)

// commandTimeout bounds one run of the lateen CLI (apply, delete, exec).
const commandTimeout = 60 * time.Second

// eventually is wait.For with the condition run at most every 50 ms, so
// that a condition making HTTP requests does not spin on a busy machine.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	pace := time.NewTicker(50 * time.Millisecond)
	defer pace.Stop()
	first := true
	wait.For(t, timeout, what, func() error {
		if !first {
			<-pace.C
		}
		first = false
		return cond()
	})
}

// newClient is an HTTP client that ignores proxy settings of the
// environment (the test talks to the demo directly) and keeps cookies in
// jar when one is given.
func newClient(jar http.CookieJar) *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Jar: jar, Transport: &http.Transport{Proxy: nil}}
}

// newSession is a client with its own cookies, like one browser.
func newSession() *http.Client {
	jar, _ := cookiejar.New(nil)
	return newClient(jar)
}

// get fetches url and returns the body of a 200 response.
func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	return readOK(resp)
}

func readOK(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: %s: %.300s", resp.Request.Method, resp.Request.URL, resp.Status, body)
	}
	return string(body), nil
}

// ingressGet fetches path through the ingress gateway.
func (d *Demo) ingressGet(c *http.Client, path string) (string, error) {
	return get(c, d.Ingress+path)
}

// lateen runs the built binary with args and returns its stdout.
func lateen(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, lateenBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("lateen %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, &stdout, &stderr)
	}
	return stdout.String(), nil
}

// exec runs a command as workload (`lateen exec`): its HTTP traffic goes
// through the workload's sidecar.
func (d *Demo) exec(workload string, args ...string) (string, error) {
	return lateen(append([]string{"exec", "--state-dir", d.StateDir, workload, "--"}, args...)...)
}

// apply runs `lateen apply` on files, as a user changing the mesh.
func (d *Demo) apply(t *testing.T, files ...string) {
	t.Helper()
	if _, err := lateen(append([]string{"apply", "--state-dir", d.StateDir}, fileFlags(files)...)...); err != nil {
		t.Fatal(err)
	}
}

// delete runs `lateen delete` on files.
func (d *Demo) delete(t *testing.T, files ...string) {
	t.Helper()
	if _, err := lateen(append([]string{"delete", "--state-dir", d.StateDir}, fileFlags(files)...)...); err != nil {
		t.Fatal(err)
	}
}

func fileFlags(files []string) []string {
	var out []string
	for _, f := range files {
		out = append(out, "-f", f)
	}
	return out
}

// writeYAML writes yaml into a file of the test's own and returns its path,
// for apply and delete.
func writeYAML(t *testing.T, name, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (d *Demo) workload(t *testing.T, name string) *demo.Workload {
	t.Helper()
	w, err := demo.FindWorkload(d.Workloads, name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// pilotGet fetches a path of pilot's HTTP server and decodes its JSON.
func (d *Demo) pilotGet(path string, v any) error {
	body, err := get(d.client, "http://"+d.State.PilotHTTP+path)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(body), v)
}

// adminGet fetches a path of a proxy's admin server (<address>:15000).
func (d *Demo) adminGet(w *demo.Workload, path string) (string, error) {
	return get(d.client, "http://"+net.JoinHostPort(w.Address, "15000")+path)
}

// configzDoc is pilot's /debug/configz.
type configzDoc struct {
	Version  uint64          `json:"version"`
	Accepted []configObject  `json:"accepted"`
	Rejected []rejectedEntry `json:"rejected"`
}

type configObject struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Origin    string `json:"origin"`
}

type rejectedEntry struct {
	configObject
	Error        string `json:"error"`
	KeptLastGood bool   `json:"keptLastGood"`
}

func (o configObject) key() string { return o.Kind + "/" + o.Namespace + "/" + o.Name }

func (d *Demo) configz() (*configzDoc, error) {
	var cz configzDoc
	return &cz, d.pilotGet("/debug/configz", &cz)
}

// acceptedKeys lists the accepted objects as sorted kind/namespace/name.
func (c *configzDoc) acceptedKeys() []string {
	var out []string
	for _, o := range c.Accepted {
		out = append(out, o.key())
	}
	slices.Sort(out)
	return out
}

// synczDoc is pilot's /debug/syncz.
type synczDoc struct {
	Proxies []synczProxy `json:"proxies"`
}

type synczProxy struct {
	ID       string `json:"id"`
	Workload string `json:"workload"`
	Types    []struct {
		TypeURL      string `json:"typeUrl"`
		SentVersion  string `json:"sentVersion"`
		AckedVersion string `json:"ackedVersion"`
	} `json:"types"`
	Synced bool `json:"synced"`
}

// acked returns the version of typeURL the proxy acknowledged, if it is
// the one last sent.
func (p synczProxy) acked(typeURL string) (string, error) {
	for _, ts := range p.Types {
		if ts.TypeURL != typeURL {
			continue
		}
		if ts.SentVersion == "" || ts.AckedVersion != ts.SentVersion {
			return "", fmt.Errorf("%s: %s sent %q, acked %q", p.Workload, typeURL, ts.SentVersion, ts.AckedVersion)
		}
		return ts.AckedVersion, nil
	}
	return "", fmt.Errorf("%s: nothing sent of %s", p.Workload, typeURL)
}

func (d *Demo) syncz() (*synczDoc, error) {
	var sz synczDoc
	return &sz, d.pilotGet("/debug/syncz", &sz)
}

// allSynced checks that every workload's proxy is connected and has
// acknowledged everything pilot sent it.
func (d *Demo) allSynced() error {
	sz, err := d.syncz()
	if err != nil {
		return err
	}
	synced := map[string]bool{}
	for _, p := range sz.Proxies {
		synced[p.Workload] = p.Synced
	}
	for _, w := range d.Workloads {
		if !synced[w.Name] {
			return fmt.Errorf("proxy of %s not synced", w.Name)
		}
	}
	return nil
}

// xDS types a proxy subscribes to, in Envoy's order.
const (
	typeCDS = resourcev3.ClusterType
	typeEDS = resourcev3.EndpointType
	typeLDS = resourcev3.ListenerType
	typeRDS = resourcev3.RouteType
)
