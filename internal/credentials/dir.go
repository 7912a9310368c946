package credentials

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// File names of a credential directory: a Kubernetes TLS Secret's keys,
// or Istio's generic Secret keys.
var (
	certFiles = []string{"tls.crt", "cert"}
	keyFiles  = []string{"tls.key", "key"}
	caFiles   = []string{"ca.crt", "cacert"}
)

// DirOptions configure a Dir.
type DirOptions struct {
	// Path holds <namespace>/<name>/{tls.crt,tls.key,ca.crt}.
	Path string
	// Interval paces the checks for changes (default 2s).
	Interval time.Duration
	Logger   *slog.Logger
}

// Dir reads credentials from a directory.
type Dir struct {
	opts DirOptions
	log  *slog.Logger
}

// NewDir returns a directory source; it does no I/O.
func NewDir(opts DirOptions) *Dir {
	if opts.Interval <= 0 {
		opts.Interval = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dir{opts: opts, log: opts.Logger.With("component", "credentials")}
}

// Load reads every credential. A directory that does not exist holds
// none; a credential directory without any known file is skipped; one
// that is invalid (a certificate without its key) is left out and
// reported in problems.
func (d *Dir) Load() (set *Set, problems []error, err error) {
	namespaces, err := os.ReadDir(d.opts.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return NewSet(nil), nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("credentials: %w", err)
	}
	var creds []*Credential
	for _, ns := range namespaces {
		if !ns.IsDir() {
			continue
		}
		names, err := os.ReadDir(filepath.Join(d.opts.Path, ns.Name()))
		if err != nil {
			return nil, nil, fmt.Errorf("credentials: %w", err)
		}
		for _, n := range names {
			if !n.IsDir() {
				continue
			}
			c, err := readCredential(filepath.Join(d.opts.Path, ns.Name(), n.Name()))
			if err != nil {
				problems = append(problems, fmt.Errorf("credential %s/%s: %w", ns.Name(), n.Name(), err))
				continue
			}
			if c != nil {
				c.Namespace, c.Name = ns.Name(), n.Name()
				creds = append(creds, c)
			}
		}
	}
	return NewSet(creds), problems, nil
}

func readCredential(dir string) (*Credential, error) {
	c := &Credential{}
	for _, f := range []struct {
		names []string
		dst   *[]byte
	}{{certFiles, &c.Cert}, {keyFiles, &c.Key}, {caFiles, &c.CA}} {
		for _, name := range f.names {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			*f.dst = data
			break
		}
	}
	if c.Cert == nil && c.Key == nil && c.CA == nil {
		return nil, nil
	}
	if (c.Cert == nil) != (c.Key == nil) {
		return nil, errors.New("a certificate needs its key (tls.crt and tls.key)")
	}
	return c, nil
}

// Run loads the directory, publishes the set, then checks for changes
// every Interval and publishes each new content until ctx is done. A
// failed read is logged and the last good set keeps serving.
func (d *Dir) Run(ctx context.Context, publish func(*Set)) error {
	last := ""
	check := func() {
		s, problems, err := d.Load()
		if err != nil {
			d.log.Warn("reading credentials; keeping the last good ones", "dir", d.opts.Path, "error", err)
			return
		}
		if s.Version() == last {
			return
		}
		last = s.Version()
		for _, p := range problems {
			d.log.Warn("credential left out", "error", p)
		}
		d.log.Info("credentials loaded", "dir", d.opts.Path, "count", s.Len())
		publish(s)
	}
	check()
	t := time.NewTicker(d.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			check()
		}
	}
}
