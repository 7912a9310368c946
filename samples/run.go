// Package samples runs the sample applications the Lateen demo deploys:
// Go re-implementations of Istio's Bookinfo services (productpage, details,
// reviews, ratings), httpbin, sleep and tcp-echo.
package samples

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lateenmesh/lateen/samples/bookinfo/details"
	"github.com/lateenmesh/lateen/samples/bookinfo/productpage"
	"github.com/lateenmesh/lateen/samples/bookinfo/ratings"
	"github.com/lateenmesh/lateen/samples/bookinfo/reviews"
	"github.com/lateenmesh/lateen/samples/httpbin"
	"github.com/lateenmesh/lateen/samples/sleep"
	"github.com/lateenmesh/lateen/samples/tcpecho"
)

// runner parses an app's flags and returns the function that runs it.
type runner func(fs *flag.FlagSet, args []string, log *slog.Logger) (func(context.Context) error, error)

var apps = []struct {
	name string
	run  runner
}{
	{"productpage", productpageApp},
	{"details", detailsApp},
	{"reviews", reviewsApp},
	{"ratings", ratingsApp},
	{"httpbin", httpbinApp},
	{"sleep", sleepApp},
	{"tcp-echo", tcpechoApp},
}

// Apps returns the names of the sample applications Run knows.
func Apps() []string {
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = a.name
	}
	return names
}

// Run starts the sample app named app with the command-line flags in args,
// logging to stdout, and returns once ctx is cancelled and the app has shut
// down. An unknown app or bad flags are reported as errors.
func Run(ctx context.Context, app string, args []string, stdout io.Writer) error {
	for _, a := range apps {
		if a.name != app {
			continue
		}
		fs := flag.NewFlagSet(app, flag.ContinueOnError)
		fs.SetOutput(stdout)
		log := slog.New(slog.NewTextHandler(stdout, nil))
		run, err := a.run(fs, args, log)
		if err != nil {
			return err
		}
		return run(ctx)
	}
	return fmt.Errorf("unknown sample app %q (valid: %s)", app, strings.Join(Apps(), ", "))
}

// parse parses args and rejects positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

func productpageApp(fs *flag.FlagSet, args []string, log *slog.Logger) (func(context.Context) error, error) {
	o := productpage.Options{Logger: log}
	fs.StringVar(&o.Addr, "addr", ":9080", "listen address (host:port)")
	fs.StringVar(&o.DetailsURL, "details-url", productpage.DefaultDetailsURL, "details service base URL")
	fs.StringVar(&o.ReviewsURL, "reviews-url", productpage.DefaultReviewsURL, "reviews service base URL")
	fs.StringVar(&o.RatingsURL, "ratings-url", productpage.DefaultRatingsURL, "ratings service base URL")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return productpage.Run(ctx, o) }, nil
}

func detailsApp(fs *flag.FlagSet, args []string, log *slog.Logger) (func(context.Context) error, error) {
	o := details.Options{Logger: log}
	fs.StringVar(&o.Addr, "addr", ":9080", "listen address (host:port)")
	fs.StringVar(&o.PodName, "pod-name", "", "instance name (optional)")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return details.Run(ctx, o) }, nil
}

func ratingsApp(fs *flag.FlagSet, args []string, log *slog.Logger) (func(context.Context) error, error) {
	o := ratings.Options{Logger: log}
	fs.StringVar(&o.Addr, "addr", ":9080", "listen address (host:port)")
	fs.StringVar(&o.PodName, "pod-name", "", "instance name (optional)")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return ratings.Run(ctx, o) }, nil
}

func reviewsApp(fs *flag.FlagSet, args []string, log *slog.Logger) (func(context.Context) error, error) {
	o := reviews.Options{Logger: log}
	fs.StringVar(&o.Addr, "addr", ":9080", "listen address (host:port)")
	fs.StringVar(&o.Version, "version", "v1", "reviews version: v1, v2 or v3")
	fs.StringVar(&o.PodName, "pod-name", "", "pod name reported to callers (default reviews-<version>-<random>)")
	fs.StringVar(&o.ClusterName, "cluster-name", "null", "cluster name reported to callers")
	fs.StringVar(&o.RatingsURL, "ratings-url", reviews.DefaultRatingsURL, "ratings service base URL")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return reviews.Run(ctx, o) }, nil
}

func httpbinApp(fs *flag.FlagSet, args []string, log *slog.Logger) (func(context.Context) error, error) {
	o := httpbin.Options{Logger: log}
	fs.StringVar(&o.Addr, "addr", ":8000", "listen address (host:port)")
	fs.StringVar(&o.Version, "version", "v1", "version label (informational)")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return httpbin.Run(ctx, o) }, nil
}

func sleepApp(fs *flag.FlagSet, args []string, log *slog.Logger) (func(context.Context) error, error) {
	o := sleep.Options{Logger: log}
	fs.StringVar(&o.Addr, "addr", "", "ignored; sleep serves nothing")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return sleep.Run(ctx, o) }, nil
}

func tcpechoApp(fs *flag.FlagSet, args []string, log *slog.Logger) (func(context.Context) error, error) {
	o := tcpecho.Options{Logger: log}
	fs.StringVar(&o.Addr, "addr", ":9000", "listen address (host:port)")
	fs.StringVar(&o.Prefix, "prefix", "hello", "prefix put before every echoed line")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return tcpecho.Run(ctx, o) }, nil
}
