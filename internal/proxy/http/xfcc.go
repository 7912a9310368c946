package http

import (
	nethttp "net/http"

	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

const xfccHeader = "X-Forwarded-Client-Cert"

// forwardClientCert applies forward_client_cert_details to a request as
// Envoy does. Without a client certificate (plaintext or one-way TLS) the
// header is removed, unless ALWAYS_FORWARD_ONLY. With one: FORWARD_ONLY
// keeps it, SANITIZE removes it, APPEND_FORWARD appends this connection's
// details to it and SANITIZE_SET replaces it with them (Istio's sidecars
// use APPEND_FORWARD with Subject, URI and DNS).
func forwardClientCert(h nethttp.Header, cfg *resource.HTTPConnectionManager, peer *mtls.Peer) {
	mode := cfg.ForwardClientCert
	if mode == "ALWAYS_FORWARD_ONLY" || (mode == "FORWARD_ONLY" && peer.Mutual()) {
		return
	}
	if !peer.Mutual() || (mode != "APPEND_FORWARD" && mode != "SANITIZE_SET") {
		h.Del(xfccHeader)
		return
	}
	v := peer.XFCC(cfg.SetCurrentCertParts)
	if prior := h.Values(xfccHeader); mode == "APPEND_FORWARD" && len(prior) > 0 {
		joined := prior[0]
		for _, p := range prior[1:] {
			joined += "," + p
		}
		v = joined + "," + v
	}
	h.Set(xfccHeader, v)
}

// scheme is the downstream's scheme for x-forwarded-proto.
func scheme(info *Info) string {
	if info.Peer != nil {
		return "https"
	}
	return "http"
}
