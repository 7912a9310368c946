package validate

import (
	"sync"

	celgo "cel.dev/cel-go/cel"
)

// celRoots are the attribute roots telemetry expressions may read; keep in
// sync with internal/proxy/telemetry/cel.Roots (cel_test.go checks).
var celRoots = []string{"request", "response", "source", "destination", "connection", "upstream", "xds",
	"node", "downstream_peer", "upstream_peer"}

var celEnv = sync.OnceValues(func() (*celgo.Env, error) {
	opts := make([]celgo.EnvOption, 0, len(celRoots))
	for _, r := range celRoots {
		opts = append(opts, celgo.Variable(r, celgo.DynType))
	}
	return celgo.NewEnv(opts...)
})

// checkCEL reports an expression that does not compile over Istio's
// attributes (Telemetry tag override values, access log filters).
func checkCEL(c *checker, p path, expr string) {
	env, err := celEnv()
	if err != nil {
		c.errorf(p, "CEL environment: %v", err)
		return
	}
	if _, iss := env.Compile(expr); iss.Err() != nil {
		c.errorf(p, "invalid CEL expression: %v", iss.Err())
	}
}
