package authn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/lateenmesh/lateen/internal/spiffe"
)

// Tokens authenticates bootstrap tokens (gRPC metadata "authorization:
// Bearer <token>") against a file of their SHA-256 hashes, one per line:
//
//	# sha256(token), hex         namespace/serviceAccount
//	3f5a...c2                    default/bookinfo-reviews
//
// Pilot never sees the tokens themselves, and a token proves only the one
// identity its line names, so one workload cannot obtain another's
// identity. The file is read again when it changes.
type Tokens struct {
	file        string
	trustDomain string

	mu      sync.Mutex
	stamp   fileStamp
	entries []tokenEntry
}

type tokenEntry struct {
	hash [sha256.Size]byte
	id   spiffe.Identity
}

type fileStamp struct {
	mod  time.Time
	size int64
}

var _ Authenticator = (*Tokens)(nil)

// NewTokens returns a token authenticator for file; it does no I/O.
func NewTokens(file, trustDomain string) *Tokens {
	if trustDomain == "" {
		trustDomain = spiffe.DefaultTrustDomain
	}
	return &Tokens{file: file, trustDomain: trustDomain}
}

// Authenticate implements Authenticator.
func (t *Tokens) Authenticate(ctx context.Context) (spiffe.Identity, error) {
	token, err := bearerToken(ctx)
	if err != nil {
		return spiffe.Identity{}, err
	}
	entries, err := t.load()
	if err != nil {
		return spiffe.Identity{}, err
	}
	sum := sha256.Sum256([]byte(token))
	match := -1
	for i, e := range entries { // no early exit: the time taken does not depend on which entry matches
		if subtle.ConstantTimeCompare(sum[:], e.hash[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return spiffe.Identity{}, errors.New("bootstrap token not recognised")
	}
	return entries[match].id, nil
}

func bearerToken(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return "", ErrNoCredentials
	}
	token, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return "", errors.New(`authorization metadata: want "Bearer <token>"`)
	}
	return strings.TrimSpace(token), nil
}

// load returns the entries, reading the file again when its size or
// modification time changed.
func (t *Tokens) load() ([]tokenEntry, error) {
	st, err := os.Stat(t.file)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	stamp := fileStamp{st.ModTime(), st.Size()}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries != nil && stamp == t.stamp {
		return t.entries, nil
	}
	data, err := os.ReadFile(t.file)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	entries, err := parseTokenFile(data, t.trustDomain)
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", t.file, err)
	}
	t.entries, t.stamp = entries, stamp
	return entries, nil
}

func parseTokenFile(data []byte, trustDomain string) ([]tokenEntry, error) {
	entries := []tokenEntry{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d: want <sha256-hex> <namespace>/<serviceAccount>", n)
		}
		var e tokenEntry
		if h, err := hex.DecodeString(fields[0]); err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("line %d: %q is not a hex SHA-256", n, fields[0])
		} else {
			copy(e.hash[:], h)
		}
		id, err := spiffe.ParseNamespacedName(trustDomain, fields[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		e.id = id
		entries = append(entries, e)
	}
	return entries, sc.Err()
}

// NewToken returns a random bootstrap token (256 bits, URL-safe base64).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// TokenLine formats the token file line that grants token the identity
// namespace/serviceAccount.
func TokenLine(token, namespace, serviceAccount string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:]) + " " + namespace + "/" + serviceAccount + "\n"
}
