//go:build linux

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/demo"
)

// Mutual TLS on the demo: PeerAuthentication modes and scopes, auto mTLS,
// the server's certificate as openssl sees it, secure naming, and a
// plugged-in CA.

const (
	sleepSPIFFE   = "spiffe://cluster.local/ns/default/sa/sleep"
	httpbinSPIFFE = "spiffe://cluster.local/ns/default/sa/httpbin"
)

// plainGet sends one plaintext request straight to addr (no sidecar on
// the way), on a fresh connection; err reports a refused connection.
func plainGet(addr, path string, header ...string) (int, http.Header, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Headers map[string]string `json:"headers"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	h := http.Header{}
	for k, v := range body.Headers {
		h.Set(k, v)
	}
	return resp.StatusCode, h, nil
}

// servicePort is a workload's first service port on its address, where
// its sidecar's inbound listener is bound.
func servicePort(w *demo.Workload) string {
	return net.JoinHostPort(w.Address, strconv.Itoa(int(w.Ports[0].Number)))
}

// sleepHeaders runs `lateen exec sleep -- curl http://httpbin:8000/headers`
// and returns the headers httpbin received.
func (d *Demo) sleepHeaders() (http.Header, error) {
	out, err := d.exec("sleep", "curl", "-s", "--max-time", "10", "http://httpbin:8000/headers")
	if err != nil {
		return nil, err
	}
	var body struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(out), &body); err != nil {
		return nil, fmt.Errorf("httpbin /headers: %v in %q", err, out)
	}
	h := http.Header{}
	for k, v := range body.Headers {
		h.Set(k, v)
	}
	return h, nil
}

// overMTLS checks that a request from sleep reached httpbin over mutual
// TLS: httpbin's sidecar appended sleep's identity to the XFCC header.
func (d *Demo) overMTLS() error {
	h, err := d.sleepHeaders()
	if err != nil {
		return err
	}
	xfcc := h.Get("X-Forwarded-Client-Cert")
	if !strings.HasPrefix(xfcc, "By="+httpbinSPIFFE+";Hash=") || !strings.HasSuffix(xfcc, `;Subject="";URI=`+sleepSPIFFE) {
		return fmt.Errorf("x-forwarded-client-cert %q, want httpbin's sidecar to append sleep's identity", xfcc)
	}
	return nil
}

// overPlaintext checks that sleep reached httpbin without mTLS.
func (d *Demo) overPlaintext() error {
	h, err := d.sleepHeaders()
	if err != nil {
		return err
	}
	if xfcc := h.Get("X-Forwarded-Client-Cert"); xfcc != "" {
		return fmt.Errorf("x-forwarded-client-cert %q: the request used mTLS", xfcc)
	}
	return nil
}

func refused(addr string) error {
	if code, _, err := plainGet(addr, "/get"); err == nil {
		return fmt.Errorf("plaintext request to %s answered %d", addr, code)
	}
	return nil
}

func answered(addr string) error {
	code, _, err := plainGet(addr, "/get")
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("plaintext request to %s: %d %v", addr, code, err)
	}
	return nil
}

// Mesh-wide STRICT (Istio's sample): a plain client cannot reach a
// workload's service port; workloads still reach each other over mTLS.
func TestMutualTLSStrictMeshWide(t *testing.T) {
	d := sharedDemo(t)
	httpbin := servicePort(d.workload(t, "httpbin-v1"))
	if err := answered(httpbin); err != nil { // PERMISSIVE by default
		t.Fatal(err)
	}
	if err := d.overMTLS(); err != nil { // auto mTLS by default
		t.Fatal(err)
	}
	d.apply(t, filepath.Join(istioSamples, "peer-authentication-strict.yaml"))
	eventually(t, propagation, "plaintext refused by httpbin", func() error { return refused(httpbin) })
	if err := d.overMTLS(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ingressGet(d.client, "/productpage"); err != nil { // ingress gateway → productpage → … over mTLS
		t.Fatal(err)
	}
}

// PERMISSIVE accepts both: mTLS from sidecars, plaintext from outside
// (which loses any x-forwarded-client-cert it sends).
func TestMutualTLSPermissive(t *testing.T) {
	d := sharedDemo(t)
	d.apply(t, writeYAML(t, "permissive.yaml", `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: PERMISSIVE}
`))
	httpbin := servicePort(d.workload(t, "httpbin-v1"))
	eventually(t, propagation, "mTLS and plaintext", func() error {
		code, h, err := plainGet(httpbin, "/headers", "X-Forwarded-Client-Cert", "By=spoofed;URI="+sleepSPIFFE)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("plaintext: %d %v", code, err)
		}
		if v := h.Get("X-Forwarded-Client-Cert"); v != "" {
			return fmt.Errorf("plaintext request kept x-forwarded-client-cert %q", v)
		}
		return d.overMTLS()
	})
}

// DISABLE (namespace-wide): plaintext only. Auto mTLS sees the namespace
// disabled and sends plaintext; a TLS client gets no filter chain.
func TestMutualTLSDisable(t *testing.T) {
	d := sharedDemo(t)
	d.apply(t, writeYAML(t, "disable.yaml", `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec:
  mtls: {mode: DISABLE}
`))
	httpbin := servicePort(d.workload(t, "httpbin-v1"))
	eventually(t, propagation, "plaintext only", func() error {
		if err := answered(httpbin); err != nil {
			return err
		}
		if err := d.overPlaintext(); err != nil {
			return err
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", httpbin,
			&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"istio"}}) //nolint:gosec // only the refusal matters
		if err == nil {
			conn.Close()
			return errors.New("a TLS handshake succeeded on a DISABLE port")
		}
		return nil
	})
}

// A workload policy's portLevelMtls is an exception to the mesh's STRICT:
// httpbin's port stays PERMISSIVE while productpage's is STRICT.
func TestMutualTLSPortLevelException(t *testing.T) {
	d := sharedDemo(t)
	d.apply(t, filepath.Join(istioSamples, "peer-authentication-strict.yaml"), writeYAML(t, "httpbin-port.yaml", `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: httpbin, namespace: default}
spec:
  selector:
    matchLabels: {app: httpbin}
  mtls: {mode: STRICT}
  portLevelMtls:
    8000: {mode: PERMISSIVE}
`))
	httpbin, productpage := servicePort(d.workload(t, "httpbin-v1")), servicePort(d.workload(t, "productpage-v1"))
	eventually(t, propagation, "httpbin's port excepted from STRICT", func() error {
		if err := refused(productpage); err != nil {
			return err
		}
		if err := answered(httpbin); err != nil {
			return err
		}
		return d.overMTLS()
	})
}

// openssl s_client against a workload's inbound port shows its chain,
// verified against the mesh root, and its SPIFFE identity.
func TestMutualTLSOpenSSLShowsIdentity(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is required on PATH (.ci/run installs it)")
	}
	d := sharedDemo(t)
	addr := servicePort(d.workload(t, "httpbin-v1"))
	var out string
	eventually(t, propagation, "openssl s_client to verify httpbin's chain", func() error {
		// The mTLS chains match Istio's ALPN; the server then asks for a
		// client certificate, which s_client does not have: the
		// handshake is refused after the server's chain was shown.
		cmd := exec.Command("openssl", "s_client", "-connect", addr, "-alpn", "istio", "-showcerts",
			"-CAfile", d.State.RootCert, "-verify_return_error")
		cmd.Stdin = strings.NewReader("")
		b, _ := cmd.CombinedOutput()
		out = string(b)
		if !strings.Contains(out, "Verify return code: 0 (ok)") {
			return fmt.Errorf("chain not verified against %s:\n%s", d.State.RootCert, out)
		}
		return nil
	})
	chain := pemCertificates(t, out)
	if len(chain) == 0 || len(chain[0].URIs) != 1 || chain[0].URIs[0].String() != httpbinSPIFFE {
		t.Fatalf("leaf URI SANs %v, want %s", chain[0].URIs, httpbinSPIFFE)
	}
}

func pemCertificates(t *testing.T, s string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	data := []byte(s)
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return out
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// Secure naming: a workload registered as an endpoint of httpbin under
// httpbin's service account, while it really runs as productpage, is
// refused by clients: the handshake fails (503 UF, TLS error) because its
// certificate is not one of httpbin's identities.
func TestMutualTLSSecureNamingRejectsImpostor(t *testing.T) {
	d := sharedDemo(t)
	pp := d.workload(t, "productpage-v1")
	d.apply(t, writeYAML(t, "impostor.yaml", fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: httpbin-impostor, namespace: default}
spec:
  address: %s
  serviceAccount: httpbin
  ports: {http: %d}
  labels: {app: httpbin, version: impostor, security.istio.io/tlsMode: istio}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin-impostor, namespace: default}
spec:
  host: httpbin
  subsets:
  - {name: impostor, labels: {version: impostor}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin-impostor, namespace: default}
spec:
  hosts: [httpbin]
  http:
  - route:
    - destination: {host: httpbin, subset: impostor}
`, pp.Address, pp.Ports[0].Number)))
	eventually(t, propagation, "the impostor refused", func() error {
		out, err := d.exec("sleep", "curl", "-s", "--max-time", "10", "-w", "\n%{http_code}", "http://httpbin:8000/get")
		if err != nil {
			return err
		}
		if !strings.HasSuffix(out, "\n503") || !strings.Contains(out, "TLS error") || !strings.Contains(out, "subject alternative name mismatch") {
			return fmt.Errorf("got %q, want a 503 with a TLS error", out)
		}
		return nil
	})
}

// A plugged-in CA (Istio's cacerts files): workload chains verify against
// the supplied root, and traffic flows over mTLS.
func TestMutualTLSPluggedInCA(t *testing.T) {
	skipShort(t)
	dir, root := writeCACerts(t)
	d := startDemo(t, demoOptions{Args: []string{"--cacerts-dir", dir}})
	if _, err := d.ingressGet(d.client, "/productpage"); err != nil {
		t.Fatal(err)
	}
	if err := d.overMTLS(); err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", servicePort(d.workload(t, "httpbin-v1")),
		&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"istio"}}) //nolint:gosec // verified below against the supplied root
	if err != nil {
		t.Fatal(err)
	}
	chain := conn.ConnectionState().PeerCertificates
	conn.Close()
	roots := x509.NewCertPool()
	roots.AddCert(root)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("httpbin's chain does not verify against the plugged-in root: %v", err)
	}
	if chain[0].Issuer.CommonName != "Lateen e2e intermediate" {
		t.Errorf("leaf issued by %q, want the plugged-in intermediate", chain[0].Issuer)
	}
}

// writeCACerts writes Istio's cacerts files: a root and an intermediate
// CA signed by it.
func writeCACerts(t *testing.T) (string, *x509.Certificate) {
	t.Helper()
	dir := t.TempDir()
	newCA := func(cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"cluster.local"}},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour), IsCA: true,
			BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, key
	}
	root, rootKey := newCA("Lateen e2e root", nil, nil)
	inter, interKey := newCA("Lateen e2e intermediate", root, rootKey)
	pemCert := func(cs ...*x509.Certificate) []byte {
		var out []byte
		for _, c := range cs {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		return out
	}
	kder, _ := x509.MarshalECPrivateKey(interKey)
	for name, data := range map[string][]byte{
		"root-cert.pem": pemCert(root), "ca-cert.pem": pemCert(inter), "cert-chain.pem": pemCert(inter, root),
		"ca-key.pem": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, root
}

// `lateen proxy-config secret` lists a workload's certificates as
// istioctl does, with its SPIFFE identity.
func TestProxyConfigSecret(t *testing.T) {
	d := sharedDemo(t)
	out, err := lateen("proxy-config", "secret", "--state-dir", d.StateDir, "httpbin-v1")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "RESOURCE NAME") ||
		!strings.HasPrefix(lines[1], "default") || !strings.Contains(lines[1], "ACTIVE") ||
		!strings.Contains(lines[1], httpbinSPIFFE) || !strings.HasPrefix(lines[len(lines)-1], "ROOTCA") {
		t.Errorf("proxy-config secret:\n%s", out)
	}
}
