package appkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxBody caps how much of an upstream response is read.
const maxBody = 4 << 20

// NewClient returns an HTTP client for outbound calls. Its transport takes
// the proxy from the environment (HTTP_PROXY, NO_PROXY ...), which is how
// the mesh routes application traffic through the sidecar.
func NewClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	return &http.Client{Transport: tr}
}

// StatusError reports an upstream answer other than 200 OK.
type StatusError struct {
	URL    string
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: unexpected status %d", e.URL, e.Status)
}

// Fetch issues GET url with the given headers, making at most attempts
// tries, each bounded by timeout. Only transport failures (including
// timeouts) are retried; an HTTP answer other than 200 is returned at once
// as a *StatusError. On success it returns the response body.
func Fetch(ctx context.Context, c *http.Client, url string, hdr http.Header, timeout time.Duration, attempts int) ([]byte, error) {
	if attempts < 1 {
		attempts = 1
	}
	var err error
	for range attempts {
		var body []byte
		body, err = fetchOnce(ctx, c, url, hdr, timeout)
		var se *StatusError
		if err == nil || errors.As(err, &se) || ctx.Err() != nil {
			return body, err
		}
	}
	return nil, err
}

func fetchOnce(ctx context.Context, c *http.Client, url string, hdr http.Header, timeout time.Duration) ([]byte, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{URL: url, Status: resp.StatusCode}
	}
	return body, nil
}
