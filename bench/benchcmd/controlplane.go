package benchcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/lateenmesh/lateen/bench/controlplane"
	"github.com/lateenmesh/lateen/bench/report"
)

func controlplaneCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("lateen-bench controlplane", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, "bench/results")
	var o controlplane.Options
	proxies := fs.String("proxies", "100,500,1000", "simulated proxy counts, increasing, comma-separated")
	fs.IntVar(&o.Services, "services", 1000, "services in the mesh")
	fs.IntVar(&o.Endpoints, "endpoints", 10, "endpoints per service")
	fs.IntVar(&o.Namespaces, "namespaces", 10, "namespaces")
	fs.IntVar(&o.Scoped, "scoped", 5, "namespaces with a Sidecar narrowing them to themselves")
	fs.IntVar(&o.Reps, "reps", 2, "repetitions of each change per scale")
	fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "longest wait for one change to reach every proxy")
	fs.DurationVar(&o.Budget, "budget", 11*time.Minute, "time for the whole measurement; scales not reached are reported as not run")
	memLimit := fs.Int("memory-limit-mb", defaultMemoryLimitMB(),
		"stop when pilot and the simulated proxies use more resident memory (MiB; default: 60% of the machine's, at least 6144)")
	fs.BoolVar(&o.Preliminary, "preliminary", false, "mark the results as preliminary (implied by smaller settings)")
	fs.BoolVar(&o.Light, "light", false, "simulate proxies with a minimal ADS client that does not decode endpoints or routes (pilot's part alone)")
	render := fs.Bool("render", false, "only rewrite the page and charts in --out from its JSON file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *render {
		return controlplane.Render(c.outDir)
	}
	o.MemoryLimit = uint64(*memLimit) << 20
	var err error
	if o.Proxies, err = intList(*proxies); err != nil {
		return fmt.Errorf("--proxies: %w", err)
	}
	bin, log, cleanup, err := c.setup("controlplane", stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	// The simulated proxies hold every proxy's decoded configuration in
	// this one process: collect garbage sooner than Go's default, so that
	// the harness's own memory leaves room for pilot's.
	debug.SetGCPercent(50)
	o.Binaries, o.WorkDir, o.OutDir, o.Logger = bin, c.workDir, c.outDir, log
	o.Command = commandLine("controlplane", args)
	if _, err := controlplane.Run(ctx, o); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "lateen-bench controlplane: wrote %s/%s\n", c.outDir, controlplane.PageFile)
	return nil
}

// defaultMemoryLimitMB is 60% of the machine's memory, at least 6 GiB: a
// thousand simulated proxies that decode everything, as lateen-proxy
// does, hold about 10 GB.
func defaultMemoryLimitMB() int {
	return max(6<<10, report.Describe().MemoryGB*1024*6/10)
}
