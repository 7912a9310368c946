package dataplane

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/lateenmesh/lateen/internal/ca"
	"github.com/lateenmesh/lateen/internal/ca/authn"
)

// identities gives a Lateen pair workload identities as `lateen demo`
// does: a root CA that pilot loads from its directory, and one bootstrap
// token per workload, which pilot trusts through a file of token hashes.
type identities struct {
	dir string
}

func (id identities) caDir() string                { return filepath.Join(id.dir, "ca") }
func (id identities) tokenHashes() string          { return filepath.Join(id.dir, "tokens") }
func (id identities) tokenFile(name string) string { return filepath.Join(id.dir, name+".token") }

// provision writes the root and a token for each workload (namespace
// "bench", service account = workload name).
func (id identities) provision(workloads ...string) error {
	c, err := ca.New(ca.Options{Dir: id.caDir()})
	if err != nil {
		return fmt.Errorf("dataplane: identities: %w", err)
	}
	if err := c.Load(); err != nil {
		return fmt.Errorf("dataplane: identities: %w", err)
	}
	var hashes strings.Builder
	for _, w := range workloads {
		token, err := authn.NewToken()
		if err != nil {
			return err
		}
		if err := os.WriteFile(id.tokenFile(w), []byte(token+"\n"), 0o600); err != nil {
			return fmt.Errorf("dataplane: identities: %w", err)
		}
		hashes.WriteString(authn.TokenLine(token, "bench", w))
	}
	return os.WriteFile(id.tokenHashes(), []byte(hashes.String()), 0o600)
}

// pilotArgs run pilot's CA (on pilotIP:15012) with the provisioned root.
func (id identities) pilotArgs(pilotIP string) []string {
	return []string{"--secure-address", net.JoinHostPort(pilotIP, "15012"),
		"--ca-dir", id.caDir(), "--workload-tokens", id.tokenHashes()}
}

// proxyArgs get the workload's certificate from pilot's CA.
func (id identities) proxyArgs(pilotIP, workload string) []string {
	return []string{"--ca-address", net.JoinHostPort(pilotIP, "15012"),
		"--root-cert", filepath.Join(id.caDir(), ca.RootCertFile), "--token-file", id.tokenFile(workload)}
}
