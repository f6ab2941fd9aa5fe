// Package proc is the one way factory runs a process (sandbox.Exec in the
// design): explicit argv, working directory and environment (an allowlist,
// see BaseEnv), its own process group killed as a whole on timeout or
// cancellation (SIGTERM, then SIGKILL after 2 s; descendants that left the
// group with setsid are found through /proc and signalled too), leftovers
// in the group killed when the command exits, pipes held by escaped
// processes cut after a short grace, capped output capture, and exit code,
// signal and duration recorded.
//
// With a Confinement, Run also isolates the command with the best means the
// machine has (Detect, reported by doctor), degrading with a note in
// Result.Notes rather than failing:
//
//   - "bwrap": bubblewrap with / read-only, the Writable paths and the
//     language caches (GOCACHE, GOMODCACHE, ~/.cache, ~/.npm, ~/.cargo)
//     writable, a private /tmp, fresh /dev and /proc, new pid, ipc, uts and
//     (unless Policy.Network) network namespaces, dying with its parent.
//   - "native": a re-execution of the current binary (see Init) in new
//     mount, pid, ipc and network namespaces (plus a user namespace when not
//     root) that brings loopback up, makes / read-only except the writable
//     paths, mounts a private /tmp and /dev/shm and a new /proc, applies
//     Landlock where the kernel has it, then runs the target as pid 2 while
//     it stays pid 1 to reap and forward signals.
//   - "none": no isolation.
//
// In both isolating modes Confinement.MountAs can show a directory (an
// isolated copy) at another path (the live tree's), hiding what that path
// holds on the host: absolute paths inside match a run in the live tree.
//
// In both isolating modes the command joins a fresh cgroup (v1 or v2,
// detected, nested under this process's own) with Policy.Memory and
// Policy.Processes as limits; the cgroup is also how Run finds and kills
// everything the command started, even processes that left its session.
// Limit hits are reported in Result.Notes. Under bwrap a command killed by
// signal n shows as ExitCode 128+n with Signal "" (bwrap reports it so);
// the native mode reports the signal itself.
//
// Any binary that runs confined commands must call Init first thing in
// main; without it the native mode is unavailable and bwrap runs without
// limits. A test package whose tests run confined commands needs
//
//	func TestMain(m *testing.M) { proc.Init(); os.Exit(m.Run()) }
//
// It imports the standard library, golang.org/x/sys/unix and the root
// package factory only. Linux only.
package proc
