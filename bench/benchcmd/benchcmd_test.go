package benchcmd

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
)

func TestMainUsage(t *testing.T) {
	var out bytes.Buffer
	if err := Main(context.Background(), nil, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("no command: %v", err)
	}
	for _, name := range []string{"dataplane", "memory", "controlplane"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("usage lacks %s:\n%s", name, out.String())
		}
	}
	if err := Main(context.Background(), []string{"nope"}, &out); err == nil {
		t.Fatal("unknown command accepted")
	}
	if err := Main(context.Background(), []string{"memory", "--services", "10,x"}, &out); err == nil {
		t.Fatal("bad --services accepted")
	}
}

func TestIntList(t *testing.T) {
	got, err := intList("10, 100,1000")
	if err != nil || !slices.Equal(got, []int{10, 100, 1000}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", "0", "1,-2", "a"} {
		if _, err := intList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
