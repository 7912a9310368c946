package benchcmd

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/lateenmesh/lateen/bench/memory"
)

func memoryCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("lateen-bench memory", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, "bench/results")
	var o memory.Options
	sizes := fs.String("services", "10,100,1000,5000", "mesh sizes, comma-separated")
	fs.IntVar(&o.Endpoints, "endpoints", 3, "endpoints per service")
	fs.IntVar(&o.PerNamespace, "per-namespace", 10, "services per namespace (what the narrowed proxy sees)")
	fs.DurationVar(&o.Settle, "settle", 10e9, "how long memory is sampled once the proxies are in sync")
	fs.BoolVar(&o.Preliminary, "preliminary", false, "mark the results as preliminary (implied by smaller settings)")
	render := fs.Bool("render", false, "only rewrite the page and charts in --out from its JSON file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *render {
		return memory.Render(c.outDir)
	}
	var err error
	if o.Sizes, err = intList(*sizes); err != nil {
		return fmt.Errorf("--services: %w", err)
	}
	bin, log, cleanup, err := c.setup("memory", stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	o.Binaries, o.WorkDir, o.OutDir, o.Logger = bin, c.workDir, c.outDir, log
	o.Command = commandLine("memory", args)
	if _, err := memory.Run(ctx, o); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "lateen-bench memory: wrote %s/%s\n", c.outDir, memory.PageFile)
	return nil
}
