package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"sync"
	"time"
)

// fileCache serves certificates read from files (DestinationRule MUTUAL
// clientCertificate/privateKey, caCertificates: Istio's file-cert: and
// file-root: secrets). A file is read again when its size or modification
// time changes, so rotated files apply to the next handshake; a file that
// becomes unreadable keeps its last good content.
type fileCache struct {
	mu      sync.Mutex
	entries map[string]*fileEntry // by the files' paths
}

type fileEntry struct {
	stamps [2]stamp
	value  any // *tls.Certificate or *x509.CertPool
	err    error
}

type stamp struct {
	size int64
	mod  time.Time
}

func newFileCache() *fileCache { return &fileCache{entries: map[string]*fileEntry{}} }

func (f *fileCache) keyPair(certFile, keyFile string) (*tls.Certificate, error) {
	v, err := f.get([]string{certFile, keyFile}, func() (any, error) {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		return &c, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*tls.Certificate), nil
}

func (f *fileCache) roots(caFile string) (*x509.CertPool, error) {
	v, err := f.get([]string{caFile}, func() (any, error) {
		data, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, errors.New("no PEM certificate in " + caFile)
		}
		return pool, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*x509.CertPool), nil
}

// get returns the cached value of files, loading it again when one of
// them changed; a failed load keeps the last good value.
func (f *fileCache) get(files []string, load func() (any, error)) (any, error) {
	key := strings.Join(files, "\x00")
	f.mu.Lock()
	e := f.entries[key]
	f.mu.Unlock()
	var now [2]stamp
	for i, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			if e != nil && e.err == nil {
				return e.value, nil
			}
			return nil, err
		}
		now[i] = stamp{size: fi.Size(), mod: fi.ModTime()}
	}
	if e != nil && e.stamps == now {
		return e.value, e.err
	}
	v, err := load()
	if err != nil && e != nil && e.err == nil {
		return e.value, nil
	}
	f.mu.Lock()
	f.entries[key] = &fileEntry{stamps: now, value: v, err: err}
	f.mu.Unlock()
	return v, err
}
