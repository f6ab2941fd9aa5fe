// Command benchtable prints the ratio table of `go test -bench` output read
// from the files named (or standard input) as markdown on standard output:
// the last step of `make bench`.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/factory-dev/factory/internal/benchtable"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(files []string, stdin io.Reader, stdout io.Writer) error {
	var readers []io.Reader
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		readers = append(readers, f)
	}
	if len(readers) == 0 {
		readers = append(readers, stdin)
	}
	rows, err := benchtable.Read(io.MultiReader(readers...))
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("no benchmark reported a ratio-vs-<reference> metric")
	}
	return benchtable.Markdown(stdout, rows)
}
