package capture

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// dryRun runs `lateen-proxy iptables --dry-run` with args and, when
// annotations is not empty, an annotations file holding it.
func dryRun(t *testing.T, args []string, annotations string) (string, error) {
	t.Helper()
	if annotations != "" {
		path := filepath.Join(t.TempDir(), "annotations")
		if err := os.WriteFile(path, []byte(annotations), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--annotations-file", path)
	}
	var stdout, stderr bytes.Buffer
	c := command{stdout: &stdout, stderr: &stderr, hasIPv6: func() bool { return false },
		netAdmin: func() error { return errors.New("dry run must not check privileges") }}
	err := c.run(context.Background(), append([]string{"--dry-run"}, args...))
	return stdout.String(), err
}

func TestRulesGolden(t *testing.T) {
	cases := []struct {
		name        string
		args        []string
		annotations string
	}{
		{name: "default"},
		{name: "default-ipv6", args: []string{"--ipv6"}},
		{name: "include-inbound-ports", annotations: `traffic.sidecar.istio.io/includeInboundPorts="9080,9443"` + "\n"},
		{name: "exclude-inbound-ports", annotations: `traffic.sidecar.istio.io/excludeInboundPorts="3306,15020"`},
		{name: "no-inbound", annotations: `{"traffic.sidecar.istio.io/includeInboundPorts": ""}`},
		{name: "outbound-ip-ranges", args: []string{"--ipv6"}, annotations: strings.Join([]string{
			`traffic.sidecar.istio.io/includeOutboundIPRanges="10.0.0.0/8,fd00::/8"`,
			`traffic.sidecar.istio.io/excludeOutboundIPRanges="10.96.0.1/32,169.254.169.254"`,
			`app="reviews"`,
		}, "\n")},
		{name: "outbound-ports", annotations: strings.Join([]string{
			`traffic.sidecar.istio.io/includeOutboundIPRanges=""`,
			`traffic.sidecar.istio.io/includeOutboundPorts="3306,5432"`,
			`traffic.sidecar.istio.io/excludeOutboundPorts="25,465"`,
		}, "\n")},
		{name: "loopback-range", annotations: `traffic.sidecar.istio.io/includeOutboundIPRanges="127.1.2.3/32,10.0.0.0/8"`},
		{name: "dns", args: []string{"--capture-dns"}},
		{name: "dns-ipv6-ids-ports", args: []string{"--capture-dns", "--ipv6", "--proxy-uid", "101,102",
			"--proxy-gid", "103", "--inbound-capture-port", "16006", "--outbound-capture-port", "16001"}},
		// Flags given explicitly win over annotations; Istio's short names work.
		{name: "flags-over-annotations", args: []string{"-b", "8080", "-x", "192.168.0.0/16", "-m", "REDIRECT"},
			annotations: `{"traffic.sidecar.istio.io/includeInboundPorts": "9080",
				"traffic.sidecar.istio.io/excludeOutboundIPRanges": "10.0.0.0/8"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dryRun(t, tc.args, tc.annotations)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/proxy/capture -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("dry run differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestRulesIPv6EmptyUnlessEnabled(t *testing.T) {
	o := Defaults()
	v4, v6 := Rules(o)
	if v4 == "" || v6 != "" {
		t.Fatalf("Rules without IPv6: v4 %d bytes, v6 %q", len(v4), v6)
	}
	o.IPv6 = true
	if _, v6 = Rules(o); !strings.Contains(v6, "-A ISTIO_OUTPUT -o lo -s ::6/128 -j RETURN") {
		t.Fatalf("IPv6 rules lack the ::6 passthrough source:\n%s", v6)
	}
}

func TestDryRunErrors(t *testing.T) {
	cases := []struct {
		name        string
		args        []string
		annotations string
		want        string
	}{
		{"bad port", []string{"--exclude-inbound-ports", "80,x"}, "", `--exclude-inbound-ports: port "x"`},
		{"zero port", []string{"--inbound-capture-port", "0"}, "", "want 1-65535"},
		{"bad range", nil, `traffic.sidecar.istio.io/excludeOutboundIPRanges="10.0.0.0/33"`, `IP range "10.0.0.0/33"`},
		{"wildcard exclude", []string{"--exclude-outbound-ip-ranges", "*"}, "", `"*" is not valid`},
		{"wildcard exclude ports", []string{"--exclude-outbound-ports", "*"}, "", `"*" is only valid`},
		{"uid not a number", []string{"--proxy-uid", "istio"}, "", `proxy uid/gid "istio"`},
		{"no owner", []string{"--proxy-uid", "", "--proxy-gid", ""}, "", "at least one proxy UID or GID"},
		{"tproxy flag", []string{"-m", "TPROXY"}, "", "TPROXY not supported"},
		{"tproxy annotation", nil, `sidecar.istio.io/interceptionMode=TPROXY`, "TPROXY not supported"},
		{"unsupported annotation", nil, `traffic.sidecar.istio.io/kubevirtInterfaces="net1"`,
			"traffic.sidecar.istio.io/kubevirtInterfaces: not supported"},
		{"bad annotations line", nil, "novalue", "want key=value"},
		{"cleanup dry run", []string{"--cleanup"}, "", "--dry-run and --cleanup"},
		{"extra argument", []string{"apply"}, "", "unexpected arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dryRun(t, tc.args, tc.annotations)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseAnnotations(t *testing.T) {
	downward := "app=\"productpage\"\n" +
		"kubernetes.io/config.seen=\"2024-01-01T00:00:00Z\"\n" +
		"traffic.sidecar.istio.io/excludeOutboundPorts=\"25, 465\"\n" +
		"note=\"line\\nbreak\"\n"
	got, err := ParseAnnotations([]byte(downward))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"app": "productpage", "kubernetes.io/config.seen": "2024-01-01T00:00:00Z",
		"traffic.sidecar.istio.io/excludeOutboundPorts": "25, 465", "note": "line\nbreak"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("downward API format (-want +got):\n%s", diff)
	}
	got, err = ParseAnnotations([]byte(`{"a": "1", "b": ""}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"a": "1", "b": ""}, got); diff != "" {
		t.Errorf("JSON format (-want +got):\n%s", diff)
	}
	if _, err := ParseAnnotations([]byte(`{"a": 1}`)); err == nil {
		t.Error("JSON with a number value: want an error")
	}
	if _, err := ParseAnnotations([]byte(`a="unterminated`)); err == nil {
		t.Error("bad quoted value: want an error")
	}
}

func TestParseLists(t *testing.T) {
	p, err := ParsePortList(" 80, 443,80 ,")
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != "80,443" {
		t.Errorf("ports %q, want 80,443", p.String())
	}
	r, err := ParseRangeList("10.1.2.3/8, ::ffff:1.2.3.4, fd00::1, ::ffff:0:0/96")
	if err != nil {
		t.Fatal(err)
	}
	if r.String() != "10.0.0.0/8,1.2.3.4/32,fd00::1/128,::ffff:0.0.0.0/96" {
		t.Errorf("ranges %q", r.String())
	}
	for _, bad := range []string{"65536", "-1", "0", "http"} {
		if _, err := ParsePortList(bad); err == nil {
			t.Errorf("ParsePortList(%q): want an error", bad)
		}
	}
}
