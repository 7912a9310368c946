package authn

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/lateenmesh/lateen/internal/spiffe"
)

func withToken(token string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
}

func TestTokens(t *testing.T) {
	a, _ := NewToken()
	b, _ := NewToken()
	if a == b || len(a) < 40 {
		t.Fatalf("tokens %q and %q: want distinct random tokens", a, b)
	}
	file := filepath.Join(t.TempDir(), "tokens")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# comment\n\n" + TokenLine(a, "default", "sleep"))
	tokens := NewTokens(file, "")
	id, err := tokens.Authenticate(withToken(a))
	if err != nil || id != (spiffe.Identity{TrustDomain: "cluster.local", Namespace: "default", ServiceAccount: "sleep"}) {
		t.Fatalf("Authenticate(a) = %v, %v", id, err)
	}
	if _, err := tokens.Authenticate(withToken(b)); err == nil || errors.Is(err, ErrNoCredentials) {
		t.Fatalf("Authenticate(b) = %v, want a refusal", err)
	}
	if _, err := tokens.Authenticate(context.Background()); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("no metadata: %v, want ErrNoCredentials", err)
	}
	bad := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Basic xyz"))
	if _, err := tokens.Authenticate(bad); err == nil || errors.Is(err, ErrNoCredentials) {
		t.Fatalf("Basic credentials: %v, want a refusal", err)
	}
	// The file is read again when it changes: b is added with another identity.
	write(TokenLine(a, "default", "sleep") + TokenLine(b, "istio-system", "istio-ingressgateway-service-account") + "# more\n")
	if id, err := tokens.Authenticate(withToken(b)); err != nil || id.NamespacedName() != "istio-system/istio-ingressgateway-service-account" {
		t.Fatalf("after the file changed: %v, %v", id, err)
	}
	for name, content := range map[string]string{
		"short hash":  "abcd default/sleep\n",
		"no identity": strings.Repeat("ab", 32) + "\n",
		"bad name":    strings.Repeat("ab", 32) + " default\n",
	} {
		if _, err := parseTokenFile([]byte(content), "cluster.local"); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

type fixed struct {
	id  spiffe.Identity
	err error
}

func (f fixed) Authenticate(context.Context) (spiffe.Identity, error) { return f.id, f.err }

func TestChain(t *testing.T) {
	sleep := spiffe.Identity{TrustDomain: "cluster.local", Namespace: "default", ServiceAccount: "sleep"}
	none := fixed{err: ErrNoCredentials}
	for _, tc := range []struct {
		name    string
		chain   Chain
		want    spiffe.Identity
		wantErr string
	}{
		{"first that succeeds", Chain{none, fixed{id: sleep}, fixed{err: errors.New("never asked")}}, sleep, ""},
		{"invalid credential reported", Chain{fixed{err: errors.New("bad token")}, none}, spiffe.Identity{}, "bad token"},
		{"invalid credential, then a valid one", Chain{fixed{err: errors.New("bad token")}, fixed{id: sleep}}, sleep, ""},
		{"nothing presented", Chain{none, none}, spiffe.Identity{}, "no credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := tc.chain.Authenticate(context.Background())
			if id != tc.want || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, %v; want %v, %q", id, err, tc.want, tc.wantErr)
			}
		})
	}
}
