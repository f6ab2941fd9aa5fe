package proc

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// initCalled records that Init ran, so Run knows a re-exec will reach it.
var initCalled atomic.Bool

// childMarker is argv[0] of a re-executed confined child; specEnv carries
// its childSpec as JSON. Neither reaches the target.
const (
	childMarker = "factory-proc-child"
	specEnv     = "FACTORY_PROC_SPEC"
	errFD       = 3 // the child's setup errors go here; closed by exec on success
)

// childSpec is what the re-executed child needs to confine itself.
type childSpec struct {
	Mode    string   // IsoBwrap: exec Path (bwrap) as is; IsoNative: confine, then exec Path
	Path    string   // absolute program to exec
	Argv    []string // its argv
	Env     []string // its environment
	Dir     string   // its working directory
	Cgroups []string // cgroup.procs files to join
	Rlimits []rlimit
	Seccomp bool // native: load the seccomp program before the target starts; bwrap: give it to bwrap at seccompFD

	// Overlays are host caches shown writable over a tmpfs layer that dies
	// with the sandbox. The bwrap-mode child lays them in its own mount
	// namespace before bwrap (which binds them in) starts.
	Overlays   []string
	EmptyFiles int // bwrap: empty files to give it after seccompFD, one per hidden secret file

	// native only
	Loopback   bool       // bring lo up (a fresh network namespace)
	Writable   []string   // bind writable, everything else read-only
	Binds      []bindSpec // host directories shown, writable, at other paths
	ReadOnly   []string   // paths under /tmp to keep visible read-only
	PrivateTmp bool       // tmpfs on /tmp and /dev/shm
	NewProc    bool       // mount a proc for the new pid namespace
	Landlock   int        // ABI to use, 0 = none
	DropCaps   bool       // drop every capability (those kept for the setup) before the target starts
	Protect    []bindSpec // host paths (git dirs) shown read-only at Dst, inside writable trees
	HideDirs   []string   // replaced by an empty read-only tmpfs
	HideFiles  []string   // replaced by an empty file
}

// bindSpec shows the host directory Src at Dst, writable.
type bindSpec struct{ Src, Dst string }

type rlimit struct {
	Resource int
	Cur, Max uint64
}

// Init must be called first thing in main (and in TestMain of test packages
// that run confined commands:
//
//	func TestMain(m *testing.M) { proc.Init(); os.Exit(m.Run()) }
//
// ). When this process was re-executed by Run as the confined child, Init
// sets up the confinement and execs the target, never returning (it exits
// 127 after reporting a setup failure to Run). Otherwise it returns at once.
func Init() {
	initCalled.Store(true)
	if len(os.Args) == 0 || os.Args[0] != childMarker {
		return
	}
	raw, ok := os.LookupEnv(specEnv)
	if !ok {
		return
	}
	runtime.LockOSThread() // Landlock and no_new_privs are per thread: exec from this one
	unix.CloseOnExec(errFD)
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		childFail("internal", "bad child spec: "+err.Error())
	}
	if err := spec.confine(); err != nil {
		childFail("unavailable", err.Error())
	}
	if spec.Mode == IsoNative {
		os.Exit(spec.reap(false, nil))
	}
	files, err := bwrapFiles(spec.Seccomp, spec.EmptyFiles)
	if err != nil {
		childFail("internal", err.Error())
	}
	// bwrap's monitor exits as soon as its in-namespace init reports the
	// command's status, without reaping that init: the CPU time of the
	// command (Result.CPU, from our wait status) would go to whoever adopts
	// it. So run bwrap as a child instead of exec'ing it, adopt its orphans
	// and reap them all.
	drain := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == nil
	os.Exit(spec.reap(drain, files))
}

// reap runs the target as pid 2 of the new pid namespace, staying pid 1
// itself: the kernel gives pid 1 no default signal actions (a shell target
// would shrug off SIGTERM) and expects it to reap orphans. It catches the
// usual termination signals (Run delivers them to the target itself),
// reaps everything, and returns the target's exit code, or 128+n after
// reporting signal n on errFD.
//
// extra are given to the target from descriptor 3 on (nil: closed there).
// With drain (a subreaper outside any new pid namespace), it then waits for
// every remaining child, adopted orphans included, so their CPU time is in
// its own wait status.
func (s *childSpec) reap(drain bool, extra []*os.File) int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	fds := []uintptr{0, 1, 2}
	for _, f := range extra {
		fd := ^uintptr(0) // closed in the target
		if f != nil {
			fd = f.Fd()
		}
		fds = append(fds, fd)
	}
	// The fork happens on this locked thread, so the target inherits its
	// Landlock domain, no_new_privs, seccomp filter and empty capability
	// sets.
	pid, err := syscall.ForkExec(s.Path, s.Argv, &syscall.ProcAttr{
		Dir: s.Dir, Env: s.Env, Files: fds,
	})
	closeAll(extra...)
	if err != nil {
		code := "internal"
		if errors.Is(err, syscall.ENOENT) {
			code = "not_found"
		}
		childFail(code, "exec "+s.Path+": "+err.Error())
	}
	go func() {
		// Run signals every process of the tree itself, each once, the
		// target included: forwarding would deliver a second copy. The
		// signals are only caught here, so that pid 1 is not killed by
		// one before the target has answered it.
		for range sigs {
		}
	}()
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 127 // no children left without seeing the target: cannot happen
		}
		if got != pid {
			continue // an orphan reaped
		}
		code := ws.ExitStatus()
		if ws.Signaled() {
			_, _ = unix.Write(errFD, []byte("signal\t"+strconv.Itoa(int(ws.Signal()))))
			code = 128 + int(ws.Signal())
		}
		for drain {
			// bwrap's namespace init dies with bwrap (--die-with-parent)
			// and takes its namespace with it, so this ends promptly.
			if _, err := syscall.Wait4(-1, nil, 0, nil); err != syscall.EINTR && err != nil {
				break
			}
		}
		return code
	}
}

// childFail reports a setup failure to Run through errFD and exits.
func childFail(code, msg string) {
	_, _ = unix.Write(errFD, []byte("error\t"+code+"\t"+msg))
	os.Exit(127)
}

func (s *childSpec) confine() error {
	pid := strconv.Itoa(os.Getpid())
	for _, f := range s.Cgroups {
		if err := os.WriteFile(f, []byte(pid), 0); err != nil {
			return fmt.Errorf("join cgroup %s: %w", f, err)
		}
	}
	for _, r := range s.Rlimits {
		if err := unix.Setrlimit(r.Resource, &unix.Rlimit{Cur: r.Cur, Max: r.Max}); err != nil {
			return fmt.Errorf("setrlimit %d: %w", r.Resource, err)
		}
	}
	if s.Mode != IsoNative {
		return s.bwrapMounts()
	}
	if s.Loopback {
		if err := loopbackUp(); err != nil {
			return fmt.Errorf("bring loopback up: %w", err)
		}
	}
	if err := s.mounts(); err != nil {
		return err
	}
	if s.DropCaps {
		// The limit of the sandbox's own user namespace: the command cannot
		// make another one to be root in. Before Landlock, which would
		// refuse the write.
		if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0"), 0); err != nil {
			return fmt.Errorf("disable user namespaces: %w", err)
		}
	}
	if s.Landlock > 0 {
		if err := s.landlock(); err != nil {
			return fmt.Errorf("landlock: %w", err)
		}
	}
	if s.DropCaps {
		if err := dropCaps(); err != nil {
			return fmt.Errorf("drop capabilities: %w", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if s.Seccomp {
		if err := loadSeccomp(); err != nil {
			return err
		}
	}
	if err := os.Chdir(s.Dir); err != nil {
		return fmt.Errorf("chdir: %w", err)
	}
	return nil
}

// loopbackUp sets IFF_UP on lo in the (fresh) network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// mounts makes the whole tree read-only except the writable paths, gives
// the run a private /tmp and /dev/shm and a proc for its pid namespace,
// makes the git dirs in writable trees read-only again, lays the discarding
// overlays on the host caches and hides the secret places. It runs in the
// child's own mount namespace, so nothing leaks to the host.
func (s *childSpec) mounts() error {
	// Take the caches and clone the trees to keep before anything hides
	// them (a private /tmp would hide t.TempDir()s); attach them again at
	// the end.
	lowers, err := privateMounts(s.Overlays)
	if err != nil {
		return err
	}
	defer closeFDs(lowers)
	keeps, err := s.cloneKeeps()
	if err != nil {
		return err
	}
	if err := setattr(unix.AT_FDCWD, "/", unix.MOUNT_ATTR_RDONLY, 0); err != nil {
		return fmt.Errorf("make / read-only: %w", err)
	}
	if s.PrivateTmp {
		for _, p := range []string{"/tmp", "/dev/shm"} {
			if _, err := os.Stat(p); err != nil {
				continue
			}
			if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
				return fmt.Errorf("private %s: %w", p, err)
			}
		}
	}
	if s.NewProc {
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("mount /proc: %w", err)
		}
	}
	for _, k := range keeps {
		if _, err := os.Lstat(k.path); err != nil {
			if err := os.MkdirAll(k.path, 0o755); err != nil && !errors.Is(err, syscall.EROFS) {
				return fmt.Errorf("mount point %s: %w", k.path, err)
			}
		}
		var set, clr uint64 = 0, unix.MOUNT_ATTR_RDONLY
		if k.ro {
			set, clr = unix.MOUNT_ATTR_RDONLY, 0
		}
		if err := setattr(k.fd, "", set, clr); err != nil {
			return fmt.Errorf("mount attributes of %s: %w", k.path, err)
		}
		if err := unix.MoveMount(k.fd, "", unix.AT_FDCWD, k.path, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("attach %s: %w", k.path, err)
		}
		unix.Close(k.fd)
	}
	if err := mountOverlays(s.Overlays, lowers); err != nil {
		return err
	}
	return hide(s.HideDirs, s.HideFiles)
}

// keep is a detached clone of a host tree, to attach at path.
type keep struct {
	path string
	fd   int
	ro   bool
}

// cloneKeeps clones the trees to show, sorted parents first: the read-only
// ones under /tmp, the writable ones, the binds, then the git dirs made
// read-only inside them. A bind hides what its target holds on the host:
// a tree attached on top of it, the live tree included, is neither visible
// nor writable.
func (s *childSpec) cloneKeeps() ([]keep, error) {
	var keeps []keep
	add := func(src, dst string, ro bool) error {
		fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if err != nil {
			return fmt.Errorf("clone mount %s: %w", src, err)
		}
		keeps = append(keeps, keep{dst, fd, ro})
		return nil
	}
	var binds []bindSpec
	for _, p := range s.ReadOnly {
		binds = append(binds, bindSpec{p, p})
	}
	for _, p := range s.Writable {
		binds = append(binds, bindSpec{p, p})
	}
	binds = append(binds, s.Binds...)
	for i, b := range append(binds, s.Protect...) {
		ro := i < len(s.ReadOnly) || i >= len(binds)
		if err := add(b.Src, b.Dst, ro); err != nil {
			for _, k := range keeps {
				unix.Close(k.fd)
			}
			return nil, err
		}
	}
	sort.SliceStable(keeps, func(i, j int) bool { return len(keeps[i].path) < len(keeps[j].path) })
	return keeps, nil
}

// bwrapMounts lays, for bwrap mode, the overlays on the caches in the
// child's own mount namespace, where bwrap finds and binds them.
func (s *childSpec) bwrapMounts() error {
	if len(s.Overlays) == 0 {
		return nil
	}
	lowers, err := privateMounts(s.Overlays)
	if err != nil {
		return err
	}
	defer closeFDs(lowers)
	return mountOverlays(s.Overlays, lowers)
}

// privateMounts stops mount events propagating between the child's mount
// namespace and the host's, and opens the directories to lay overlays on
// while they still show the host's.
func privateMounts(overlays []string) ([]int, error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("make mounts private: %w", err)
	}
	return openDirs(overlays)
}

func mountOverlays(paths []string, lowers []int) error {
	for i, p := range paths {
		if err := mountOverlay(p, lowers[i]); err != nil {
			return err
		}
	}
	return nil
}

// mountOverlay shows the directory lower (an open descriptor of what dst
// held) writable at dst, over a tmpfs upper layer: reads see lower, writes
// land in the tmpfs and die with the mount namespace. The tmpfs is mounted
// at dst first, under the overlay, so the command cannot reach it.
func mountOverlay(dst string, lower int) error {
	if err := os.MkdirAll(dst, 0o755); err != nil && !errors.Is(err, syscall.EROFS) && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("overlay on %s: %w", dst, err)
	}
	if err := unix.Mount("tmpfs", dst, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("overlay on %s: upper tmpfs: %w", dst, err)
	}
	for _, d := range []string{"u", "w"} {
		if err := os.Mkdir(filepath.Join(dst, d), 0o755); err != nil {
			return fmt.Errorf("overlay on %s: %w", dst, err)
		}
	}
	upper, err := unix.Open(dst, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("overlay on %s: %w", dst, err)
	}
	defer unix.Close(upper)
	opts := fmt.Sprintf("lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d/u,workdir=/proc/self/fd/%d/w", lower, upper, upper)
	// In a user namespace overlayfs cannot set its trusted.* attributes:
	// without userxattr, removing a directory of the lower layer (rm -rf
	// node_modules/x) fails with EIO. Kernels before 5.11 do not know the
	// option: mounted without it there.
	if inUserNS() {
		if err := unix.Mount("overlay", dst, "overlay", 0, opts+",userxattr"); err == nil {
			return nil
		}
	}
	if err := unix.Mount("overlay", dst, "overlay", 0, opts); err != nil {
		return fmt.Errorf("overlay on %s: %w", dst, err)
	}
	return nil
}

// inUserNS reports whether this process is in a user namespace other than
// the initial one, whose uid map is the whole range onto itself.
func inUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

// hide shows an empty read-only tmpfs on each of dirs and an empty file
// (/dev/null) on each of files; paths that do not exist are skipped.
func hide(dirs, files []string) error {
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			continue
		}
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=4k"); err != nil {
			return fmt.Errorf("hide %s: %w", d, err)
		}
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		if err := unix.Mount(os.DevNull, f, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("hide %s: %w", f, err)
		}
		if err := unix.Mount("", f, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("hide %s: %w", f, err)
		}
	}
	return nil
}

// openDirs opens each path as an O_PATH descriptor.
func openDirs(paths []string) ([]int, error) {
	var fds []int
	for _, p := range paths {
		// O_NOFOLLOW: cache paths come resolved, dependency directories were
		// checked to be no symlink; one swapped in since fails the run.
		fd, err := unix.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			closeFDs(fds)
			return nil, fmt.Errorf("open %s: %w", p, err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// dropCaps empties the bounding, ambient, effective, permitted and
// inheritable sets of the calling thread: what it starts has no capability
// and cannot get one back by exec.
func dropCaps() error {
	for c := 0; ; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break // past the last capability the kernel knows
			}
			return fmt.Errorf("bounding set: %w", err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("ambient set: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

func setattr(dirfd int, path string, set, clr uint64) error {
	flags := uint(unix.AT_RECURSIVE)
	if path == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	return unix.MountSetattr(dirfd, path, flags, &unix.MountAttr{Attr_set: set, Attr_clr: clr})
}

// landlock forbids writes everywhere but the writable paths, /tmp and /dev,
// as a second fence behind the read-only mounts.
func (s *childSpec) landlock() error {
	write := uint64(unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_CHAR |
		unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK | unix.LANDLOCK_ACCESS_FS_MAKE_SYM)
	if s.Landlock >= 2 {
		write |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if s.Landlock >= 3 {
		write |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	attr := unix.LandlockRulesetAttr{Handled_access_fs: write}
	// Only the fields this ABI knows may be passed: size up to Access_fs.
	size := unsafe.Sizeof(attr.Handled_access_fs)
	if s.Landlock >= 4 {
		size = unsafe.Offsetof(attr.Handled_access_net) + unsafe.Sizeof(attr.Handled_access_net)
	}
	rfd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return fmt.Errorf("create ruleset: %w", errno)
	}
	defer unix.Close(int(rfd))
	// Opened after the mounts, so a bind's target names the tree shown there.
	allowed := append(append([]string{"/tmp", "/dev"}, s.Writable...), s.Overlays...)
	for _, b := range s.Binds {
		allowed = append(allowed, b.Dst)
	}
	for _, p := range allowed {
		fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		access := write
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			access &= unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE
		}
		rule := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
		_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, rfd, unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
		unix.Close(fd)
		if errno != 0 {
			return fmt.Errorf("add rule %s: %w", filepath.Clean(p), errno)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, rfd, 0, 0); errno != 0 {
		return fmt.Errorf("restrict self: %w", errno)
	}
	return nil
}

func marshalSpec(s childSpec) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}
