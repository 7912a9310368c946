package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/config/file"
	"github.com/lateenmesh/lateen/internal/config/validate"
	"github.com/lateenmesh/lateen/internal/demo"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type applyInput struct {
	path string
	objs []*config.Object
	docs [][]byte
}

// configFlags are the flags of apply and delete: the files and the
// directory they change (by default the running demo's).
func configFlags(env *Env, name string, args []string) (files []string, dir string, err error) {
	fs := newFlagSet(env, name)
	var fl stringList
	fs.Var(&fl, "f", "file of Istio YAML (repeatable; - for standard input)")
	fs.StringVar(&dir, "config-dir", "", "config directory to change (default: the running demo's)")
	stateDir := fs.String("state-dir", defaultStateDir(env), "state directory of the running demo")
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	if len(fl) == 0 || fs.NArg() > 0 {
		return nil, "", fmt.Errorf("usage: lateen %s -f FILE [-f FILE...] [--config-dir DIR]", name)
	}
	if dir == "" {
		st, err := demo.ReadState(*stateDir)
		if err != nil {
			return nil, "", fmt.Errorf("%w; or name the directory with --config-dir", err)
		}
		dir = st.ConfigDir
	}
	return fl, dir, nil
}

// readInputs decodes and validates every file; any problem stops the
// command before anything is written, each reported with its file,
// document, object and field.
func readInputs(env *Env, paths []string, check bool) ([]applyInput, error) {
	var inputs []applyInput
	var problems []string
	for _, p := range paths {
		data, err := readInput(env, p)
		if err != nil {
			return nil, err
		}
		objs, rejs := config.Decode(config.Origin{File: p}, data)
		for _, r := range rejs {
			problems = append(problems, r.Error())
		}
		for _, o := range objs {
			if !check {
				continue
			}
			if err := validate.Object(o); err != nil {
				problems = append(problems, (&config.Rejection{Origin: o.Origin, Key: o.Key(), Err: err}).Error())
			}
		}
		inputs = append(inputs, applyInput{path: p, objs: objs, docs: config.Documents(data)})
	}
	if len(problems) > 0 {
		for _, pr := range problems {
			fmt.Fprintln(env.Stderr, "error:", pr)
		}
		return nil, errors.New("nothing was changed")
	}
	return inputs, nil
}

func readInput(env *Env, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(env.Stdin)
	}
	return os.ReadFile(path)
}

func runApply(_ context.Context, env *Env, args []string) error {
	paths, dir, err := configFlags(env, "apply", args)
	if err != nil {
		return err
	}
	inputs, err := readInputs(env, paths, true)
	if err != nil {
		return err
	}
	for _, in := range inputs {
		changes, err := file.Apply(dir, in.objs, in.docs)
		for _, c := range changes {
			fmt.Fprintln(env.Stdout, c)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func runDelete(_ context.Context, env *Env, args []string) error {
	paths, dir, err := configFlags(env, "delete", args)
	if err != nil {
		return err
	}
	inputs, err := readInputs(env, paths, false)
	if err != nil {
		return err
	}
	for _, in := range inputs {
		keys := make([]config.Key, len(in.objs))
		for i, o := range in.objs {
			keys[i] = o.Key()
		}
		changes, err := file.Delete(dir, keys)
		for _, c := range changes {
			fmt.Fprintln(env.Stdout, c)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
