// Command hello is a small Go program for proc's benchmarks: the cost of
// starting a Go binary is what a test run pays per package.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("hello from", os.Args[0])
}
