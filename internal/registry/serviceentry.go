package registry

import (
	"fmt"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
)

// FromConfig builds the registry of local mode from the ServiceEntry and
// WorkloadEntry objects in set. ServiceEntry hosts are used as written.
func FromConfig(set *config.Set) *Registry {
	entries := workloadEntries(set)
	var services []*Service
	eps := map[*Service][]Endpoint{}
	var workloads []*Workload
	workloads = append(workloads, entries...)
	for _, obj := range set.List(config.ServiceEntry) {
		se := obj.Spec.(*networking.ServiceEntry)
		members := seMembers(obj, se, entries)
		for i, w := range members {
			if w.Source == obj.Key() {
				w.Name = fmt.Sprintf("%s-%d", obj.Meta.Name, i)
				workloads = append(workloads, w)
			}
		}
		for _, host := range se.Hosts {
			svc := serviceFromEntry(obj, se, host)
			services = append(services, svc)
			for _, w := range members {
				eps[svc] = append(eps[svc], Endpoint{Workload: w})
			}
		}
	}
	return newRegistry(services, eps, workloads)
}

func serviceFromEntry(obj *config.Object, se *networking.ServiceEntry, host string) *Service {
	svc := &Service{
		Hostname:        host,
		Namespace:       obj.Meta.Namespace,
		Addresses:       se.Addresses,
		MeshExternal:    se.Location == networking.ServiceEntry_MESH_EXTERNAL,
		ExportTo:        se.ExportTo,
		SubjectAltNames: se.SubjectAltNames,
		Source:          obj.Key(),
		Created:         obj.Meta.CreationTimestamp,
	}
	switch se.Resolution {
	case networking.ServiceEntry_NONE:
		svc.Resolution = ResolutionNone
	case networking.ServiceEntry_DNS:
		svc.Resolution = ResolutionDNS
	case networking.ServiceEntry_DNS_ROUND_ROBIN:
		svc.Resolution = ResolutionDNSRoundRobin
	}
	for _, p := range se.Ports {
		svc.Ports = append(svc.Ports, Port{Name: p.Name, Number: p.Number, Protocol: ParseProtocol(p.Protocol, p.Name), TargetPort: p.TargetPort})
	}
	return svc
}

// seMembers returns the workloads behind a ServiceEntry: its inline
// endpoints, or the WorkloadEntries of its namespace that its selector picks.
func seMembers(obj *config.Object, se *networking.ServiceEntry, entries []*Workload) []*Workload {
	if sel := se.WorkloadSelector; sel != nil {
		var out []*Workload
		for _, w := range entries {
			if w.Namespace == obj.Meta.Namespace && SelectorMatches(sel.Labels, w.Labels) {
				out = append(out, w)
			}
		}
		return out
	}
	out := make([]*Workload, 0, len(se.Endpoints))
	for _, we := range se.Endpoints {
		out = append(out, workloadFromEntry(obj, we))
	}
	return out
}

func workloadEntries(set *config.Set) []*Workload {
	objs := set.List(config.WorkloadEntry)
	out := make([]*Workload, 0, len(objs))
	for _, obj := range objs {
		w := workloadFromEntry(obj, obj.Spec.(*networking.WorkloadEntry))
		w.Name = obj.Meta.Name
		out = append(out, w)
	}
	return out
}

func workloadFromEntry(obj *config.Object, we *networking.WorkloadEntry) *Workload {
	sa := we.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	return &Workload{
		Namespace:      obj.Meta.Namespace,
		Address:        we.Address,
		Labels:         we.Labels,
		ServiceAccount: sa,
		Ports:          we.Ports,
		Locality:       we.Locality,
		Weight:         we.Weight,
		Network:        we.Network,
		Sidecar:        we.Labels[TLSModeLabel] == "istio",
		Source:         obj.Key(),
	}
}

// SelectorMatches reports whether labels carry every key/value of selector.
// An empty selector matches everything.
func SelectorMatches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
