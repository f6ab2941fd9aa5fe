// Command table prints the adversarial suite as a markdown table: every
// TestAttack function in the repository with the `// attack:` line above
// it, grouped by package. `make attacks` writes docs/ATTACKS.md with it.
package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type attack struct{ pkg, name, what, outcome string }

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	var all []attack
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "testdata") {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, "_test.go") {
			found, err := scan(p)
			all = append(all, found...)
			return err
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "table:", err)
		os.Exit(1)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].pkg < all[j].pkg })
	fmt.Printf("| # | package | test | attack | outcome |\n|---|---|---|---|---|\n")
	for i, a := range all {
		fmt.Printf("| %d | %s | %s | %s | %s |\n", i+1, a.pkg, a.name, esc(a.what), esc(a.outcome))
	}
	fmt.Printf("\n%d attacks.\n", len(all))
}

// scan finds `// attack: what -> outcome` comments directly above a func
// TestAttack declaration; the comment may go on over several lines.
func scan(path string) ([]attack, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []attack
	var pending string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "// attack:"):
			pending = strings.TrimSpace(strings.TrimPrefix(line, "// attack:"))
		case strings.HasPrefix(line, "//") && pending != "":
			pending += " " + strings.TrimSpace(strings.TrimPrefix(line, "//"))
		case strings.HasPrefix(line, "//"):
		case strings.HasPrefix(line, "func TestAttack"):
			name := strings.TrimPrefix(line, "func ")
			name = name[:strings.IndexByte(name, '(')]
			what, outcome, _ := strings.Cut(pending, "->")
			out = append(out, attack{filepath.Dir(path), name, strings.TrimSpace(what), strings.TrimSpace(outcome)})
			pending = ""
		default:
			pending = ""
		}
	}
	return out, sc.Err()
}

func esc(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
