package benchcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/lateenmesh/lateen/bench/dataplane"
)

func dataplaneCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("lateen-bench dataplane", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, "bench/results")
	o := dataplane.Defaults()
	only := fs.String("only", "", "comma-separated topologies to run besides direct (default: all)")
	proxyArgs := fs.String("proxy-args", "", "extra lateen-proxy flags for every Lateen topology, space-separated (experiments, e.g. '--concurrency 1')")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "fixed rate, requests per second")
	fs.IntVar(&o.Conns, "conns", o.Conns, "connections (and concurrent gRPC callers)")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "unrecorded warm-up before each window")
	fs.DurationVar(&o.Window, "window", o.Window, "HTTP fixed-rate window per round")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "HTTP fixed-rate rounds")
	fs.DurationVar(&o.SatWindow, "sat-window", o.SatWindow, "saturation window per round")
	fs.IntVar(&o.SatRounds, "sat-rounds", o.SatRounds, "saturation rounds")
	fs.DurationVar(&o.GRPCWindow, "grpc-window", o.GRPCWindow, "gRPC fixed-rate window per round")
	fs.IntVar(&o.GRPCRounds, "grpc-rounds", o.GRPCRounds, "gRPC fixed-rate rounds")
	fs.BoolVar(&o.Preliminary, "preliminary", false, "mark the results as preliminary (implied by smaller settings)")
	render := fs.Bool("render", false, "only rewrite the page and charts in --out from its JSON file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *render {
		return dataplane.Render(c.outDir)
	}
	o.ProxyArgs = strings.Fields(*proxyArgs)
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	bin, log, cleanup, err := c.setup("dataplane", stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	o.Binaries, o.WorkDir, o.OutDir, o.Logger = bin, c.workDir, c.outDir, log
	o.Command = commandLine("dataplane", args)
	res, err := dataplane.Run(ctx, o)
	if err != nil {
		return err
	}
	for _, t := range res.Topologies {
		log.Info("topology", "component", "bench", "name", t.Name, "status", t.Status, "reason", t.Reason)
	}
	fmt.Fprintf(stderr, "lateen-bench dataplane: wrote %s/%s\n", c.outDir, dataplane.PageFile)
	return nil
}
