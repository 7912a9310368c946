package listener

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"
)

func pipe(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"api.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestInspectTLSThenHandshake: the inspector reports the ClientHello's SNI
// and ALPN, and the connection it returns still completes the handshake.
func TestInspectTLSThenHandshake(t *testing.T) {
	client, server := pipe(t)
	errc := make(chan error, 1)
	go func() {
		tc := tls.Client(client, &tls.Config{ServerName: "api.example.com", NextProtos: []string{"istio", "h2"}, InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			errc <- err
			return
		}
		_, err := tc.Write([]byte("ping"))
		errc <- err
	}()
	hello, conn, err := InspectTLS(server, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if hello.TransportProtocol != TransportTLS || hello.ServerName != "api.example.com" || !slices.Equal(hello.ALPN, []string{"istio", "h2"}) {
		t.Fatalf("hello %+v", hello)
	}
	ts := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{testCert(t)}})
	buf := make([]byte, 4)
	if _, err := io.ReadFull(ts, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestInspectPlaintext(t *testing.T) {
	client, server := pipe(t)
	go func() { _, _ = client.Write([]byte("GET / HTTP/1.1\r\n\r\n")) }()
	hello, conn, err := InspectTLS(server, 5*time.Second)
	if err != nil || hello.TransportProtocol != TransportRaw {
		t.Fatalf("hello %+v, %v", hello, err)
	}
	buf := make([]byte, 18)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "GET / HTTP/1.1\r\n\r\n" {
		t.Fatalf("replayed %q, %v", buf, err)
	}
}

func TestInspectTimeout(t *testing.T) {
	_, server := pipe(t) // the client sends nothing (a server-first protocol)
	_, _, err := InspectTLS(server, 50*time.Millisecond)
	if err == nil {
		t.Fatal("no timeout")
	}
}
