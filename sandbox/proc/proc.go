package proc

import (
	"context"
	"errors"
	"github.com/factory-dev/factory/sandbox/proc/cgroup"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/factory-dev/factory"
)

// Cmd is one command to run.
type Cmd struct {
	Argv      []string      // required; Argv[0] is looked up in the PATH of Env (relative paths against Dir)
	Dir       string        // required: explicit, absolute working directory
	Env       []string      // "K=V" list; nil means BaseEnv(nil), or BaseEnv(Confine.Policy.EnvAllow) when confined
	Stdin     io.Reader     // nil means empty
	Timeout   time.Duration // 0 means no limit but ctx
	MaxOutput int           // bytes kept per stream; 0 means 4 MiB; the excess is dropped and counted
	Stdout    io.Writer     // optional tee (live progress) getting every byte; capture happens regardless
	Stderr    io.Writer     // optional tee; capture happens regardless
	Confine   *Confinement  // nil runs unconfined (git, internal tools), still in its own process group
}

// Confinement says how a command is isolated.
type Confinement struct {
	Policy   factory.SandboxPolicy // network, memory, processes, isolation mode, extra writable, env allow
	Writable []string              // absolute paths that must be writable (the isolated copy); everything else is read-only

	// MountAs, when its Src is set, shows the directory Src at the path Dst
	// inside the sandbox, read-write, on top of whatever Dst holds on the
	// host: that is neither visible nor writable to the command (nor is
	// Src at its own path writable). Cmd.Dir and a program path
	// under Src are given as on the host and translated: a Cmd.Dir of
	// Src/sub starts the command in Dst/sub (Result.Dir says where).
	// Writable entries under Src need not be listed (all of Src is
	// writable). Its use: an isolated copy of a workspace run at the
	// workspace's own path, so absolute paths (and the build caches keyed
	// on them) match a run in the workspace itself.
	//
	// Without isolation (mode "none", chosen or degraded to) it cannot be
	// done: the command runs at Src's own path and Result.Notes says so.
	MountAs Mount

	// Deps are directories of the tree MountAs.Dst shows (absolute host
	// paths under Dst: the live tree's node_modules, .venv, Rust's target)
	// that the copy lacks, shown at their own paths over the copy,
	// copy-on-write: the command reads the live dependencies, its writes
	// land in a layer discarded with the sandbox. Each must be a real
	// directory, not a symlink (one that is, or is not under Dst, is
	// skipped with a note), so the source never leads out of the tree.
	// Ignored without MountAs or isolation.
	Deps []string
}

// Mount shows a host directory at another path inside a sandbox.
type Mount struct {
	Src string // absolute path of an existing directory on the host
	Dst string // absolute path of an existing directory, not "/" nor under Src, where the command sees Src
}

// inside translates a host path under Src to the path the command sees.
func (m Mount) inside(p string) string {
	if m.Src == "" || !under(p, m.Src) {
		return p
	}
	return filepath.Join(m.Dst, strings.TrimPrefix(p, m.Src))
}

// checkMount validates c.Confine.MountAs and returns it with both paths
// cleaned and their symlinks resolved; the zero Mount when unset.
func checkMount(c Cmd) (Mount, error) {
	if c.Confine == nil || c.Confine.MountAs == (Mount{}) {
		return Mount{}, nil
	}
	m := c.Confine.MountAs
	if !filepath.IsAbs(m.Src) || !filepath.IsAbs(m.Dst) {
		return Mount{}, factory.Errorf(factory.EINVALID, "mount %q at %q: both paths must be absolute", m.Src, m.Dst)
	}
	for _, p := range []*string{&m.Src, &m.Dst} {
		st, err := os.Stat(*p)
		if err != nil {
			return Mount{}, factory.Errorf(factory.ENOTFOUND, "mount %s at %s: %v", m.Src, m.Dst, err)
		}
		if !st.IsDir() {
			return Mount{}, factory.Errorf(factory.EINVALID, "mount %s at %s: %s is not a directory", m.Src, m.Dst, *p)
		}
		if r, err := filepath.EvalSymlinks(*p); err == nil {
			*p = r
		}
		*p = filepath.Clean(*p)
	}
	if m.Dst == "/" || m.Dst != m.Src && under(m.Dst, m.Src) {
		return Mount{}, factory.Errorf(factory.EINVALID, "mount %s at %s: the target must be neither / nor inside the source", m.Src, m.Dst)
	}
	return m, nil
}

// Result is what happened to a command.
type Result struct {
	ExitCode  int           // -1 when killed by a signal
	Signal    string        // "killed", "terminated", ... or ""
	Stdout    []byte        // captured: all of it, or its first and last MaxOutput/2 bytes joined by a "[factory: N bytes dropped]" line
	Stderr    []byte        // captured likewise
	Truncated bool          // a cap was hit
	OutBytes  int64         // total bytes produced on both streams, including dropped ones
	Duration  time.Duration // wall time from start until everything was gone
	// CPU is the user plus system CPU time of the command and of every
	// descendant that was waited for (wait4's rusage of the process Run
	// started; bwrap and the native init reap everything in their pid
	// namespace, so confined it covers all of the command's processes).
	// Unlike Duration it barely moves when the machine is busy. Zero when
	// the platform gave no usage.
	CPU       time.Duration
	TimedOut  bool     // Cmd.Timeout ran out and the command was killed
	Cancelled bool     // ctx was done and the command was killed
	Isolation string   // "bwrap", "native", "seatbelt" or "none"
	Dir       string   // the working directory as the command saw it: Cmd.Dir, translated by Confinement.MountAs
	Notes     []string // degradations and limit hits, e.g. "memory limit not enforced: no cgroup"
}

// Isolation modes (factory.SandboxPolicy.Isolation).
const (
	IsoAuto   = "auto"
	IsoBwrap  = "bwrap"
	IsoNative = "native"
	IsoNone   = "none"
	// IsoSeatbelt is macOS's sandbox-exec with a profile factory writes
	// (SeatbeltProfile); auto picks it there.
	IsoSeatbelt = "seatbelt"
)

const (
	defaultMaxOutput = 4 << 20
	defaultMemory    = 4 << 30
	defaultProcesses = 512
	killGrace        = 2 * time.Second        // between SIGTERM and SIGKILL
	pipeGrace        = 500 * time.Millisecond // for pipes held by escaped processes after the exit
)

// Run runs c and waits for it and everything it started: when the command
// exits, times out or ctx is done, its whole process group (and, when
// confined, its cgroup and pid namespace) is killed — SIGTERM, then SIGKILL
// after a grace of 2 s — before Run returns.
//
// The error is non-nil only when the command could not be started: EINVALID
// for a bad Cmd, ENOTFOUND for a missing program or directory, EUNAVAILABLE
// for a forced isolation mode this machine lacks, EINTERNAL otherwise. A
// non-zero exit, a signal, a timeout or a cancellation is reported in
// Result, not as an error.
func Run(ctx context.Context, c Cmd) (Result, error) {
	op := "run"
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return Result{}, factory.Wrap(op, factory.Errorf(factory.EINVALID, "empty argv: give the program and its arguments"))
	}
	op = "run " + c.Argv[0]
	if c.Dir == "" || !filepath.IsAbs(c.Dir) {
		return Result{}, factory.Wrap(op, factory.Errorf(factory.EINVALID, "working directory %q must be an absolute path", c.Dir))
	}
	if st, err := os.Stat(c.Dir); err != nil {
		return Result{}, factory.Wrap(op, factory.Errorf(factory.ENOTFOUND, "working directory %s: %v", c.Dir, err))
	} else if !st.IsDir() {
		return Result{}, factory.Wrap(op, factory.Errorf(factory.EINVALID, "working directory %s is not a directory", c.Dir))
	}
	if c.MaxOutput < 0 || c.Timeout < 0 {
		return Result{}, factory.Wrap(op, factory.Errorf(factory.EINVALID, "negative MaxOutput or Timeout"))
	}
	env := c.Env
	if env == nil {
		var allow []string
		if c.Confine != nil {
			allow = c.Confine.Policy.EnvAllow
		}
		env = BaseEnv(allow)
	}
	path, err := lookPath(c.Argv[0], envGet(env, "PATH"), c.Dir)
	if err != nil {
		if path = depProgram(c); path == "" {
			return Result{}, factory.Wrap(op, err)
		}
	}
	for attempt := 1; ; attempt++ {
		l, err := prepare(c, env, path)
		if err != nil {
			return Result{}, factory.Wrap(op, err)
		}
		res, err := l.run(ctx, c)
		if err != nil {
			return res, factory.Wrap(op, err)
		}
		if attempt < bwrapSetupTries && l.mode == IsoBwrap && bwrapSetupRace(res) && ctx.Err() == nil {
			continue
		}
		return res, nil
	}
}

// bwrapSetupTries bounds the starts of a bwrap whose set-up lost a race.
const bwrapSetupTries = 3

// bwrapSetupRace reports a bwrap that failed while it set up the mount
// tree because a mount of the host vanished under it: `--ro-bind / /`
// binds every host mount, and another copy's overlay unmounted in between
// (copies come and go in parallel gates). The mount is gone before bwrap
// binds it (ENOENT) or while it remounts the copy read-only (the detached
// mount answers EINVAL). The command never started, so starting it again
// is safe.
func bwrapSetupRace(res Result) bool {
	if res.ExitCode != 1 || len(res.Stdout) > 0 {
		return false
	}
	e := string(res.Stderr)
	if !strings.HasPrefix(e, "bwrap: ") {
		return false
	}
	gone := (strings.Contains(e, "Unable to apply mount flags") || strings.Contains(e, "Can't bind mount /oldroot/")) &&
		strings.Contains(e, "No such file or directory")
	detached := strings.Contains(e, "Unable to apply mount flags: remount ") && strings.Contains(e, "Invalid argument")
	return gone || detached
}

// lookPath resolves prog like execvp would with the given PATH, relative
// paths against dir.
func lookPath(prog, pathEnv, dir string) (string, error) {
	check := func(p string) error {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return errors.New("not an executable file")
		}
		return nil
	}
	if strings.Contains(prog, "/") {
		p := prog
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := check(p); err != nil {
			return "", factory.Errorf(factory.ENOTFOUND, "program %s: %v", prog, err)
		}
		return p, nil
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, prog)
		if check(p) == nil {
			return p, nil
		}
	}
	return "", factory.Errorf(factory.ENOTFOUND, "program %s not found in PATH %q", prog, pathEnv)
}

// depProgram finds a relative program (node_modules/.bin/vitest,
// .venv/bin/python) that the copy lacks in one of Confine.Deps, which the
// command will see at that path over the copy; "" when it is in none.
func depProgram(c Cmd) string {
	prog := c.Argv[0]
	if c.Confine == nil || c.Confine.MountAs.Src == "" || filepath.IsAbs(prog) || !strings.Contains(prog, "/") {
		return ""
	}
	mnt, err := checkMount(c)
	if err != nil {
		return ""
	}
	dir := c.Dir
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	p := filepath.Join(mnt.inside(dir), prog)
	for _, d := range c.Confine.Deps {
		if under(p, filepath.Clean(d)) {
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	return ""
}

// launch is a prepared command: what to exec and how to clean up.
type launch struct {
	mode  string
	path  string
	argv  []string
	env   []string
	dir   string // to start the process (bwrap or the re-executed child) in, on the host
	seen  string // the command's working directory as it sees it
	sys   *syscall.SysProcAttr
	cg    *cgroup.Group
	child bool       // a re-executed child that reports setup errors on errFD
	files []*os.File // passed from descriptor 3 on (bwrap run directly: seccompFD and on)
	notes []string
	tmp   string // a private temporary directory to remove after the run (seatbelt), "" for none
}

// prepare picks the isolation mode and builds the launch.
func prepare(c Cmd, env []string, path string) (*launch, error) {
	l := &launch{mode: IsoNone, path: path, argv: c.Argv, env: env, dir: c.Dir, seen: c.Dir,
		sys: groupLeader()}
	if c.Confine == nil {
		return l, nil
	}
	mnt, err := checkMount(c)
	if err != nil {
		return nil, err
	}
	if mnt.Src != "" {
		defer func() {
			switch l.mode {
			case IsoSeatbelt:
				l.notes = append(l.notes, "seatbelt has no mount namespace: "+mnt.Src+" cannot be shown at "+mnt.Dst+": the command ran at "+c.Dir)
			case IsoNone:
				l.notes = append(l.notes, "without isolation "+mnt.Src+" cannot be shown at "+mnt.Dst+": the command ran at "+c.Dir)
			}
		}()
	}
	pol := c.Confine.Policy
	f := Detect()
	native := nativeReason(f)
	want := pol.Isolation
	if want == "" {
		want = IsoAuto
	}
	switch want {
	case IsoNone:
		return l, nil
	case IsoBwrap:
		if !f.BwrapWorks {
			return nil, factory.Errorf(factory.EUNAVAILABLE, "isolation bwrap unavailable: %s; use isolation auto or native", bwrapReason(f))
		}
		l.mode = IsoBwrap
	case IsoNative:
		if native != "" {
			return nil, factory.Errorf(factory.EUNAVAILABLE, "isolation native unavailable: %s; use isolation auto or bwrap", native)
		}
		l.mode = IsoNative
	case IsoSeatbelt:
		if f.Seatbelt == "" {
			return nil, factory.Errorf(factory.EUNAVAILABLE, "isolation seatbelt unavailable: it is macOS's sandbox-exec, not found here; use isolation auto")
		}
		l.mode = IsoSeatbelt
	case IsoAuto:
		switch {
		case f.BwrapWorks:
			l.mode = IsoBwrap
		case f.Seatbelt != "":
			l.mode = IsoSeatbelt
		case native == "":
			l.mode = IsoNative
			l.notes = append(l.notes, bwrapReason(f)+"; using native namespaces")
		default:
			l.notes = append(l.notes, "no isolation: "+bwrapReason(f)+", and native isolation unavailable: "+native)
			return l, nil
		}
	default:
		return nil, factory.Errorf(factory.EINVALID, "unknown isolation %q: use auto, bwrap, native, seatbelt (macOS) or none", want)
	}

	lay, err := fsPlan(c, env, path, mnt)
	if err != nil {
		return nil, err
	}
	if err := l.confine(c, f, lay, mnt); err != nil {
		return nil, err
	}
	return l, nil
}

func bwrapReason(f Features) string {
	if f.Bwrap == "" {
		return "bubblewrap not found"
	}
	return "bubblewrap does not work here"
}

// minimalCover cleans, dedupes and drops paths under another path of the list.
func minimalCover(paths []string) []string {
	var out []string
	for _, p := range paths {
		p = filepath.Clean(p)
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		out = append(out, p)
	}
	var keep []string
	for i, p := range out {
		dup := false
		for j, q := range out {
			if i != j && (q == p && j < i || q != p && under(p, q)) {
				dup = true
				break
			}
		}
		if !dup {
			keep = append(keep, p)
		}
	}
	return keep
}

func under(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if under(p, d) {
			return true
		}
	}
	return false
}

// run starts the launch and waits for everything it started to be gone, in
// phases: open the pipes, start, watch (timeout and cancellation), wait for
// the exit, kill and reap what is left, drain the pipes, read the child's
// report.
func (l *launch) run(ctx context.Context, c Cmd) (Result, error) {
	res := Result{Isolation: l.mode, Notes: l.notes, Dir: l.seen}
	if l.tmp != "" {
		defer os.RemoveAll(l.tmp)
	}
	max := c.MaxOutput
	if max == 0 {
		max = defaultMaxOutput
	}
	outCap, errCap := newCapture(max, c.Stdout), newCapture(max, c.Stderr)
	p, err := l.openPipes()
	if err != nil {
		l.cg.Destroy(time.Second)
		return res, err
	}
	cmd := &exec.Cmd{Path: l.path, Args: l.argv, Env: l.env, Dir: l.dir, Stdin: c.Stdin,
		Stdout: p.wOut, Stderr: p.wErr, SysProcAttr: l.sys, WaitDelay: pipeGrace}
	if l.child {
		cmd.ExtraFiles = []*os.File{p.errW}
	} else if len(l.files) > 0 {
		cmd.ExtraFiles = l.files
		defer closeAll(l.files...)
	}
	if err := ctx.Err(); err != nil {
		p.closeAll()
		l.cg.Destroy(time.Second)
		res.Cancelled, res.ExitCode = true, -1
		return res, nil
	}
	start := time.Now()
	if err := l.start(cmd, p); err != nil {
		return res, err
	}
	pid := cmd.Process.Pid
	copies := p.copyOut(outCap, errCap)
	exited := make(chan struct{})
	w := l.watch(ctx, c.Timeout, pid, exited)
	status := p.readStatus()

	waitExit(pid)
	close(exited)
	<-w.done
	res.Notes = append(res.Notes, l.reap(cmd, pid)...)
	if cmd.ProcessState != nil {
		res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	res.Notes = append(res.Notes, p.drain(copies)...)
	res.Duration = time.Since(start)
	res.TimedOut, res.Cancelled = w.timedOut, w.cancelled
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.ExitCode, res.Signal = -1, ws.Signal().String()
	} else {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	setupErr := l.childReport(p, status, &res)
	var t1, t2 bool
	res.Stdout, t1 = outCap.bytes()
	res.Stderr, t2 = errCap.bytes()
	res.Truncated = t1 || t2
	res.OutBytes = outCap.total + errCap.total
	if setupErr != nil {
		return res, setupErr
	}
	return res, nil
}

// pipes are the command's output pipes and, for a re-executed child, the
// pipe it reports setup errors and killing signals on.
type pipes struct {
	rOut, wOut, rErr, wErr *os.File
	errR, errW             *os.File // nil unless the launch is a re-executed child
}

// openPipes opens the pipes a launch needs; on an error none stays open.
func (l *launch) openPipes() (*pipes, error) {
	p := &pipes{}
	var err error
	if p.rOut, p.wOut, err = os.Pipe(); err != nil {
		return nil, factory.Errorf(factory.EINTERNAL, "pipe: %v", err)
	}
	if p.rErr, p.wErr, err = os.Pipe(); err != nil {
		p.closeAll()
		return nil, factory.Errorf(factory.EINTERNAL, "pipe: %v", err)
	}
	if l.child {
		if p.errR, p.errW, err = os.Pipe(); err != nil {
			p.closeAll()
			return nil, factory.Errorf(factory.EINTERNAL, "pipe: %v", err)
		}
	}
	return p, nil
}

func (p *pipes) closeAll() { closeAll(p.rOut, p.wOut, p.rErr, p.wErr, p.errR, p.errW) }

// start starts cmd and closes the write ends the child now holds; on an
// error every pipe is closed and the cgroup is gone.
func (l *launch) start(cmd *exec.Cmd, p *pipes) error {
	err := cmd.Start()
	closeAll(p.wOut, p.wErr, p.errW)
	if err == nil {
		return nil
	}
	closeAll(p.rOut, p.rErr, p.errR)
	l.cg.Destroy(time.Second)
	code := factory.EINTERNAL
	if errors.Is(err, os.ErrNotExist) {
		code = factory.ENOTFOUND
	}
	return factory.Errorf(code, "start: %v", err)
}

// copyOut copies both output pipes into their captures until EOF.
func (p *pipes) copyOut(out, errc io.Writer) *sync.WaitGroup {
	var copies sync.WaitGroup
	copies.Add(2)
	go func() { defer copies.Done(); _, _ = io.Copy(out, p.rOut) }()
	go func() { defer copies.Done(); _, _ = io.Copy(errc, p.rErr) }()
	return &copies
}

// readStatus reads the child's reports: a setup failure, or the signal that
// killed the target (pid 1 of a namespace cannot die of it itself). EOF
// comes at the exec of bwrap or at the exit of the native child. Nil when
// the launch is not a re-executed child.
func (p *pipes) readStatus() chan []byte {
	if p.errR == nil {
		return nil
	}
	status := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(p.errR); status <- b }()
	return status
}

// drain waits for the copies to end; pipes held by processes that escaped
// the group are cut after a grace.
func (p *pipes) drain(copies *sync.WaitGroup) []string {
	var notes []string
	copied := make(chan struct{})
	go func() { copies.Wait(); close(copied) }()
	select {
	case <-copied:
	case <-time.After(pipeGrace):
		closeAll(p.rOut, p.rErr)
		<-copied
		notes = append(notes, "output cut: a process outside the group kept the pipes open")
	}
	closeAll(p.rOut, p.rErr)
	return notes
}

// watchdog is the goroutine that kills the command on timeout or
// cancellation; its fields are read after done is closed.
type watchdog struct {
	done                chan struct{}
	timedOut, cancelled bool
}

// watch sends SIGTERM to everything on timeout or cancellation, and SIGKILL
// after the grace, unless exited is closed first.
func (l *launch) watch(ctx context.Context, timeout time.Duration, pid int, exited <-chan struct{}) *watchdog {
	w := &watchdog{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var timer <-chan time.Time
		if timeout > 0 {
			t := time.NewTimer(timeout)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-exited:
			return
		case <-timer:
			w.timedOut = true
		case <-ctx.Done():
			w.cancelled = true
		}
		l.signal(pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(killGrace):
			l.signal(pid, syscall.SIGKILL)
		}
	}()
	return w
}

// reap kills what is left of the command, removes its cgroup and reaps it;
// it returns the notes of the cgroup.
func (l *launch) reap(cmd *exec.Cmd, pid int) []string {
	l.signal(pid, syscall.SIGKILL)
	notes := l.cg.Events()
	if !l.cg.Destroy(5 * time.Second) {
		notes = append(notes, "some processes survived the cgroup kill")
	}
	_ = cmd.Wait() // reaps; its error is in ProcessState
	return notes
}

// childReport reads the re-executed child's report: a setup failure becomes
// the error, a killing signal goes into res.
func (l *launch) childReport(p *pipes, status chan []byte, res *Result) error {
	if status == nil {
		return nil
	}
	var msg []byte
	select {
	case msg = <-status:
	case <-time.After(pipeGrace):
		p.errR.Close()
		msg = <-status
	}
	p.errR.Close()
	kind, rest, _ := strings.Cut(string(msg), "\t")
	switch kind {
	case "error":
		code, text, _ := strings.Cut(rest, "\t")
		return factory.Errorf(code, "confine (%s): %s", l.mode, text)
	case "signal":
		if n, err := strconv.Atoi(rest); err == nil && res.ExitCode == 128+n {
			res.ExitCode, res.Signal = -1, syscall.Signal(n).String()
		}
	}
	return nil
}

// processTree lists pid, the processes below it and the members of its
// process group (orphans reparented away from the tree stay in the group),
// from one reading of /proc.
func processTree(pid int) []int {
	procs := readProcs()
	out := append([]int{pid}, procs.below(pid)...)
	for p, st := range procs {
		if st.pgrp == pid {
			out = append(out, p)
		}
	}
	return out
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			_ = f.Close()
		}
	}
}

// procStat is what factory reads of /proc/<pid>/stat.
type procStat struct{ ppid, pgrp int }

// procTable is a reading of every process's parent and process group.
type procTable map[int]procStat

// below lists the processes under pid, breadth first.
func (t procTable) below(pid int) []int {
	children := map[int][]int{}
	for p, st := range t {
		children[st.ppid] = append(children[st.ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// descendants lists the processes below pid, found through /proc.
func descendants(pid int) []int { return readProcs().below(pid) }
