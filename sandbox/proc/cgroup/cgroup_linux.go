package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Layout says where this process may create child cgroups for the
// memory and pids controllers. A dir is "" when the controller is unusable.
type Layout struct {
	Version string // "v1", "v2" or ""
	memV1   string // v1: <memory mount>/<own path>/factory
	pidsV1  string // v1: <pids mount>/<own path>/factory
	v2      string // v2: <cgroup2 mount>/<own path>/factory, with memory and pids enabled
	Notes   []string
}

// mountEntry is one line of /proc/self/mountinfo, reduced.
type mountEntry struct {
	point  string
	fstype string
	opts   []string // super options
}

func readMountinfo() []mountEntry {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 {
			continue
		}
		out = append(out, mountEntry{point: unescapeMount(a[4]), fstype: b[0], opts: strings.Split(b[2], ",")})
	}
	return out
}

// unescapeMount undoes the octal escapes of mountinfo (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroups parses /proc/self/cgroup: controller name -> path; "" is v2.
func ownCgroups() map[string]string {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

// Detect finds usable memory and pids controllers, preferring v1
// hierarchies when a controller is bound there (hybrid machines), else the
// unified v2 hierarchy when it offers the controller.
func Detect() Layout {
	var l Layout
	own := ownCgroups()
	mounts := readMountinfo()
	var v2mount string
	for _, m := range mounts {
		switch m.fstype {
		case "cgroup":
			for _, o := range m.opts {
				if p, ok := own[o]; ok && (o == "memory" || o == "pids") {
					dir := filepath.Join(m.point, p, "factory")
					if o == "memory" {
						l.memV1 = dir
					} else {
						l.pidsV1 = dir
					}
				}
			}
		case "cgroup2":
			if v2mount == "" {
				v2mount = m.point
			}
		}
	}
	if l.memV1 != "" || l.pidsV1 != "" {
		l.Version = "v1"
		if l.memV1 == "" {
			l.Notes = append(l.Notes, "memory limit not enforced: no memory cgroup controller")
		}
		if l.pidsV1 == "" {
			l.Notes = append(l.Notes, "process limit not enforced: no pids cgroup controller")
		}
		return l
	}
	if v2mount == "" {
		l.Notes = append(l.Notes, "memory and process limits not enforced: no cgroup hierarchy mounted")
		return l
	}
	p, ok := own[""]
	if !ok {
		l.Notes = append(l.Notes, "memory and process limits not enforced: not in a cgroup v2 hierarchy")
		return l
	}
	base := filepath.Join(v2mount, p)
	ctrl, _ := os.ReadFile(filepath.Join(v2mount, "cgroup.controllers"))
	if !hasWords(string(ctrl), "memory", "pids") {
		l.Notes = append(l.Notes, "memory and process limits not enforced: cgroup v2 lacks the memory or pids controller")
		return l
	}
	// Children of base can only get controllers if base enables them, which
	// the kernel refuses while base holds processes (unless it is the root).
	if err := enableControllers(base); err != nil {
		l.Notes = append(l.Notes, "memory and process limits not enforced: cannot delegate cgroup v2 controllers below "+base+": "+err.Error())
		return l
	}
	dir := filepath.Join(base, "factory")
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		l.Notes = append(l.Notes, "memory and process limits not enforced: "+err.Error())
		return l
	}
	if err := enableControllers(dir); err != nil {
		l.Notes = append(l.Notes, "memory and process limits not enforced: "+err.Error())
		return l
	}
	l.Version, l.v2 = "v2", dir
	return l
}

func hasWords(s string, words ...string) bool {
	f := strings.Fields(s)
	for _, w := range words {
		found := false
		for _, x := range f {
			if x == w {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func enableControllers(dir string) error {
	cur, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	if hasWords(string(cur), "memory", "pids") {
		return nil
	}
	return os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +pids"), 0)
}

var cgroupSeq atomic.Int64

// Group is the set of cgroup directories one run lives in.
type Group struct {
	v2   bool
	dirs []string // leaf directories, one per hierarchy
}

// New creates the run's cgroup(s) with the given limits. It returns
// nil and notes when limits cannot be enforced; it never fails the run.
func New(l Layout, memory int64, pids int) (*Group, []string) {
	notes := append([]string(nil), l.Notes...)
	id := fmt.Sprintf("%d-%d", os.Getpid(), cgroupSeq.Add(1))
	cg := &Group{}
	mk := func(parent string) (string, error) {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return "", err
		}
		d := filepath.Join(parent, id)
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", err
		}
		cg.dirs = append(cg.dirs, d)
		return d, nil
	}
	switch l.Version {
	case "v1":
		if l.memV1 != "" {
			if d, err := mk(l.memV1); err != nil {
				notes = append(notes, "memory limit not enforced: "+err.Error())
			} else {
				// Set memsw too (when swap accounting exists) so the limit is not
				// escaped into swap; it must be raised after the plain limit.
				if err := writeCg(d, "memory.limit_in_bytes", memory); err != nil {
					notes = append(notes, "memory limit not enforced: "+err.Error())
				}
				_ = writeCg(d, "memory.memsw.limit_in_bytes", memory)
			}
		}
		if l.pidsV1 != "" {
			if d, err := mk(l.pidsV1); err != nil {
				notes = append(notes, "process limit not enforced: "+err.Error())
			} else if err := writeCg(d, "pids.max", int64(pids)); err != nil {
				notes = append(notes, "process limit not enforced: "+err.Error())
			}
		}
	case "v2":
		cg.v2 = true
		if d, err := mk(l.v2); err != nil {
			notes = append(notes, "memory and process limits not enforced: "+err.Error())
		} else {
			if err := writeCg(d, "memory.max", memory); err != nil {
				notes = append(notes, "memory limit not enforced: "+err.Error())
			}
			_ = writeCg(d, "memory.swap.max", 0)
			if err := writeCg(d, "pids.max", int64(pids)); err != nil {
				notes = append(notes, "process limit not enforced: "+err.Error())
			}
		}
	}
	if len(cg.dirs) == 0 {
		return nil, notes
	}
	return cg, notes
}

func writeCg(dir, file string, v int64) error {
	return os.WriteFile(filepath.Join(dir, file), []byte(strconv.FormatInt(v, 10)), 0)
}

// ProcsFiles are the files a process writes its pid to, to join.
func (cg *Group) ProcsFiles() []string {
	if cg == nil {
		return nil
	}
	var out []string
	for _, d := range cg.dirs {
		out = append(out, filepath.Join(d, "cgroup.procs"))
	}
	return out
}

// Pids lists the processes in the run's cgroups.
func (cg *Group) Pids() []int {
	var out []int
	for _, d := range cg.dirs {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// Signal sends sig to every process in the run's cgroups.
func (cg *Group) Signal(sig syscall.Signal) {
	if cg == nil {
		return
	}
	if cg.v2 && sig == syscall.SIGKILL {
		for _, d := range cg.dirs {
			_ = os.WriteFile(filepath.Join(d, "cgroup.kill"), []byte("1"), 0)
		}
	}
	for _, p := range cg.Pids() {
		_ = syscall.Kill(p, sig)
	}
}

// Events reports limit hits as notes for the agent.
func (cg *Group) Events() []string {
	if cg == nil {
		return nil
	}
	var notes []string
	for _, d := range cg.dirs {
		for _, f := range []string{"memory.oom_control", "memory.events"} {
			if n := statField(filepath.Join(d, f), "oom_kill"); n > 0 {
				notes = append(notes, fmt.Sprintf("memory limit hit: %d process(es) killed by the OOM killer", n))
			}
		}
		if n := statField(filepath.Join(d, "pids.events"), "max"); n > 0 {
			notes = append(notes, fmt.Sprintf("process limit hit: %d fork(s) refused", n))
		}
	}
	return notes
}

func statField(path, name string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == name {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// Destroy kills whatever is left in the cgroups, waits for them to empty
// (at most limit) and removes them. It reports whether they emptied.
func (cg *Group) Destroy(limit time.Duration) bool {
	if cg == nil {
		return true
	}
	deadline := time.Now().Add(limit)
	empty := false
	for {
		if len(cg.Pids()) == 0 {
			empty = true
			break
		}
		if time.Now().After(deadline) {
			break
		}
		cg.Signal(syscall.SIGKILL)
		time.Sleep(2 * time.Millisecond)
	}
	for _, d := range cg.dirs {
		for i := 0; i < 50; i++ {
			err := os.Remove(d)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	return empty
}

// Full reports whether both limits, memory and processes, are in force: on
// v1 each lives in a hierarchy of its own, and either may be missing.
func (cg *Group) Full() bool { return cg != nil && (cg.v2 || len(cg.dirs) == 2) }
