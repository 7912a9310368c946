package memory

import (
	"fmt"

	"github.com/lateenmesh/lateen/bench/lateenrun"
)

func namespace(i int) string { return fmt.Sprintf("ns-%04d", i) }

// endpointAddress numbers endpoints on 127.250.0.0/16: the proxies never
// connect to them.
func endpointAddress(k int) string { return fmt.Sprintf("127.250.%d.%d", (k/256)%256, k%256) }

// writeMesh writes n services, perNS to a namespace (one file per
// namespace): a ServiceEntry with endpoints inline, labelled v1 and v2 in
// turn, and a DestinationRule with subsets v1 and v2. The Sidecar narrows
// the "narrow" proxy to its own namespace.
func writeMesh(dir string, n, endpoints, perNS int) error {
	ports := []lateenrun.Port{{Number: 8080, Name: "http", Protocol: "HTTP"}}
	k := 0
	for nsIndex := 0; nsIndex*perNS < n; nsIndex++ {
		ns := namespace(nsIndex)
		var objs []lateenrun.Object
		for i := nsIndex * perNS; i < min(n, (nsIndex+1)*perNS); i++ {
			name := fmt.Sprintf("svc-%05d", i)
			var eps []lateenrun.Endpoint
			for e := range endpoints {
				eps = append(eps, lateenrun.Endpoint{Address: endpointAddress(k), Labels: map[string]string{"version": fmt.Sprintf("v%d", e%2+1)}})
				k++
			}
			objs = append(objs,
				lateenrun.ServiceEntry(name, ns, ports, nil, eps),
				lateenrun.DestinationRule(name, ns, lateenrun.Host(name, ns), "v1", "v2"))
		}
		if err := lateenrun.WriteFile(dir, ns+".yaml", objs...); err != nil {
			return err
		}
	}
	sc := lateenrun.SidecarResource("narrow", namespace(0), map[string]string{"app": "narrow"}, nil, []string{"./*"})
	return lateenrun.WriteFile(dir, "sidecar.yaml", sc)
}
