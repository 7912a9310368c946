// Package sleep reproduces Istio's "sleep" (a.k.a. "curl") sample: a pod
// that serves nothing and only exists so that requests can be sent from
// inside the mesh. Run simply waits for its context to end.
package sleep

import (
	"context"
	"log/slog"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

// Options configures the sleep client.
type Options struct {
	// Addr is accepted for uniformity with the other samples and ignored.
	Addr string
	// Logger receives start and stop messages; nil discards them.
	Logger *slog.Logger
}

// Run blocks until ctx is cancelled and then returns nil.
func Run(ctx context.Context, opts Options) error {
	l := appkit.Logger(opts.Logger).With("app", "sleep")
	l.Info("sleeping until stopped")
	<-ctx.Done()
	l.Info("stopped")
	return nil
}
