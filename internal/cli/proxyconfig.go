package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/demo"
)

// runProxyConfig is `lateen proxy-config`, istioctl's: today its secret
// view, which lists a workload proxy's certificates.
func runProxyConfig(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "secret" {
		fmt.Fprintln(env.Stderr, "usage: lateen proxy-config secret [--state-dir DIR] [-o short|json] WORKLOAD")
		return errors.New("a view is required: secret")
	}
	fs := newFlagSet(env, "proxy-config secret")
	stateDir := fs.String("state-dir", defaultStateDir(env), "state directory of the running demo")
	output := fs.String("o", "short", "output: short (a table) or json (the proxy's /certs)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: lateen proxy-config secret [--state-dir DIR] [-o short|json] WORKLOAD")
	}
	ws, err := demo.ReadWorkloads(*stateDir)
	if err != nil {
		return fmt.Errorf("%w (is `lateen demo` running with --state-dir %s?)", err, *stateDir)
	}
	w, err := demo.FindWorkload(ws, fs.Arg(0))
	if err != nil {
		return err
	}
	admin := "http://" + net.JoinHostPort(w.Address, "15000")
	certs, err := adminGet(ctx, admin+"/certs")
	if err != nil {
		return err
	}
	if *output == "json" {
		_, err := env.Stdout.Write(certs)
		return err
	}
	rows, err := secretRows(certs)
	if err != nil {
		return err
	}
	if dump, err := adminGet(ctx, admin+"/config_dump"); err == nil {
		rows = append(rows, credentialRows(dump)...)
	}
	return printSecrets(env.Stdout, rows, time.Now())
}

func adminGet(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("proxy admin: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("proxy admin %s: %s", url, resp.Status)
	}
	return b, err
}

// secretRow is one certificate of a secret.
type secretRow struct {
	name, kind, serial, sans string
	notBefore, notAfter      time.Time
}

// secretRows reads /certs: the workload chain ("default", leaf first) and
// the trust bundle ("ROOTCA").
func secretRows(data []byte) ([]secretRow, error) {
	var certs adminv3.Certificates
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &certs); err != nil {
		return nil, fmt.Errorf("proxy admin /certs: %w", err)
	}
	var rows []secretRow
	for _, c := range certs.GetCertificates() {
		for i, d := range c.GetCertChain() {
			kind := "Cert Chain"
			if i > 0 {
				kind = fmt.Sprintf("Cert Chain [%d]", i)
			}
			rows = append(rows, detailsRow("default", kind, d))
		}
		for _, d := range c.GetCaCert() {
			rows = append(rows, detailsRow("ROOTCA", "CA", d))
		}
	}
	return rows, nil
}

func detailsRow(name, kind string, d *adminv3.CertificateDetails) secretRow {
	var sans []string
	for _, s := range d.GetSubjectAltNames() {
		sans = append(sans, s.GetUri()+s.GetDns()+s.GetIpAddress())
	}
	return secretRow{name: name, kind: kind, serial: d.GetSerialNumber(), sans: strings.Join(sans, ","),
		notBefore: d.GetValidFrom().AsTime(), notAfter: d.GetExpirationTime().AsTime()}
}

// credentialRows reads the secrets received over ADS (credentialName)
// from /config_dump.
func credentialRows(data []byte) []secretRow {
	var dump struct {
		Configs []json.RawMessage `json:"configs"`
	}
	if json.Unmarshal(data, &dump) != nil {
		return nil
	}
	var rows []secretRow
	for _, raw := range dump.Configs {
		var a anypb.Any
		if protojson.Unmarshal(raw, &a) != nil || a.GetTypeUrl() != "type.googleapis.com/envoy.admin.v3.SecretsConfigDump" {
			continue
		}
		var sd adminv3.SecretsConfigDump
		if a.UnmarshalTo(&sd) != nil {
			continue
		}
		for _, s := range sd.GetDynamicActiveSecrets() {
			var sec tlsv3.Secret
			if s.GetSecret().UnmarshalTo(&sec) != nil || !strings.HasPrefix(sec.GetName(), "kubernetes://") {
				continue
			}
			kind, data := "Cert Chain", sec.GetTlsCertificate().GetCertificateChain().GetInlineBytes()
			if ca := sec.GetValidationContext().GetTrustedCa().GetInlineBytes(); ca != nil {
				kind, data = "CA", ca
			}
			rows = append(rows, pemRows(sec.GetName(), kind, data)...)
		}
	}
	return rows
}

func pemRows(name, kind string, data []byte) []secretRow {
	if len(data) == 0 {
		return []secretRow{{name: name, kind: "(missing)"}}
	}
	var rows []secretRow
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return rows
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			continue
		}
		var sans []string
		for _, u := range c.URIs {
			sans = append(sans, u.String())
		}
		sans = append(sans, c.DNSNames...)
		rows = append(rows, secretRow{name: name, kind: kind, serial: c.SerialNumber.Text(16), sans: strings.Join(sans, ","),
			notBefore: c.NotBefore, notAfter: c.NotAfter})
	}
}

// printSecrets renders rows as istioctl's proxy-config secret does, with
// the subject alternative names (SPIFFE identities) last.
func printSecrets(w io.Writer, rows []secretRow, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 8, 5, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE NAME\tTYPE\tSTATUS\tVALID CERT\tSERIAL NUMBER\tNOT AFTER\tNOT BEFORE\tSUBJECT ALT NAMES")
	for _, r := range rows {
		if r.serial == "" {
			fmt.Fprintf(tw, "%s\t%s\tWARMING\tfalse\t\t\t\t\n", r.name, r.kind)
			continue
		}
		valid := !now.Before(r.notBefore) && now.Before(r.notAfter)
		fmt.Fprintf(tw, "%s\t%s\tACTIVE\t%t\t%s\t%s\t%s\t%s\n", r.name, r.kind, valid, r.serial,
			r.notAfter.UTC().Format(time.RFC3339), r.notBefore.UTC().Format(time.RFC3339), r.sans)
	}
	return tw.Flush()
}
