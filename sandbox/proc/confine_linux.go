package proc

import (
	"fmt"
	"github.com/factory-dev/factory/sandbox/proc/cgroup"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/factory-dev/factory"
	"golang.org/x/sys/unix"
)

// nobody is the uid and gid a sandbox started by root runs as: never uid 0,
// so that no capability comes back with an exec inside.
const nobody = 65534

// insideID is the uid (gid) a confined command has inside its user
// namespace, mapped to id on the host: id itself, or nobody for root.
func insideID(id int) int {
	if id == 0 {
		return nobody
	}
	return id
}

// seccompFD is where bwrap finds the seccomp program; the empty files it
// shows over hidden secret files follow it.
const seccompFD = 3

// confine completes a launch in an isolating mode (l.mode): the child spec
// for the re-executed child, or, when Init was not called, bwrap run
// directly.
func (l *launch) confine(c Cmd, f Features, lay fsLayout, mnt Mount) error {
	pol := c.Confine.Policy
	l.notes = append(l.notes, lay.notes...)
	l.seen = mnt.inside(c.Dir)
	argv := c.Argv
	if filepath.IsAbs(argv[0]) {
		argv = append([]string{mnt.inside(argv[0])}, argv[1:]...)
	}
	mem, procs := pol.Memory, pol.Processes
	if mem <= 0 {
		mem = defaultMemory
	}
	if procs <= 0 {
		procs = defaultProcesses
	}
	spec := childSpec{Mode: l.mode, Env: l.env, Dir: l.seen,
		Rlimits: []rlimit{{Resource: unix.RLIMIT_CORE, Cur: 0, Max: 0}}}
	if !f.Root {
		// RLIMIT_NPROC counts per uid and root ignores it; for others it is a
		// backstop behind the pids cgroup.
		spec.Rlimits = append(spec.Rlimits, rlimit{Resource: unix.RLIMIT_NPROC, Cur: uint64(procs), Max: uint64(procs)})
	}
	bw := bwrapSpec{bwrap: f.Bwrap, pol: pol, dir: l.seen, argv: argv, lay: lay, mnt: mnt,
		uid: insideID(os.Geteuid()), gid: insideID(os.Getegid()), seccomp: f.Seccomp, disableUserns: f.BwrapDisableUserns}
	if !initCalled.Load() {
		// Only bwrap gets here: run it directly, without a cgroup, and
		// without the child that lays the discarding overlays on the caches.
		l.notes = append(l.notes, "memory and process limits not enforced: proc.Init was not called by this binary")
		files, err := bwrapFiles(bw.seccomp, len(lay.hideFiles))
		if err != nil {
			return factory.Errorf(factory.EINTERNAL, "confine: %v", err)
		}
		l.files = files
		l.path, l.argv = f.Bwrap, bw.args()
		l.sys.Pdeathsig = syscall.SIGKILL
		l.notes = append(l.notes, describe(l.mode, bw.uid, f.Seccomp, "read-only (proc.Init was not called: no discarding overlay)", lay))
		return nil
	}
	cg, cgNotes := cgroup.New(layout, mem, procs)
	l.cg = cg
	l.notes = append(l.notes, cgNotes...)
	if cg == nil && f.Cgroup == "" && !f.Root {
		spec.Rlimits = append(spec.Rlimits, rlimit{Resource: unix.RLIMIT_DATA, Cur: uint64(mem), Max: uint64(mem)})
		l.notes = append(l.notes, "memory limit approximated per process with RLIMIT_DATA")
	}
	spec.Cgroups = cg.ProcsFiles()
	spec.Overlays = append(slices.Clone(lay.overlays), lay.deps...)
	spec.Seccomp = f.Seccomp
	switch l.mode {
	case IsoBwrap:
		bw.overlays = true
		spec.Path, spec.Argv = f.Bwrap, bw.args()
		spec.EmptyFiles = len(lay.hideFiles)
		l.bwrapChild()
	case IsoNative:
		spec.Path, spec.Argv = mnt.inside(l.path), argv
		l.nativeChild(&spec, f, pol, lay, mnt)
	}
	l.notes = append(l.notes, describe(l.mode, bw.uid, f.Seccomp, "copy-on-write (writes discarded)", lay))
	return l.reexec(spec)
}

// bwrapChild sets the re-executed child of bwrap mode up in a mount
// namespace of its own, where it lays the overlays before bwrap binds them;
// not root, it gets a user namespace too, as root in it, so that it may.
func (l *launch) bwrapChild() {
	l.sys.Cloneflags = syscall.CLONE_NEWNS
	if os.Geteuid() != 0 {
		l.sys.Cloneflags |= syscall.CLONE_NEWUSER
		l.sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		l.sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
}

// nativeChild fills the spec of a native-mode child and the namespaces it
// starts in. Whoever runs factory, the child gets a new user namespace in
// which it is a non-zero uid mapped to the caller's: the capabilities it
// needs for the set-up (mounts, loopback, the user namespace limit, the
// bounding set; overlayfs wants CAP_DAC_OVERRIDE over its layers) are kept as ambient ones through the re-exec, and dropped,
// all of them, before the target starts.
func (l *launch) nativeChild(spec *childSpec, f Features, pol factory.SandboxPolicy, lay fsLayout, mnt Mount) {
	spec.Loopback = !pol.Network
	spec.Writable, spec.ReadOnly = lay.writable, lay.ro
	if mnt.Src != "" {
		spec.Binds = []bindSpec{{Src: mnt.Src, Dst: mnt.Dst}}
	}
	for _, p := range lay.protect {
		spec.Protect = append(spec.Protect, bindSpec{Src: p, Dst: mnt.inside(p)})
	}
	spec.HideDirs, spec.HideFiles = lay.hideDirs, lay.hideFiles
	spec.PrivateTmp, spec.NewProc = true, true
	spec.Landlock = min(f.Landlock, 3)
	flags := uintptr(syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC)
	if !pol.Network {
		flags |= syscall.CLONE_NEWNET
	}
	l.sys.Cloneflags = flags
	l.sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: insideID(os.Geteuid()), HostID: os.Geteuid(), Size: 1}}
	l.sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: insideID(os.Getegid()), HostID: os.Getegid(), Size: 1}}
	l.sys.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SETPCAP, unix.CAP_SYS_RESOURCE, unix.CAP_DAC_OVERRIDE}
	spec.DropCaps = true
	if f.Landlock == 0 {
		l.notes = append(l.notes, "Landlock not available; relying on read-only mounts")
	}
}

// reexec makes the launch start this binary again as the child that
// confines itself by spec.
func (l *launch) reexec(spec childSpec) error {
	raw, err := marshalSpec(spec)
	if err != nil {
		l.cg.Destroy(time.Second)
		return factory.Errorf(factory.EINTERNAL, "encode child spec: %v", err)
	}
	// /proc/self/exe still works when the binary was replaced or deleted
	// since it started.
	self := "/proc/self/exe"
	if _, err := os.Stat(self); err != nil {
		if self, err = os.Executable(); err != nil {
			l.cg.Destroy(time.Second)
			return factory.Errorf(factory.EUNAVAILABLE, "cannot re-execute self: %v", err)
		}
	}
	l.path, l.argv, l.env, l.child = self, []string{childMarker}, []string{specEnv + "=" + raw}, true
	l.sys.Pdeathsig = syscall.SIGKILL
	return nil
}

// describe says in one note what the sandbox had.
func describe(mode string, uid int, seccomp bool, caches string, lay fsLayout) string {
	parts := []string{"user namespace uid " + strconv.Itoa(uid), "capabilities none", "no_new_privs"}
	if seccomp {
		parts = append(parts, "seccomp")
	} else {
		parts = append(parts, "no seccomp (not in this kernel)")
	}
	if len(lay.overlays) > 0 {
		parts = append(parts, "host caches "+caches)
	}
	if n := len(lay.hideDirs) + len(lay.hideFiles); n > 0 {
		parts = append(parts, fmt.Sprintf("%d secret paths hidden", n))
	}
	if len(lay.protect) > 0 {
		parts = append(parts, ".git read-only")
	}
	return "sandbox " + mode + ": " + strings.Join(parts, ", ")
}

// bwrapSpec is what the bubblewrap command line is made of.
type bwrapSpec struct {
	bwrap         string
	pol           factory.SandboxPolicy
	dir           string   // working directory as seen inside
	argv          []string // the command, as seen inside
	lay           fsLayout
	mnt           Mount
	uid, gid      int
	seccomp       bool // a program at seccompFD
	disableUserns bool // bwrap knows --disable-userns
	overlays      bool // the child laid overlays on lay.overlays: bind them writable
}

// args builds the bubblewrap command line. The command runs in a user
// namespace of its own as uid b.uid with no capabilities and no_new_privs
// (bwrap sets it), under the seccomp program and unable to make another
// user namespace; the file system as fsPlan laid it out. The empty files
// shown over hidden secret files are read from the descriptors after
// seccompFD.
func (b bwrapSpec) args() []string {
	a := []string{b.bwrap, "--die-with-parent", "--new-session",
		"--unshare-user", "--uid", strconv.Itoa(b.uid), "--gid", strconv.Itoa(b.gid), "--cap-drop", "ALL"}
	if b.disableUserns {
		a = append(a, "--disable-userns")
	}
	a = append(a, "--unshare-pid", "--unshare-ipc", "--unshare-uts")
	if !b.pol.Network {
		a = append(a, "--unshare-net")
	}
	fd := seccompFD
	if b.seccomp {
		a = append(a, "--seccomp", strconv.Itoa(fd))
	}
	fd++
	a = append(a, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp")
	type op struct {
		dst  string
		args []string
	}
	var ops []op
	bind := func(kind, src, dst string) { ops = append(ops, op{dst, []string{kind, src, dst}}) }
	for _, p := range b.lay.ro {
		bind("--ro-bind", p, p)
	}
	for _, p := range b.lay.writable {
		bind("--bind", p, p)
	}
	if b.overlays {
		for _, p := range b.lay.overlays {
			bind("--bind", p, p)
		}
	}
	if b.mnt.Src != "" {
		bind("--bind", b.mnt.Src, b.mnt.Dst)
		// Sources are taken from the host's view (the child's overlay on
		// the live directory), destinations inside, in the copy: sorted
		// after the copy's bind, they lie on it.
		kind := "--ro-bind"
		if b.overlays {
			kind = "--bind"
		}
		for _, p := range b.lay.deps {
			bind(kind, p, p)
		}
	}
	for _, p := range b.lay.protect {
		bind("--ro-bind", p, b.mnt.inside(p))
	}
	for _, p := range b.lay.hideDirs {
		ops = append(ops, op{p, []string{"--tmpfs", p, "--remount-ro", p}})
	}
	for _, p := range b.lay.hideFiles {
		ops = append(ops, op{p, []string{"--ro-bind-data", strconv.Itoa(fd), p}})
		fd++
	}
	// Parents before children, so a nested bind is not hidden.
	sort.SliceStable(ops, func(i, j int) bool { return len(ops[i].dst) < len(ops[j].dst) })
	for _, o := range ops {
		a = append(a, o.args...)
	}
	a = append(a, "--chdir", b.dir, "--")
	return append(a, b.argv...)
}

// bwrapFiles opens what bwrap reads from seccompFD on: the seccomp program
// (when seccomp), then one empty file per hidden secret file. They go to
// the descriptors in order; a missing program still takes its place.
func bwrapFiles(seccomp bool, empties int) ([]*os.File, error) {
	var files []*os.File
	if seccomp {
		f, err := seccompFile()
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	} else {
		files = append(files, nil)
	}
	for range empties {
		f, err := os.Open(os.DevNull)
		if err != nil {
			closeAll(files...)
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}
