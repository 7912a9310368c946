package pilot

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/wait"
)

const credentialConfig = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports:
  - {name: https, number: 443, protocol: HTTP}
  endpoints:
  - {address: 192.0.2.1}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: default}
spec:
  host: api.example.com
  workloadSelector:
    matchLabels: {app: sleep}
  trafficPolicy:
    tls: {mode: MUTUAL, credentialName: client-cred}
`

func writeCredential(t *testing.T, dir, cn string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"tls.crt": cert, "ca.crt": cert,
		"tls.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// dumpedSecrets returns the secrets in a proxy's /config_dump, by name.
func dumpedSecrets(t *testing.T, admin string) map[string]json.RawMessage {
	t.Helper()
	var dump struct {
		Configs []struct {
			Type    string `json:"@type"`
			Secrets []struct {
				Name   string          `json:"name"`
				Secret json.RawMessage `json:"secret"`
			} `json:"dynamicActiveSecrets"`
		} `json:"configs"`
	}
	if err := json.Unmarshal(get(t, "http://"+admin+"/config_dump"), &dump); err != nil {
		t.Fatal(err)
	}
	out := map[string]json.RawMessage{}
	for _, c := range dump.Configs {
		for _, s := range c.Secrets {
			out[s.Name] = s.Secret
		}
	}
	return out
}

// TestCredentialsServedToVerifiedProxies: credentialName secrets go, over
// ADS, to proxies of the credential's namespace that proved their
// identity (pilot's TLS port), follow the files, and never to a proxy on
// the plaintext port (names only, so it does not wait for them).
func TestCredentialsServedToVerifiedProxies(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "credentials")
	writeCredential(t, filepath.Join(creds, "default", "client-cred"), "first")
	tp := startPilot(t, map[string]string{"sleep": "default/sleep"}, func(o *Options) { o.CredentialsDir = creds })
	if err := os.WriteFile(filepath.Join(tp.dir, "config", "api.yaml"), []byte(credentialConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	secure := tp.p.SecureAddress().String()
	xdsAddr, _ := tp.p.Addresses()
	verified := runProxy(t, proxy.Options{XDSAddress: secure, XDSTLS: true, CAAddress: secure, RootCertFile: tp.rootFile,
		TokenFile: tp.writeToken(t, "sleep"), IP: "127.0.78.1", WorkloadName: "sleep", ServiceAccount: "sleep",
		Labels: map[string]string{"app": "sleep"}})
	plain := runProxy(t, proxy.Options{XDSAddress: xdsAddr.String(), IP: "127.0.78.2", WorkloadName: "sleep-2",
		ServiceAccount: "sleep", Labels: map[string]string{"app": "sleep"}})

	content := func(admin, name string) (string, error) {
		s, ok := dumpedSecrets(t, admin)[name]
		if !ok {
			return "", fmt.Errorf("no secret %s", name)
		}
		return string(s), nil
	}
	var first string
	wait.For(t, 60*time.Second, "credential on the verified proxy", func() error {
		s, err := content(verified, "kubernetes://client-cred")
		if err != nil || !strings.Contains(s, "certificateChain") || !strings.Contains(s, "[redacted]") {
			return fmt.Errorf("%q %v", s, err)
		}
		first = s
		ca, err := content(verified, "kubernetes://client-cred-cacert")
		if err != nil || !strings.Contains(ca, "trustedCa") {
			return fmt.Errorf("CA %q %v", ca, err)
		}
		return nil
	})
	wait.For(t, 60*time.Second, "names only on the plaintext proxy", func() error {
		s, err := content(plain, "kubernetes://client-cred")
		if err != nil || strings.Contains(s, "certificateChain") {
			return fmt.Errorf("%q %v", s, err)
		}
		return nil
	})
	writeCredential(t, filepath.Join(creds, "default", "client-cred"), "second")
	wait.For(t, 60*time.Second, "the rotated credential", func() error {
		s, err := content(verified, "kubernetes://client-cred")
		if err != nil || s == first {
			return errors.New("not rotated yet")
		}
		return nil
	})
}

// runProxy runs a proxy until the test ends and returns its admin address.
func runProxy(t *testing.T, opts proxy.Options) string {
	t.Helper()
	opts.AdminAddress, opts.ReadyAddress, opts.DrainTimeout = "127.0.0.1:0", "127.0.0.1:0", time.Second
	opts.StatsAddress, opts.MergedStatsAddress = "127.0.0.1:0", "-"
	px, err := proxy.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy Run: %v", err)
		}
	})
	admin, err := px.AdminAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return admin
}
