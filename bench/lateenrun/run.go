package lateenrun

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/bench/launch"
)

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}

// Pilot is a running lateen-pilot.
type Pilot struct {
	*launch.Process
	// XDS is the plaintext ADS address, HTTP the debug/metrics address.
	XDS, HTTP string
	ConfigDir string
}

// StartPilot runs lateen-pilot on ip (xDS on 15010, HTTP on 15014) watching
// configDir, logging into logDir.
func StartPilot(bin launch.Command, logDir, ip, configDir string, extraArgs ...string) (*Pilot, error) {
	xds, httpAddr := net.JoinHostPort(ip, "15010"), net.JoinHostPort(ip, "15014")
	args := append([]string{"--config-dir", configDir, "--xds-address", xds, "--http-address", httpAddr}, extraArgs...)
	p, err := launch.Start(bin, "pilot-"+ip, logDir, args...)
	if err != nil {
		return nil, err
	}
	return &Pilot{Process: p, XDS: xds, HTTP: httpAddr, ConfigDir: configDir}, nil
}

// Ready reports nil once pilot has loaded its configuration.
func (p *Pilot) Ready() error {
	_, err := get("http://" + p.HTTP + "/ready")
	return err
}

// SyncStatus is one proxy's line of /debug/syncz.
type SyncStatus struct {
	ID     string `json:"id"`
	Synced bool   `json:"synced"`
}

// Syncz reads which proxies pilot serves and whether each acknowledged
// what was last sent.
func (p *Pilot) Syncz() (map[string]bool, error) {
	body, err := get("http://" + p.HTTP + "/debug/syncz")
	if err != nil {
		return nil, err
	}
	var s struct {
		Proxies []SyncStatus `json:"proxies"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("syncz: %w", err)
	}
	out := make(map[string]bool, len(s.Proxies))
	for _, ps := range s.Proxies {
		out[ps.ID] = ps.Synced
	}
	return out, nil
}

// Synced reports nil when every proxy id is connected and acknowledged.
func (p *Pilot) Synced(ids ...string) error {
	st, err := p.Syncz()
	if err != nil {
		return err
	}
	var pending []string
	for _, id := range ids {
		if !st[id] {
			pending = append(pending, id)
		}
	}
	if len(pending) > 0 {
		sort.Strings(pending)
		return fmt.Errorf("%d of %d proxies not synced (first: %s)", len(pending), len(ids), pending[0])
	}
	return nil
}

// Metric reads the sum of every sample of a Prometheus metric (all label
// values) from pilot's /metrics; 0 when absent.
func (p *Pilot) Metric(name string) (float64, error) {
	body, err := get("http://" + p.HTTP + "/metrics")
	if err != nil {
		return 0, err
	}
	return sumMetric(string(body), name), nil
}

func sumMetric(text, name string) float64 {
	var total float64
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			total += v
		}
	}
	return total
}

// SidecarOptions describe one workload's proxy.
type SidecarOptions struct {
	Name, Namespace, IP string
	ServiceAccount      string
	Labels              map[string]string
	ExtraArgs           []string
}

// Sidecar is a running lateen-proxy in capture mode NONE: its HTTP proxy
// (outbound) is on IP:15001, admin on IP:15000, readiness on IP:15021.
type Sidecar struct {
	*launch.Process
	IP string
	// ID is the xDS node id pilot's syncz lists.
	ID string
}

// StartSidecar runs lateen-proxy for o against the pilot at xds.
func StartSidecar(bin launch.Command, logDir, xds string, o SidecarOptions) (*Sidecar, error) {
	var labels []string
	for k, v := range o.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	sa := o.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	args := append([]string{
		"--xds-address", xds, "--type", "sidecar", "--ip", o.IP,
		"--namespace", o.Namespace, "--workload-name", o.Name, "--service-account", sa,
		"--labels", strings.Join(labels, ","), "--interception-mode", "NONE",
		"--wildcard-address", o.IP,
		"--admin-address", net.JoinHostPort(o.IP, "15000"),
		"--ready-address", net.JoinHostPort(o.IP, "15021"),
		"--log-level", "warn",
	}, o.ExtraArgs...)
	p, err := launch.Start(bin, "proxy-"+o.Name+"-"+o.IP, logDir, args...)
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.cluster.local", o.IP, o.Name, o.Namespace, o.Namespace)
	return &Sidecar{Process: p, IP: o.IP, ID: id}, nil
}

// Ready reports nil once the proxy serves its first configuration.
func (s *Sidecar) Ready() error {
	_, err := get("http://" + net.JoinHostPort(s.IP, "15021") + "/healthz/ready")
	return err
}

// ProxyURL is the proxy's outbound HTTP proxy address.
func (s *Sidecar) ProxyURL() string { return net.JoinHostPort(s.IP, "15001") }

func get(url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return body, nil
}
