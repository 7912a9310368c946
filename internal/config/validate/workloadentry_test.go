package validate

import "testing"

func TestWorkloadEntry(t *testing.T) {
	runCases(t, "WorkloadEntry", []vcase{
		{name: "vm", spec: "address: 10.0.0.5\nports: {http: 8080, Grpc-Web: 9090}\nlabels: {app: ratings, version: v1}\nserviceAccount: ratings-sa\nlocality: us-east/zone1/rack2\nnetwork: vm-net\nweight: 2"},
		{name: "hostname", spec: "address: vm1.example.com"},
		{name: "unix socket", spec: "address: 'unix:///var/run/app.sock'"},
		{name: "network only", spec: "network: remote"},
		{name: "missing address", spec: "labels: {app: a}", want: []string{"spec.address"}},
		{name: "bad address", spec: "address: 'not a host'", want: []string{"spec.address"}},
		{name: "unix socket with ports", spec: "address: 'unix://relative'\nports: {http: 80}", want: []string{"spec.address", "spec.ports"}},
		{name: "bad fields", spec: "address: 10.0.0.5\nports: {'-bad': 80, http: 65536}\nlabels: {'a b': c}\nserviceAccount: Bad_SA\nlocality: 'us/*'",
			want: []string{"spec.ports[-bad]", "spec.ports[http]", "spec.labels[a b]", "spec.serviceAccount", "spec.locality"}},
	})
}

func TestWorkloadGroup(t *testing.T) {
	runCases(t, "WorkloadGroup", []vcase{
		{name: "group", spec: `
metadata: {labels: {app: ratings}, annotations: {example.com/owner: team}}
template: {ports: {http: 8080}, serviceAccount: ratings, network: vm-net}
probe: {periodSeconds: 5, initialDelaySeconds: 1, httpGet: {path: /ready, port: 8080, scheme: HTTPS, httpHeaders: [{name: x-probe, value: "1"}]}}
`},
		{name: "missing template", spec: "metadata: {labels: {app: a}}", want: []string{"spec.template"}},
		{name: "template with address", spec: "template: {address: 10.0.0.1, ports: {http: 0}}",
			want: []string{"spec.template.address", "spec.template.ports[http]"}},
		{name: "bad metadata", spec: "metadata: {labels: {app: 'a b'}, annotations: {'bad key!': x}}\ntemplate: {}",
			want: []string{"spec.metadata.labels[app]", "spec.metadata.annotations[bad key!]"}},
		{name: "probes", spec: "template: {}\nprobe: {tcpSocket: {port: 3306}, failureThreshold: 3}"},
		{name: "exec probe", spec: "template: {}\nprobe: {exec: {command: [cat, /tmp/ready]}}"},
		{name: "bad probe", spec: "template: {}\nprobe: {timeoutSeconds: -1, httpGet: {port: 0, scheme: ftp, httpHeaders: [{name: 'a b'}]}}",
			want: []string{"spec.probe.timeoutSeconds", "spec.probe.httpGet.port", "spec.probe.httpGet.scheme", "spec.probe.httpGet.httpHeaders[0].name"}},
		{name: "probe without method", spec: "template: {}\nprobe: {periodSeconds: 10}", want: []string{"spec.probe"}},
		{name: "empty exec", spec: "template: {}\nprobe: {exec: {}}", want: []string{"spec.probe.exec.command"}},
	})
}
