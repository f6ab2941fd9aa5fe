// Package proc is the one way factory runs a process (sandbox.Exec in the
// design): explicit argv, working directory and environment (an allowlist,
// see BaseEnv), its own process group killed as a whole on timeout or
// cancellation (SIGTERM, then SIGKILL after 2 s; descendants that left the
// group with setsid are found through /proc, or sysctl on macOS, and
// signalled too), leftovers in the group killed when the command exits,
// pipes held by escaped processes cut after a short grace, capped output
// capture, and exit code, signal and duration recorded.
//
// With a Confinement, Run also isolates the command with the best means the
// machine has (Detect, reported by doctor), degrading with a note in
// Result.Notes rather than failing. Whoever started factory, root included,
// the command then runs in a user namespace of its own as a non-zero uid
// (the caller's, or 65534 for root) mapped to the caller's, with every
// capability set empty (CapEff, CapPrm, CapBnd, CapAmb 0), no_new_privs, no
// way to make another user namespace, and, where the kernel has seccomp, a
// filter that refuses mount and the new mount API, umount2, pivot_root,
// chroot, ptrace, process_vm_*, keyctl, add_key, request_key, bpf,
// perf_event_open, userfaultfd, setns, unshare and clone of a user
// namespace, kexec, module loading, open_by_handle_at, swapon/off, reboot,
// acct, quotactl and syslog, answers clone3 with ENOSYS, and refuses every
// call of a foreign ABI (seccomp.go). A note "sandbox <mode>: ..." says what
// the run had.
//
// The file system is the host's, read-only, with (fsPlan):
//
//   - the Writable paths (and Policy.Writable) writable;
//   - the language caches (GOCACHE, GOMODCACHE, ~/.cache, ~/.npm, ~/.cargo)
//     writable over a tmpfs layer discarded with the sandbox (overlayfs):
//     reads hit the host's entries, writes never reach them;
//   - the git dir of every writable tree (and of its ancestors, a linked
//     worktree's git dir and common dir, the .git file itself) read-only;
//   - the usual secret places hidden: in every home directory (/root,
//     /home/*, $HOME) .ssh, .gnupg, .aws, .azure, .kube, .config/gcloud,
//     .config/gh, .docker/config.json, .netrc, .git-credentials, .npmrc,
//     .pypirc, cargo credentials, .vault-token, and /etc/shadow, gshadow,
//     sudoers, the ssh host keys and /etc/ssl/private; directories show as
//     an empty read-only tmpfs, files as empty (Policy.Hide adds places,
//     Policy.Unhide removes some). Hiding is needed even with the non-zero
//     uid: it maps to the caller, so for root the owner check of a 0600
//     root file passes;
//   - a private /tmp, fresh /dev and /proc.
//
// The modes:
//
//   - "bwrap": bubblewrap (--unshare-user --uid --cap-drop ALL,
//     --disable-userns when it has it, --seccomp) with new pid, ipc, uts and
//     (unless Policy.Network) network namespaces, dying with its parent. The
//     re-executed child (see Init) first lays the cache overlays in a mount
//     namespace of its own, where bwrap binds them; without Init the caches
//     are only read-only.
//   - "native": a re-execution of the current binary (see Init) in new user,
//     mount, pid, ipc and network namespaces that brings loopback up, lays
//     the file system out as above, applies Landlock where the kernel has
//     it, sets the user namespace limit to 0, drops every capability it kept
//     for that set-up, sets no_new_privs and loads the seccomp filter, then
//     runs the target as pid 2 while it stays pid 1 to reap and forward
//     signals.
//   - "seatbelt" (macOS, seatbelt.go, confine_darwin.go): sandbox-exec
//     with the profile SeatbeltProfile writes: deny by default; the host
//     readable, as under the Linux modes; the Writable paths, the copy and
//     a private TMPDIR writable, and unix sockets there only; .git
//     read-only; no network, or with Policy.Network loopback only; the same secret places (hidePatterns)
//     and the Mac's keychains and cookies unreadable. Seatbelt has no
//     copy-on-write layer, so the caches a run writes (GOCACHE, npm's,
//     an outside CARGO_TARGET_DIR) are private copies in the run's own
//     directory, APFS clones of the host's, removed with it
//     (privcache.go); the module cache stays read-only, with GOPROXY=off.
//     No cgroups, namespaces or uid change: memory and process limits are
//     not enforced, and the note says so. The process group, and what
//     left it, is killed on timeout as on Linux (the process table comes
//     from sysctl, there being no /proc).
//   - "none": no isolation (Windows always: only the first process is
//     killed on timeout there, once Run has seen it still running).
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
// It imports the standard library, golang.org/x/sys/unix, golang.org/x/net/bpf
// and github.com/elastic/go-seccomp-bpf (the seccomp program) and the root
// package factory only. The namespaces, cgroups, seccomp and Landlock are
// in _linux.go files; the profile generator and the private caches'
// set-up have no build tag, so their goldens (testdata/seatbelt) and tests
// run on Linux too; the rest of the macOS code (_darwin.go) is only
// type-checked there (make cross).
package proc
