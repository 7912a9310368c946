// Package peers configures and starts the proxies the data-plane benchmark
// compares Lateen with, each as a pair with mutual TLS between the two
// proxies: nginx, HAProxy and Go's httputil.ReverseProxy (bench/goproxy).
package peers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ServerName is the name the server-side proxy's certificate carries and
// the client-side proxy verifies.
const ServerName = "server.bench"

// Certs are PEM files for one benchmark run: a CA, a server certificate
// for ServerName (and any loopback address), and a client certificate.
type Certs struct {
	CA         string `json:"ca"`
	ServerCert string `json:"server_cert"`
	ServerKey  string `json:"server_key"`
	ClientCert string `json:"client_cert"`
	ClientKey  string `json:"client_key"`
	// ServerBundle and ClientBundle hold certificate then key (HAProxy's
	// format).
	ServerBundle string `json:"server_bundle"`
	ClientBundle string `json:"client_bundle"`
}

// WriteCerts generates ECDSA P-256 certificates (as Istio's workload
// certificates) into dir.
func WriteCerts(dir string) (Certs, error) {
	c := Certs{
		CA:         filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem"),
		ServerBundle: filepath.Join(dir, "server-bundle.pem"), ClientBundle: filepath.Join(dir, "client-bundle.pem"),
	}
	caKey, caCert, caDER, err := newCA()
	if err != nil {
		return c, err
	}
	if err := writePEM(c.CA, pemBlock("CERTIFICATE", caDER)); err != nil {
		return c, err
	}
	for _, leaf := range []struct {
		cert, key, bundle string
		server            bool
	}{{c.ServerCert, c.ServerKey, c.ServerBundle, true}, {c.ClientCert, c.ClientKey, c.ClientBundle, false}} {
		certPEM, keyPEM, err := newLeaf(caKey, caCert, leaf.server)
		if err != nil {
			return c, err
		}
		for path, data := range map[string][]byte{leaf.cert: certPEM, leaf.key: keyPEM, leaf.bundle: append(certPEM, keyPEM...)} {
			if err := writePEM(path, data); err != nil {
				return c, err
			}
		}
	}
	return c, nil
}

func newCA() (*ecdsa.PrivateKey, *x509.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lateen-bench CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, der, err
}

func newLeaf(caKey *ecdsa.PrivateKey, ca *x509.Certificate, server bool) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "client.bench"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(47 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.Subject.CommonName = ServerName
		tmpl.DNSNames = []string{ServerName}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("PRIVATE KEY", keyDER), nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writePEM(path string, data []byte) error {
	// Readable by the proxies' unprivileged worker processes.
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("peers: %w", err)
	}
	return nil
}
