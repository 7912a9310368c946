package capture

import (
	"fmt"
	"slices"
	"strings"
)

// savedTable is what iptables-save reports about one table that matters to
// us: the own chains that exist and the rules of other chains (PREROUTING,
// OUTPUT, ...) that jump to them, as "-A CHAIN ..." lines.
type savedTable struct {
	chains []string
	jumps  []string
}

// parseSave reads iptables-save output, returning the tables in the order
// they appear.
func parseSave(out string) (names []string, tables map[string]*savedTable) {
	tables = map[string]*savedTable{}
	var cur *savedTable
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "*"):
			name := strings.TrimPrefix(line, "*")
			cur = &savedTable{}
			tables[name] = cur
			names = append(names, name)
		case cur == nil:
		case strings.HasPrefix(line, ":"):
			if c, _, _ := strings.Cut(line[1:], " "); ownChains[c] {
				cur.chains = append(cur.chains, c)
			}
		case strings.HasPrefix(line, "-A "):
			f := strings.Fields(line)
			if len(f) > 1 && !ownChains[f[1]] && ownChains[jumpTarget(f)] {
				cur.jumps = append(cur.jumps, line)
			}
		}
	}
	return names, tables
}

// jumpTarget returns the chain a rule's fields jump (-j) or go (-g) to.
func jumpTarget(fields []string) string {
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] == "-j" || fields[i] == "-g" || fields[i] == "--jump" || fields[i] == "--goto" {
			return fields[i+1]
		}
	}
	return ""
}

// restoreInput returns iptables-restore --noflush input that turns the
// current state (iptables-save output) into want, touching nothing else:
// per table it declares (so creates or flushes) the wanted chains and the
// own chains that exist, deletes the jumps to own chains from other chains,
// deletes own chains no longer wanted, then appends the wanted rules, all in
// one transaction. With want empty it is the cleanup; with an empty state it
// is Rules' output.
func restoreInput(want []*table, saved string) string {
	names, state := parseSave(saved)
	order := make([]string, 0, len(want)+len(names))
	byName := map[string]*table{}
	for _, t := range want {
		order = append(order, t.name)
		byName[t.name] = t
	}
	for _, n := range names {
		if st := state[n]; byName[n] == nil && (len(st.chains) > 0 || len(st.jumps) > 0) {
			order = append(order, n)
		}
	}
	var b strings.Builder
	for _, n := range order {
		t := byName[n]
		if t == nil {
			t = &table{name: n}
		}
		st := state[n]
		if st == nil {
			st = &savedTable{}
		}
		writeTable(&b, t, st)
	}
	return b.String()
}

func writeTable(b *strings.Builder, t *table, st *savedTable) {
	var stale []string
	for _, c := range st.chains {
		if !slices.Contains(t.chains, c) {
			stale = append(stale, c)
		}
	}
	fmt.Fprintf(b, "*%s\n", t.name)
	for _, c := range slices.Concat(t.chains, stale) {
		fmt.Fprintf(b, ":%s - [0:0]\n", c)
	}
	for _, j := range st.jumps {
		fmt.Fprintf(b, "-D %s\n", strings.TrimPrefix(j, "-A "))
	}
	for _, c := range stale {
		fmt.Fprintf(b, "-X %s\n", c)
	}
	for _, r := range t.rules {
		fmt.Fprintf(b, "-A %s\n", r)
	}
	b.WriteString("COMMIT\n")
}

// render writes tables as iptables-restore input for a namespace without
// any of our chains.
func render(tables []*table) string { return restoreInput(tables, "") }

// ownState returns the own chains and jumps in iptables-save output, one per
// line ("TABLE :CHAIN" and "TABLE -A ..."), for tests and logs.
func ownState(saved string) []string {
	names, state := parseSave(saved)
	var out []string
	for _, n := range names {
		for _, c := range state[n].chains {
			out = append(out, n+" :"+c)
		}
		for _, j := range state[n].jumps {
			out = append(out, n+" "+j)
		}
	}
	return out
}
