package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// waitReady polls until pilot is ready, every proxy has acknowledged its
// configuration and the ingress serves the Bookinfo page.
func (d *demo) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	checks := []struct {
		what string
		ok   func() error
	}{
		{"pilot ready", func() error { return httpOK(ctx, client, "http://"+d.pilotAddr(15014)+"/ready") }},
		{"proxies ready", func() error { return d.proxiesReady(ctx, client) }},
		{"every proxy acknowledged its configuration", func() error { return d.allSynced(ctx, client) }},
		{"ingress serves /productpage", func() error {
			return httpOK(ctx, client, "http://"+d.ingressAddr+"/productpage")
		}},
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for _, c := range checks {
		for {
			err := c.ok()
			if err == nil {
				break
			}
			if p := d.exitedProcess(); p != nil {
				return p.exited()
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("demo not ready after %s: waiting for %s: %v (logs in %s)", d.opts.ReadyTimeout, c.what, err, d.logDir())
			case <-tick.C:
			}
		}
	}
	return nil
}

func (d *demo) exitedProcess() *process {
	for _, p := range d.procs {
		select {
		case <-p.done:
			return p
		default:
		}
	}
	return nil
}

func (d *demo) proxiesReady(ctx context.Context, client *http.Client) error {
	for _, w := range d.workloads {
		if err := httpOK(ctx, client, "http://"+net.JoinHostPort(w.Address, "15021")+"/healthz/ready"); err != nil {
			return fmt.Errorf("%s: %w", w.Name, err)
		}
	}
	return nil
}

func (d *demo) allSynced(ctx context.Context, client *http.Client) error {
	body, err := httpGet(ctx, client, "http://"+d.pilotAddr(15014)+"/debug/syncz")
	if err != nil {
		return err
	}
	var s struct {
		Proxies []struct {
			ID     string `json:"id"`
			Synced bool   `json:"synced"`
		} `json:"proxies"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return err
	}
	synced := 0
	var pending []string
	for _, p := range s.Proxies {
		if p.Synced {
			synced++
		} else {
			pending = append(pending, p.ID)
		}
	}
	if synced < len(d.workloads) {
		return fmt.Errorf("%d of %d proxies synced (pending: %s)", synced, len(d.workloads), strings.Join(pending, ", "))
	}
	return nil
}

func httpOK(ctx context.Context, client *http.Client, url string) error {
	_, err := httpGet(ctx, client, url)
	return err
}

func httpGet(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return body, nil
}

// processAlive reports whether a process with pid exists.
func processAlive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}
