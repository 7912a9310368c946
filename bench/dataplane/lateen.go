package dataplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/lateenmesh/lateen/bench/lateenrun"
	"github.com/lateenmesh/lateen/bench/load"
	"github.com/lateenmesh/lateen/bench/peers"
	"github.com/lateenmesh/lateen/bench/upstream"
)

// lateenOptions vary the Lateen pair.
type lateenOptions struct {
	// mtls gives the workloads identities (pilot's CA, bootstrap tokens)
	// and adds Istio's strict mutual TLS between the proxies.
	mtls bool
	// pending keeps the topology out of runs, with this reason.
	pending string
	// accessLog turns on MeshConfig access logs (Istio's default TEXT
	// format, to each proxy's stdout); noMetrics turns every standard
	// metric off with the Telemetry API (Istio's default has them on).
	accessLog, noMetrics bool
	// pilotArgs and proxyArgs are extra flags (e.g. identity options).
	pilotArgs, proxyArgs []string
}

func lateenPair(name, description string, o lateenOptions) Topology {
	return Topology{
		Name: name, Description: description, Pending: o.pending,
		start: func(ctx context.Context, env *env, name, block string) (*running, error) {
			return startLateen(ctx, env, block, name, o)
		},
	}
}

// Service ports of the upstream as the mesh knows it.
const (
	meshHTTPPort = 8080
	meshGRPCPort = 9090
)

// lateenConfig is the mesh: the server workload (a ServiceEntry selecting
// its WorkloadEntry) with a Sidecar binding its ports on its address and
// forwarding to the upstream's ports.
func lateenConfig(serverIP string, o lateenOptions) []lateenrun.Object {
	ports := []lateenrun.Port{{Number: meshHTTPPort, Name: "http", Protocol: "HTTP"}, {Number: meshGRPCPort, Name: "grpc", Protocol: "GRPC"}}
	labels := map[string]string{"app": "server"}
	objs := []lateenrun.Object{
		lateenrun.ServiceEntry("server", "bench", ports, labels, nil),
		lateenrun.WorkloadEntry("server", "bench", serverIP, "server", labels),
		lateenrun.SidecarResource("server", "bench", labels, []lateenrun.Ingress{
			{Port: ports[0], AppPort: peers.AppHTTPPort},
			{Port: ports[1], AppPort: peers.AppGRPCPort},
		}, nil),
	}
	objs = append(objs, telemetryConfig(o)...)
	// Plaintext between the proxies: mTLS disabled in the namespace (auto
	// mTLS then sends plaintext); else Istio's strict mutual TLS.
	mode := "DISABLE"
	if o.mtls {
		mode = "STRICT"
	}
	objs = append(objs, lateenrun.Object{
		"apiVersion": "security.istio.io/v1",
		"kind":       "PeerAuthentication",
		"metadata":   lateenrun.Object{"name": "default", "namespace": "bench"},
		"spec":       lateenrun.Object{"mtls": lateenrun.Object{"mode": mode}},
	})
	return objs
}

// telemetryConfig is the telemetry the options ask for.
func telemetryConfig(o lateenOptions) []lateenrun.Object {
	var objs []lateenrun.Object
	if o.accessLog {
		objs = append(objs, lateenrun.Object{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": lateenrun.Object{"name": "istio", "namespace": "istio-system"},
			"data":     lateenrun.Object{"mesh": "accessLogFile: /dev/stdout\n"}})
	}
	if o.noMetrics {
		objs = append(objs, lateenrun.Object{"apiVersion": "telemetry.istio.io/v1", "kind": "Telemetry",
			"metadata": lateenrun.Object{"name": "mesh-default", "namespace": "istio-system"},
			"spec": lateenrun.Object{"metrics": []any{lateenrun.Object{
				"providers": []any{lateenrun.Object{"name": "prometheus"}},
				"overrides": []any{lateenrun.Object{"match": lateenrun.Object{"metric": "ALL_METRICS"}, "disabled": true}}}}}})
	}
	return objs
}

// startLateen runs pilot on .1, the client's sidecar on .2 and the
// server's sidecar with the upstream on .3. The client uses its sidecar as
// an HTTP proxy (capture mode NONE), as `lateen demo` apps do.
func startLateen(ctx context.Context, env *env, block, name string, o lateenOptions) (*running, error) {
	dir, err := topologyDir(env, name)
	if err != nil {
		return nil, err
	}
	cfgDir := filepath.Join(dir, "config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		return nil, fmt.Errorf("dataplane: %w", err)
	}
	serverIP := block + "3"
	if err := lateenrun.WriteFile(cfgDir, "mesh.yaml", lateenConfig(serverIP, o)...); err != nil {
		return nil, err
	}
	r := &running{
		http: load.HTTPTarget{
			Addr: block + "2:15001", URL: fmt.Sprintf("http://%s/", hostPort(serviceHost, meshHTTPPort)),
			Host: hostPort(serviceHost, meshHTTPPort), BodySize: upstream.PayloadSize,
		},
		grpc: load.GRPCTarget{Addr: block + "2:15001", Authority: hostPort(serviceHost, meshGRPCPort), BodySize: upstream.PayloadSize},
	}
	if err := startUpstream(env, r, serverIP, dir); err != nil {
		return nil, err
	}
	if err := startLateenProxies(ctx, env, r, block, dir, cfgDir, o); err != nil {
		r.stop()
		return nil, err
	}
	return r, r.ready(ctx)
}

func startLateenProxies(ctx context.Context, env *env, r *running, block, dir, cfgDir string, o lateenOptions) error {
	pilotArgs := o.pilotArgs
	id := identities{dir: filepath.Join(dir, "identity")}
	if o.mtls {
		if err := os.MkdirAll(id.dir, 0o700); err != nil {
			return fmt.Errorf("dataplane: %w", err)
		}
		if err := id.provision("client", "server"); err != nil {
			return err
		}
		pilotArgs = append(id.pilotArgs(block+"1"), pilotArgs...)
	}
	pilot, err := lateenrun.StartPilot(env.bin.Pilot, dir, block+"1", cfgDir, pilotArgs...)
	if err != nil {
		return err
	}
	r.group.Add(pilot.Process)
	if err := r.group.WaitFor(ctx, 60*time.Second, "pilot ready", pilot.Ready); err != nil {
		return err
	}
	var ids []string
	for _, w := range []struct{ role, name, ip string }{
		{string(peers.ClientSide), "client", block + "2"},
		{string(peers.ServerSide), "server", block + "3"},
	} {
		args := append(slices.Clone(o.proxyArgs), env.proxyArgs...)
		if o.mtls {
			args = append(id.proxyArgs(block+"1", w.name), args...)
		}
		sc, err := lateenrun.StartSidecar(env.bin.Proxy, dir, pilot.XDS, lateenrun.SidecarOptions{
			Name: w.name, Namespace: "bench", IP: w.ip, ServiceAccount: w.name,
			Labels: map[string]string{"app": w.name}, ExtraArgs: args,
		})
		if err != nil {
			return err
		}
		r.group.Add(sc.Process)
		r.proxies = append(r.proxies, proxyProc{Role: w.role, PID: sc.PID()})
		ids = append(ids, sc.ID)
		if err := r.group.WaitFor(ctx, 60*time.Second, w.name+" sidecar ready", sc.Ready); err != nil {
			return err
		}
	}
	return r.group.WaitFor(ctx, 60*time.Second, "sidecars synced", func() error { return pilot.Synced(ids...) })
}
