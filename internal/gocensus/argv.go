package gocensus

import (
	"path"
	"path/filepath"
	"strings"
)

// ValueFlags are the go test flags that take their value as the next
// argument when written without "=": that argument is not a package
// pattern.
var ValueFlags = map[string]bool{
	"run": true, "skip": true, "timeout": true, "tags": true, "p": true, "count": true,
	"cpu": true, "parallel": true, "coverprofile": true, "coverpkg": true, "covermode": true,
	"bench": true, "benchtime": true, "exec": true, "o": true, "list": true, "shuffle": true,
	"vet": true, "mod": true, "modfile": true, "overlay": true, "pkgdir": true, "ldflags": true,
	"gcflags": true, "asmflags": true, "C": true, "fuzz": true, "fuzztime": true, "fuzzminimizetime": true,
	"outputdir": true, "memprofile": true, "cpuprofile": true, "blockprofile": true,
	"mutexprofile": true, "trace": true, "benchmem": false, "failfast": false,
}

// Selection is what a `go test` command line selects.
type Selection struct {
	Dir      string   // -C: where go runs, slash-separated, relative to the tree; "" is the root
	Patterns []string // package patterns; empty means "."
	Run      string   // -run; "" runs every test
	Skip     string   // -skip
	Tags     []string // -tags
	List     bool     // -list: the binary lists tests and runs none
	Failfast bool     // -failfast: tests after the first failure do not run
	Env      map[string]string
}

// Flag is one flag of a go test argv: its name without dashes, its value
// and where it sits.
type Flag struct {
	Name, Value string
	At          int // index in argv of the flag itself
}

// GoTest splits a `go [-C dir] test [flags] [packages] [-args ...]` argv.
// ok is false when argv is not such a command (another program, a script,
// go vet): then nothing about the tests it runs can be known.
func GoTest(argv []string) (testAt int, flags []Flag, pkgs []string, ok bool) {
	if len(argv) < 2 || strings.TrimSuffix(filepath.Base(argv[0]), ".exe") != "go" {
		return 0, nil, nil, false
	}
	testAt = -1
	for i := 1; i < len(argv) && testAt < 0; i++ {
		switch a := argv[i]; {
		case a == "test":
			testAt = i
		case a == "-C" && i+1 < len(argv):
			flags = append(flags, Flag{Name: "C", Value: argv[i+1], At: i})
			i++
		case strings.HasPrefix(a, "-C="):
			flags = append(flags, Flag{Name: "C", Value: a[3:], At: i})
		default:
			return 0, nil, nil, false
		}
	}
	if testAt < 0 {
		return 0, nil, nil, false
	}
	for i := testAt + 1; i < len(argv); i++ {
		a := argv[i]
		if a == "-args" || a == "--args" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			pkgs = append(pkgs, a)
			continue
		}
		name, value, hasEq := strings.Cut(strings.TrimLeft(a, "-"), "=")
		name = strings.TrimPrefix(name, "test.")
		f := Flag{Name: name, Value: value, At: i}
		if !hasEq && ValueFlags[name] && i+1 < len(argv) {
			i++
			f.Value = argv[i]
		}
		flags = append(flags, f)
	}
	return testAt, flags, pkgs, true
}

// ParseGoTest reads argv, with the suite's extra environment env (GOFLAGS,
// GOOS, GOARCH), as a go test command. why is not empty when it is not one.
func ParseGoTest(argv []string, env map[string]string) (sel Selection, why string) {
	_, flags, pkgs, ok := GoTest(argv)
	if !ok {
		return sel, "the command is not `go test ...`, so the tests it runs cannot be listed"
	}
	sel.Patterns, sel.Env = pkgs, env
	// GOFLAGS first: the command line overrides it.
	var all []Flag
	for _, f := range strings.Fields(env["GOFLAGS"]) {
		name, value, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		all = append(all, Flag{Name: strings.TrimPrefix(name, "test."), Value: value})
	}
	for _, f := range append(all, flags...) {
		switch f.Name {
		case "C":
			sel.Dir = path.Clean(filepath.ToSlash(f.Value))
		case "run":
			sel.Run = f.Value
		case "skip":
			sel.Skip = f.Value
		case "tags":
			sel.Tags = strings.FieldsFunc(f.Value, func(r rune) bool { return r == ',' || r == ' ' })
		case "list":
			sel.List = true
		case "failfast":
			sel.Failfast = f.Value == "" || f.Value == "true"
		}
	}
	if sel.Dir == "." {
		sel.Dir = ""
	}
	if strings.HasPrefix(sel.Dir, "/") || sel.Dir == ".." || strings.HasPrefix(sel.Dir, "../") {
		return sel, "go -C " + sel.Dir + " runs outside the tree"
	}
	return sel, ""
}

// NoCache returns argv with -count=1 after `test` when argv is a go test
// command without a -count of its own: go test answers a repeated run from
// its cache, and a cached result is not a run. Any explicit -count already
// turns the cache off. Other commands are returned unchanged.
func NoCache(argv []string) []string {
	testAt, flags, _, ok := GoTest(argv)
	if !ok {
		return argv
	}
	for _, f := range flags {
		if f.Name == "count" {
			return argv
		}
	}
	out := append([]string{}, argv[:testAt+1]...)
	out = append(out, "-count=1")
	return append(out, argv[testAt+1:]...)
}

// NoCacheGOFLAGS returns the GOFLAGS value that also turns go's test cache
// off for go test commands run by a script or a make target, where argv
// cannot be rewritten; other go commands ignore the flag.
func NoCacheGOFLAGS(goflags string) string {
	for _, f := range strings.Fields(goflags) {
		if n := strings.TrimLeft(f, "-"); n == "count" || strings.HasPrefix(n, "count=") {
			return goflags
		}
	}
	return strings.TrimSpace(goflags + " -count=1")
}
