package exchange

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

func productpage() *peer.Workload {
	return peer.New(peer.Workload{ID: "sidecar~10.0.0.1~productpage-v1.default~default.svc.cluster.local",
		Name: "productpage-v1", Namespace: "default", Workload: "productpage-v1", Cluster: "Kubernetes",
		MeshID: "cluster.local", ServiceAccount: "bookinfo-productpage",
		Labels: map[string]string{"app": "productpage", "version": "v1"}})
}

func TestHeaderRoundTrip(t *testing.T) {
	w := productpage()
	got, err := peer.Decode(w.ID, w.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := peer.Decode("", "not base64!"); err == nil {
		t.Error("bad header: no error")
	}
}

func TestPreambleRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePreamble(&buf, productpage()); err != nil {
		t.Fatal(err)
	}
	if got := buf.Bytes()[:4]; !bytes.Equal(got, []byte{0x3D, 0x23, 0x04, 0x67}) {
		t.Errorf("magic % x", got)
	}
	buf.WriteString("app data")
	got, err := ReadPreamble(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(productpage(), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if rest, _ := io.ReadAll(&buf); string(rest) != "app data" {
		t.Errorf("rest %q", rest)
	}
}

// tlsPair returns both ends of a TLS connection negotiating alpn (server
// offers alpn; the client asks for clientALPN).
func tlsPair(t *testing.T, clientALPN []string) (client, server *tls.Conn) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"x"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	a, b := tcpPair(t)
	server = tls.Server(b, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{ALPN, "istio"}})
	client = tls.Client(a, &tls.Config{InsecureSkipVerify: true, NextProtos: clientALPN})
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestTCPExchange(t *testing.T) {
	client, server := tlsPair(t, []string{ALPN})
	reviews := peer.New(peer.Workload{ID: "sidecar~10.0.0.2~reviews-v1.default~default.svc.cluster.local",
		Namespace: "default", Workload: "reviews-v1", Labels: map[string]string{"app": "reviews"}})
	cInfo, sInfo := &tcp.ConnInfo{}, &tcp.ConnInfo{}
	out := (&exchanger{cfg: &resource.MetadataExchange{Protocol: ALPN}, node: productpage()}).WrapUpstream(client, cInfo)
	in := (&exchanger{cfg: &resource.MetadataExchange{Protocol: ALPN}, node: reviews, inbound: true}).WrapDownstream(server, sInfo)
	done := make(chan string, 1)
	go func() {
		buf := make([]byte, 5)
		_, err := io.ReadFull(in, buf)
		if err != nil {
			done <- err.Error()
			return
		}
		_, _ = in.Write([]byte("world"))
		done <- string(buf)
	}()
	if _, err := out.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(out, buf); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got != "hello" || string(buf) != "world" {
		t.Errorf("server read %q, client read %q", got, buf)
	}
	down, _ := sInfo.Workloads()
	_, up := cInfo.Workloads()
	if down == nil || down.Workload != "productpage-v1" || up == nil || up.Workload != "reviews-v1" {
		t.Errorf("server saw %+v, client saw %+v", down, up)
	}
	if !sInfo.Resolved() || !cInfo.Resolved() {
		t.Error("not resolved")
	}
}

func TestTCPExchangeWithoutALPN(t *testing.T) {
	client, server := tlsPair(t, nil)
	info := &tcp.ConnInfo{}
	if c := (&exchanger{cfg: &resource.MetadataExchange{Protocol: ALPN}, node: productpage(), inbound: true}).WrapDownstream(server, info); c != server {
		t.Error("connection wrapped without the exchange's ALPN")
	}
	if !info.Resolved() {
		t.Error("peer not resolved as unknown")
	}
	_ = client
}

// tcpPair is a connected pair of loopback TCP sockets (buffered, unlike
// net.Pipe: both sides write their preamble before reading).
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	return a, b
}
