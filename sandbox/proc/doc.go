// Package proc is the one way factory runs a process: explicit argv,
// directory and environment, its own process group killed as a whole on
// timeout or cancellation, capped output capture, and (when asked) the best
// isolation this machine offers: bubblewrap, else a re-exec of the current
// binary that confines itself with namespaces, cgroups, rlimits and Landlock,
// else none, always with a note saying which.
//
// It imports the standard library, golang.org/x/sys/unix and the root
// package factory only.
//
// Any binary that runs confined commands through the native path must call
// Init first thing in main; a test package that does so needs
//
//	func TestMain(m *testing.M) { proc.Init(); os.Exit(m.Run()) }
package proc
