// Package certpem reads and writes PEM certificate bundles, for the CA and
// for the proxy's identity agent alike.
package certpem

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
)

// Parse reads every CERTIFICATE block of a PEM bundle, skipping other
// blocks. Data that is not empty but holds no certificate is an error.
func Parse(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(bytes.TrimSpace(data)) > 0 && len(out) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return out, nil
}

// Encode returns certs as concatenated PEM blocks.
func Encode(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}
