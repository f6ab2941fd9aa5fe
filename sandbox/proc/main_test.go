//go:build linux

package proc

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a small helper program instead of
// running tests, so confined commands can dial, listen and allocate
// without any tool this machine may lack.
const helperEnv = "PROC_TEST_HELPER"

func TestMain(m *testing.M) {
	Init()
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func helper(mode string, args []string) int {
	switch mode {
	case "dial": // dial args[0]; exit 0 if a byte came back, 3 if no connection
		conn, err := net.DialTimeout("tcp", args[0], 3*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			return 3
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		b := make([]byte, 1)
		if _, err := io.ReadFull(conn, b); err != nil {
			fmt.Fprintln(os.Stderr, "read:", err)
			return 4
		}
		fmt.Printf("got %q\n", b)
		return 0
	case "selfloop": // listen on loopback and talk to ourselves
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			return 3
		}
		go func() {
			c, err := ln.Accept()
			if err == nil {
				_, _ = c.Write([]byte("pong"))
				c.Close()
			}
		}()
		conn, err := net.DialTimeout("tcp", ln.Addr().String(), 3*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial self:", err)
			return 4
		}
		b, err := io.ReadAll(conn)
		if err != nil || string(b) != "pong" {
			fmt.Fprintln(os.Stderr, "read self:", string(b), err)
			return 5
		}
		fmt.Println("loopback ok")
		return 0
	case "alloc": // touch args[0] MiB
		var n int
		fmt.Sscan(args[0], &n)
		var keep [][]byte
		for i := 0; i < n; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				if j%4096 == 0 {
					b[j] = 1
				}
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep), "MiB")
		return 0
	case "landlock": // restrict writes to args[0]; args[1] must then refuse them
		runtime.LockOSThread() // Landlock binds this thread; the writes below run on it
		s := childSpec{Writable: []string{args[0]}, Landlock: min(landlockABI(), 3)}
		if err := s.landlock(); err != nil {
			fmt.Fprintln(os.Stderr, "landlock:", err)
			return 2
		}
		if err := os.WriteFile(filepath.Join(args[0], "in"), []byte("x"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "write inside:", err)
			return 3
		}
		err := os.WriteFile(filepath.Join(args[1], "out"), []byte("x"), 0o644)
		fmt.Println("outside:", err)
		if err == nil {
			return 4
		}
		return 0
	case "burn": // spin until this process has used args[0] ms of CPU
		var ms int64
		fmt.Sscan(args[0], &ms)
		x := uint64(1)
		for cpuSelf() < time.Duration(ms)*time.Millisecond {
			for i := 0; i < 100000; i++ {
				x = x*6364136223846793005 + 1442695040888963407
			}
		}
		fmt.Println("burnt", x%2)
		return 0
	case "env":
		fmt.Println(strings.Join(os.Environ(), "\n"))
		return 0
	case "escape":
		return escape(args)
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}
