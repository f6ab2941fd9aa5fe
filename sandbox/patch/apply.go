package patch

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/patch/hunks"
)

// Options tunes Apply.
type Options struct {
	// DryRun computes the full report and writes nothing.
	DryRun bool
	// Fuzz is how many context lines at each end of a hunk may be dropped
	// when the hunk matches nowhere exactly, 0 to MaxFuzz. Zero means exact
	// matches only.
	Fuzz int
	// MaxPatchBytes limits the patch text. Zero means DefaultMaxPatchBytes.
	MaxPatchBytes int
	// MaxWriteBytes limits the bytes the patch writes, all files together
	// (a copy or a mode change rewrites the whole file). Zero means
	// DefaultMaxWriteBytes.
	MaxWriteBytes int64
	// MaxFileBytes limits the size of each file the patch writes. Zero
	// means DefaultMaxFileBytes.
	MaxFileBytes int64

	// Set by tests only, to change the tree concurrently or fail a write
	// at these points: beforeWrite runs when everything was read and
	// checked, before the first write; beforeCommit once every write is
	// staged, before the files are checked and swapped in; beforeSwap just
	// before path is checked one last time and swapped in (an error fails
	// that swap, to prove the rollback).
	beforeWrite, beforeCommit func()
	beforeSwap                func(path string) error
	// beforeExchange runs between the last check of path and its exchange,
	// where only the check of the file taken out can see a change.
	beforeExchange func(path string)
	// beforeReuse runs before path is staged in the file, named tmp in
	// its directory, that the previous swap there took out.
	beforeReuse func(path, tmp string)
	// noExchange makes every swap check and rename, as on a file system
	// that cannot exchange two names, so tests cover that path too.
	noExchange bool
}

// Paths returns the workspace-relative paths a patch touches (old and new
// names of every file, each once, in patch order). Traditional a/ b/
// prefixes are stripped as if no file existed. It returns an EINVALID error
// for a corrupt or unsafe patch.
func Paths(text string) ([]string, error) {
	p, err := parse(text, 0, nil)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, fp := range p.files {
		for _, n := range []string{fp.oldPath, fp.newPath} {
			if n != "" && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// Apply applies the unified diff text to the tree under root, all or
// nothing: Prepare, then Write. Every resulting file is computed in memory
// and every path is checked before the first write; files are replaced
// atomically (swapped with a new file in the same directory); if a write
// fails, what was written is restored.
//
// Errors, always returned with the report so far (Applied false, nothing
// written):
//   - EINVALID: opt.Fuzz is outside 0 to MaxFuzz, or the patch is corrupt,
//     too large, would write more than opt.MaxWriteBytes (or one file over
//     opt.MaxFileBytes), or is unsafe (a path outside the root, into .git,
//     through a symlink, even one the patch removes...); the message names
//     the patch line and what is wrong.
//   - ECONFLICT: some hunks or files do not apply (report.Conflicts says
//     which, where, and what the file holds there), or a file changed on
//     disk while the patch applied (what was written is put back).
//   - EINTERNAL: reading or writing the tree failed (after a rollback).
//
// With opt.DryRun the same report is computed and nothing is written.
func Apply(ctx context.Context, root *os.Root, text string, opt Options) (factory.PatchReport, error) {
	p, rep, err := Prepare(ctx, root, text, opt)
	if err != nil || opt.DryRun {
		return rep, err
	}
	return p.Write(ctx)
}

// Prepared is a patch read and computed against a tree, not yet written.
type Prepared struct {
	t       *tree
	rep     factory.PatchReport
	written bool
}

// Prepare does all of Apply but the writes: it parses text, reads every
// file the patch touches and computes the result, and returns the report
// (Applied true only for opt.DryRun) with the errors Apply documents. The
// files are read once: Write checks that each is still as read, so the
// caller may take a lock or a snapshot between the two.
func Prepare(ctx context.Context, root *os.Root, text string, opt Options) (*Prepared, factory.PatchReport, error) {
	rep := factory.PatchReport{DryRun: opt.DryRun, Files: []factory.PatchFile{}}
	if err := ctx.Err(); err != nil {
		return nil, rep, factory.Wrap("apply patch", err)
	}
	if err := opt.validate(); err != nil {
		return nil, rep, err
	}
	exists := func(p string) bool {
		if checkPath(p) != nil {
			return false
		}
		_, err := root.Lstat(p)
		return err == nil
	}
	parsed, err := parse(text, opt.MaxPatchBytes, exists)
	if err != nil {
		return nil, rep, err
	}
	rep.Notes = parsed.notes
	t := &tree{root: root, opt: opt, readStart: time.Now(), nodes: map[string]*node{}, stats: map[string]lstat{}, budget: newBudget(opt),
		owner: [2]int{os.Geteuid(), os.Getegid()}}
	// Write opens its own handles: the patch may change which directories
	// exist, and a handle must not outlive the check that opened it.
	t.reading = true
	defer func() {
		t.resetDirs()
		t.reading = false
	}()
	t.prefetch(parsed.files)
	for _, fp := range parsed.files {
		if err := ctx.Err(); err != nil {
			return nil, rep, factory.Wrap("apply patch", err)
		}
		pf, conflicts, err := t.applyFile(fp)
		if err != nil {
			return nil, rep, err
		}
		rep.Notes = append(rep.Notes, fileNotes(fp, pf)...)
		rep.Files = append(rep.Files, pf)
		rep.Conflicts = append(rep.Conflicts, conflicts...)
	}
	rep.Conflicts = append(rep.Conflicts, t.finalChecks()...)
	if len(rep.Conflicts) > 0 {
		return nil, rep, conflictError(rep.Conflicts)
	}
	if err := t.checkLinks(); err != nil {
		return nil, rep, err
	}
	rep.Applied = opt.DryRun
	return &Prepared{t: t, rep: rep}, rep, nil
}

// Write writes the prepared patch, all or nothing, refusing (ECONFLICT,
// nothing written) if a file changed on disk since Prepare read it. It
// returns the report with Applied true, or the errors Apply documents. A
// prepared dry run, or a second Write, is refused (EINVALID).
func (p *Prepared) Write(ctx context.Context) (factory.PatchReport, error) {
	rep := p.rep
	if p.t.opt.DryRun || p.written {
		return rep, factory.Errorf(factory.EINVALID, "apply patch: this prepared patch is a dry run or was already written; prepare it again")
	}
	p.written = true
	if err := ctx.Err(); err != nil {
		return rep, factory.Wrap("apply patch", err)
	}
	defer p.t.resetDirs()
	defer p.t.forgetContents()
	if err := p.t.write(); err != nil {
		return rep, err
	}
	rep.Applied = true
	return rep, nil
}

// forgetContents drops every node, then gives the buffers of their
// contents back (buffers.go).
func (t *tree) forgetContents() {
	t.nodes, t.preload, t.order = nil, nil, nil
	t.buf.release()
}

// fileNotes are the report's notes on one applied file section.
func fileNotes(fp *filePatch, pf factory.PatchFile) []string {
	var notes []string
	if fp.created {
		notes = append(notes, fmt.Sprintf("%s: created (the file did not exist and the patch only adds lines at -0,0)", pf.Path))
	}
	for _, o := range pf.Offsets {
		dir, n := "later", o.Offset
		if n < 0 {
			dir, n = "earlier", -n
		}
		notes = append(notes, fmt.Sprintf("%s hunk %d: applied %d line(s) %s than its header says (the context matched exactly there)", pf.Path, o.Hunk, n, dir))
	}
	if pf.Fuzz > 0 {
		notes = append(notes, fmt.Sprintf("%s: applied with fuzz %d (context lines ignored at hunk ends)", pf.Path, pf.Fuzz))
	}
	return notes
}

func conflictError(cs []factory.HunkConflict) error {
	files := map[string]bool{}
	for _, c := range cs {
		files[c.File] = true
	}
	c := cs[0]
	where := fmt.Sprintf("%s hunk %d at line %d", c.File, c.Hunk, c.Line)
	if c.Hunk == 0 {
		where = c.File
	}
	return factory.Errorf(factory.ECONFLICT, "patch does not apply, nothing was written: %d conflict(s) in %d file(s); first: %s: %s",
		len(cs), len(files), where, c.Reason)
}

// node is one path of the tree: as on disk when first seen, and as the
// patch leaves it so far.
type node struct {
	path string
	dir  bool // a directory on disk: no file operation may use it

	origExists, origLink bool
	origData             []byte
	origPerm             fs.FileMode
	origInfo             fs.FileInfo

	exists, link bool
	data         []byte
	perm         fs.FileMode
	exactPerm    bool // perm must be set exactly (else created with perm & ~umask)
	touched      bool
}

type lstat struct {
	info fs.FileInfo
	err  error
}

// tree is the in-memory state of every path the patch reads or writes.
type tree struct {
	root      *os.Root
	opt       Options
	readStart time.Time // before the first file was read

	mu       sync.Mutex          // guards dirs, dirFiles and stats, used by parallel loads and writes
	dirs     map[string]*os.Root // directories opened without symlinks (dirs.go)
	dirFiles map[string]*os.File // the same directories as files, for exchange
	readDirs map[string]int      // Prepare's directory descriptors (sys_linux.go)
	reading  bool                // in Prepare: directories are read through readDirs
	stats    map[string]lstat

	owner [2]int // this process's effective user and group ids

	// noExchange is set once exchange reports that the file system cannot
	// swap two names: every later swap checks and renames instead.
	noExchange atomic.Bool

	nodes   map[string]*node
	order   []string
	preload map[string]loaded // read ahead in parallel; consumed by get
	budget  budget            // what the patch may still write
	buf     arena             // file contents read and computed, given back after Write
}

func (t *tree) lstat(p string) (fs.FileInfo, error) {
	t.mu.Lock()
	s, ok := t.stats[p]
	t.mu.Unlock()
	if ok {
		return s.info, s.err
	}
	info, err := t.root.Lstat(p)
	t.mu.Lock()
	t.stats[p] = lstat{info, err}
	t.mu.Unlock()
	return info, err
}

// loaded is the result of reading one path.
type loaded struct {
	n    *node
	info fs.FileInfo
	err  error
}

// load reads p from disk: its type, content (or link target) and mode. It
// touches no shared state but the directory cache, so loads run in
// parallel.
func (t *tree) load(p string) loaded {
	n := &node{path: p}
	dr, base, err := t.locate(p)
	var sl *symlinkOnPath
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return loaded{n: n} // a directory is missing or is a file: p does not exist
	case errors.As(err, &sl):
		return loaded{err: symlinkRefusal(p, sl)}
	case err != nil:
		return loaded{err: err}
	}
	info, err := t.lstatIn(dr, p, base)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return loaded{n: n}
	case err != nil:
		return loaded{err: err}
	case info.IsDir():
		n.dir = true
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := t.readlinkIn(dr, p, base)
		if err != nil {
			return loaded{err: err}
		}
		n.origExists, n.origLink, n.origData = true, true, []byte(target)
	case info.Mode().IsRegular():
		data, err := t.readRegular(dr, p, info.Size())
		if err != nil {
			return loaded{err: err}
		}
		n.origExists, n.origData, n.origPerm = true, data, info.Mode().Perm()
	}
	n.origInfo = info
	return loaded{n: n, info: info}
}

// prefetch reads, in parallel, every path the patch will read whose
// directories pass checkAncestors. Anything unusual is left to get, which
// reports it in patch order.
func (t *tree) prefetch(files []*filePatch) {
	var paths []string
	seen := map[string]bool{}
	early := earlyText(files)
	for _, fp := range files {
		for _, p := range []string{fp.oldPath, fp.newPath} {
			if p != "" && !seen[p] && t.checkAncestors(p, 0) == nil {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	res := make([]loaded, len(paths))
	parallel(len(paths), func(i int) {
		res[i] = t.load(paths[i])
		if fp := early[paths[i]]; fp != nil && res[i].err == nil && res[i].n.origExists && !res[i].n.origLink {
			fp.early = t.applyText(fp, res[i].n.origData)
		}
	})
	t.preload = make(map[string]loaded, len(paths))
	for i, p := range paths {
		if res[i].err == nil {
			t.preload[p] = res[i]
		}
	}
}

// parallel runs fn(0..n-1) on a few goroutines: file system calls, not CPU,
// are the cost, so a handful in flight beats one at a time.
func parallel(n int, fn func(int)) {
	workers := min(n, parallelism)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// get returns the node of p, loading it on first use. It refuses
// (EINVALID) a path beyond a symlink and a special file.
func (t *tree) get(p string, line int) (*node, error) {
	if n, ok := t.nodes[p]; ok {
		return n, nil
	}
	if err := t.checkAncestors(p, line); err != nil {
		return nil, err
	}
	l, ok := t.preload[p]
	if !ok {
		l = t.load(p)
	}
	if l.err != nil {
		return nil, factory.Wrap("apply patch: read "+p, l.err)
	}
	n := l.n
	if l.info != nil && !n.dir && !n.origExists {
		return nil, factory.Errorf(factory.EINVALID, "patch line %d: %s is a %s, not a regular file or symlink; it cannot be patched", line, p, l.info.Mode().Type())
	}
	n.exists, n.link, n.data, n.perm, n.exactPerm = n.origExists, n.origLink, n.origData, n.origPerm, n.origExists
	t.nodes[p] = n
	t.order = append(t.order, p)
	return n, nil
}

// checkAncestors refuses p when a directory on its way is a symlink: a
// write there would land wherever the link points (perhaps outside the
// workspace, perhaps in .git).
func (t *tree) checkAncestors(p string, line int) error {
	var dirs []string
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		dirs = append(dirs, d)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if n, ok := t.nodes[d]; ok && !n.dir {
			if n.origLink {
				// Whatever the patch makes of the symlink, a path under
				// it on disk leads where the link points.
				return factory.Errorf(factory.EINVALID,
					"patch line %d: path %q lies under %q, a symlink on disk (-> %q) that this patch also changes; a patch cannot turn a symlink into a directory: remove the symlink with one patch, then add the files with another",
					line, p, d, n.origData)
			}
			return nil // a file of this patch; finalChecks reports the clash
		}
		info, err := t.lstat(d)
		if err != nil {
			return nil // does not exist: nothing deeper does
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			target, _ := t.root.Readlink(d)
			where := "elsewhere in the workspace"
			if _, err := t.root.Stat(d); err != nil {
				where = "outside the workspace"
			}
			return factory.Errorf(factory.EINVALID,
				"patch line %d: path %q goes through the symlink %q (-> %q, which leads %s); patch the real path instead",
				line, p, d, target, where)
		}
		if !info.IsDir() {
			return nil
		}
	}
	return nil
}

// fileConflict is a file-level refusal.
func fileConflict(fp *filePatch, file, reason string) factory.HunkConflict {
	return factory.HunkConflict{File: file, Hunk: 0, Header: strings.TrimSuffix(firstLine(fp), "\n"), Line: 0, Reason: reason}
}

func firstLine(fp *filePatch) string { return fmt.Sprintf("patch line %d", fp.line) }

const (
	modeType    = 0o170000
	modeLink    = 0o120000
	modeGitlink = 0o160000
)

func withExec(perm fs.FileMode, exec bool) fs.FileMode {
	if exec {
		return perm | (perm&0o444)>>2
	}
	return perm &^ 0o111
}

// applyFile applies one file section to the in-memory tree, in phases:
// describe the section, find its source and destination, compute the new
// content, and set the destination's new state.
func (t *tree) applyFile(fp *filePatch) (factory.PatchFile, []factory.HunkConflict, error) {
	if err := t.creates(fp); err != nil {
		return factory.PatchFile{Path: fp.name()}, nil, err
	}
	pf := describe(fp)
	if err := unsupported(fp, pf.Path); err != nil {
		return pf, nil, err
	}
	src, dst, conflicts, err := t.endpoints(fp)
	if err != nil || len(conflicts) > 0 {
		return pf, conflicts, err
	}
	var base []byte
	if src != nil {
		base = src.data
	}
	result, conflicts, err := t.content(fp, base, &pf)
	if err != nil || len(conflicts) > 0 {
		return pf, conflicts, err
	}
	if fp.f.IsDelete {
		if len(result) > 0 {
			return pf, []factory.HunkConflict{fileConflict(fp, fp.oldPath,
				fmt.Sprintf("the deletion patch leaves %d bytes in %s: the file has lines the patch does not remove", len(result), fp.oldPath))}, nil
		}
		src.exists, src.touched, src.data = false, true, nil
		return pf, nil, nil
	}
	if err := t.budget.charge(fp.line, pf.Path, int64(len(result))); err != nil {
		return pf, nil, err
	}
	setNode(fp.f, src, dst, result)
	return pf, nil, nil
}

// creates turns a traditional patch whose hunks all start at -0,0 into a
// creation when the file does not exist, as GNU patch does, even without
// /dev/null.
func (t *tree) creates(fp *filePatch) error {
	f := fp.f
	if fp.seg.git || f.IsNew || f.IsDelete || !onlyAdds(f) {
		return nil
	}
	n, err := t.get(fp.oldPath, fp.line)
	if err != nil {
		return err
	}
	if !n.exists && !n.dir {
		f.IsNew, fp.oldPath, fp.created = true, "", true
	}
	return nil
}

// describe is what the report says of a file section before it is applied.
func describe(fp *filePatch) factory.PatchFile {
	f := fp.f
	pf := factory.PatchFile{Path: fp.name(), Hunks: len(f.TextFragments)}
	switch {
	case f.IsNew:
		pf.Status = factory.StatusAdded
	case f.IsDelete:
		pf.Status = factory.StatusDeleted
	case f.IsRename:
		pf.Status, pf.OldPath = factory.StatusRenamed, fp.oldPath
	case f.IsCopy:
		pf.Status, pf.OldPath = factory.StatusCopied, fp.oldPath
	case len(f.TextFragments) == 0 && !f.IsBinary && f.NewMode != 0 && f.OldMode != f.NewMode:
		pf.Status = factory.StatusMode
	default:
		pf.Status = factory.StatusModified
	}
	for _, hunk := range fp.hunks {
		pf.Recounted = pf.Recounted || hunk.recounted
	}
	if f.BinaryFragment != nil {
		pf.Hunks = 1
	}
	return pf
}

// unsupported refuses the sections no patch can apply: submodules and
// binary changes without data.
func unsupported(fp *filePatch, path string) error {
	f := fp.f
	if f.OldMode&modeType == modeGitlink || f.NewMode&modeType == modeGitlink {
		return factory.Errorf(factory.EINVALID, "patch line %d: %s is a submodule (gitlink); submodule changes cannot be applied as patches", fp.line, path)
	}
	if f.IsBinary && f.BinaryFragment == nil {
		return factory.Errorf(factory.EINVALID, "patch line %d: %s is a binary change without data (\"Binary files differ\"); make the patch with git diff --binary", fp.line, path)
	}
	return nil
}

// endpoints finds the section's source (nil for a creation) and destination
// nodes, refusing what the tree does not allow.
func (t *tree) endpoints(fp *filePatch) (src, dst *node, conflicts []factory.HunkConflict, err error) {
	f := fp.f
	if !f.IsNew {
		if src, err = t.get(fp.oldPath, fp.line); err != nil {
			return nil, nil, nil, err
		}
		switch {
		case src.dir:
			return nil, nil, []factory.HunkConflict{fileConflict(fp, fp.oldPath, fp.oldPath+" is a directory in the workspace")}, nil
		case !src.exists:
			return nil, nil, []factory.HunkConflict{fileConflict(fp, fp.oldPath, fp.oldPath+" does not exist in the workspace (check the path, or whether an earlier change renamed or deleted it)")}, nil
		}
		patchLink := f.OldMode&modeType == modeLink
		if src.link && !patchLink {
			return nil, nil, nil, factory.Errorf(factory.EINVALID,
				"patch line %d: %s is a symlink in the workspace (-> %q) but the patch edits it as a regular file; patch the file it points to instead",
				fp.line, fp.oldPath, src.data)
		}
		if !src.link && patchLink {
			return nil, nil, []factory.HunkConflict{fileConflict(fp, fp.oldPath, fp.oldPath+" is a regular file but the patch expects a symlink")}, nil
		}
	}
	if !f.IsNew && !f.IsRename && !f.IsCopy {
		return src, src, nil, nil
	}
	if dst, err = t.get(fp.newPath, fp.line); err != nil {
		return nil, nil, nil, err
	}
	switch {
	case dst.dir:
		return nil, nil, []factory.HunkConflict{fileConflict(fp, fp.newPath, fp.newPath+" is a directory in the workspace")}, nil
	case dst.exists && dst != src:
		return nil, nil, []factory.HunkConflict{fileConflict(fp, fp.newPath, fp.newPath+" already exists in the workspace")}, nil
	}
	return src, dst, nil, nil
}

// content computes the new content from base: the binary patch, the text
// hunks (counting applied hunks, offsets and fuzz into pf), or base itself
// for a section without hunks.
func (t *tree) content(fp *filePatch, base []byte, pf *factory.PatchFile) ([]byte, []factory.HunkConflict, error) {
	f := fp.f
	switch {
	case f.BinaryFragment != nil:
		result, c, err := applyBinary(fp, base, &t.budget)
		if err != nil {
			return nil, nil, err
		}
		if c != nil {
			return nil, []factory.HunkConflict{*c}, nil
		}
		pf.Applied = 1
		return result, nil, nil
	case len(f.TextFragments) > 0:
		r := fp.early
		if r == nil || !sameBytes(r.base, base) {
			r = t.applyText(fp, base)
		}
		pf.Applied, pf.Offsets, pf.Fuzz = r.Applied, r.Offsets, r.Fuzz
		return r.Data, r.Conflicts, nil
	default:
		return base, nil, nil
	}
}

// setNode gives dst its new state: the content, whether it is a symlink,
// and its permissions (kept exactly when the source had them, otherwise
// from the patch's mode); a rename removes the source.
func setNode(f *gitdiff.File, src, dst *node, result []byte) {
	link := src != nil && src.link
	if f.NewMode != 0 {
		link = f.NewMode&modeType == modeLink
	}
	perm, exact := fs.FileMode(0o666), false
	if src != nil && !src.link {
		perm, exact = src.perm, true
	}
	if f.NewMode != 0 && (f.OldMode != f.NewMode || f.IsNew || !exact) {
		exec := f.NewMode&0o111 != 0
		if exact {
			perm = withExec(perm, exec)
		} else if exec {
			perm = 0o777
		}
	}
	if f.IsRename {
		src.exists, src.touched, src.data = false, true, nil
	}
	dst.exists, dst.link, dst.data, dst.perm, dst.exactPerm, dst.touched = true, link, result, perm, exact, true
}

// applyBinary applies a git binary patch (literal or delta), checking the
// preimage against the index line's full object id when there is one.
func applyBinary(fp *filePatch, base []byte, b *budget) ([]byte, *factory.HunkConflict, error) {
	f := fp.f
	name := fp.name()
	if want := f.OldOIDPrefix; !f.IsNew && isFullOID(want) {
		if got := blobID(base, len(want)); got != want {
			c := fileConflict(fp, name, fmt.Sprintf("binary file %s is not the one the patch was made from (blob %s, patch expects %s)", name, got[:12], want[:12]))
			return nil, &c, nil
		}
	}
	// Refuse an oversized result from its declared size, before inflating
	// anything; the applier's own limit stops a size that lies.
	if n, ok := binaryResultSize(f.BinaryFragment); ok {
		if err := b.check(fp.line, name, n); err != nil {
			return nil, nil, err
		}
	}
	var buf bytes.Buffer
	a := gitdiff.NewBinaryApplier(&buf, bytes.NewReader(base), gitdiff.WithMaxBinaryFragmentBytes(b.allowed()))
	err := a.ApplyFragment(f.BinaryFragment)
	if err == nil {
		err = a.Close()
	}
	if err != nil {
		if errors.Is(err, &gitdiff.Conflict{}) {
			c := fileConflict(fp, name, fmt.Sprintf("binary patch for %s does not match the file: %v", name, err))
			return nil, &c, nil
		}
		return nil, nil, factory.Errorf(factory.EINVALID, "patch line %d: binary patch for %s is corrupt: %v", fp.line, name, err)
	}
	out := buf.Bytes()
	if want := f.NewOIDPrefix; isFullOID(want) {
		if got := blobID(out, len(want)); got != want {
			return nil, nil, factory.Errorf(factory.EINVALID, "patch line %d: binary patch for %s produces blob %s, not %s as its index line says; the patch is corrupt", fp.line, name, got[:12], want[:12])
		}
	}
	return out, nil, nil
}

func isFullOID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0") != ""
}

// blobID is git's object id of a blob with data (sha1 or sha256 by length).
func blobID(data []byte, n int) string {
	hdr := fmt.Sprintf("blob %d\x00", len(data))
	if n == 64 {
		h := sha256.New()
		h.Write([]byte(hdr))
		h.Write(data)
		return hex.EncodeToString(h.Sum(nil))
	}
	h := sha1.New()
	h.Write([]byte(hdr))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// finalChecks reports files the patch creates under a path that is (or
// stays) a file.
func (t *tree) finalChecks() []factory.HunkConflict {
	var out []factory.HunkConflict
	for _, p := range t.order {
		n := t.nodes[p]
		if !n.touched || !n.exists || n.origExists {
			continue
		}
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if dn, ok := t.nodes[d]; ok {
				if dn.exists {
					out = append(out, factory.HunkConflict{File: p, Reason: fmt.Sprintf("cannot create %s: %s is a file", p, d)})
				}
				break
			}
			if info, err := t.lstat(d); err == nil && !info.IsDir() {
				out = append(out, factory.HunkConflict{File: p, Reason: fmt.Sprintf("cannot create %s: %s is a file", p, d)})
				break
			}
		}
	}
	return out
}

// checkLinks checks the final target of every symlink the patch writes: it
// must stay inside the workspace, out of .git, and not pass through another
// symlink (whose own target could lead anywhere).
func (t *tree) checkLinks() error {
	for _, p := range t.order {
		n := t.nodes[p]
		if !n.touched || !n.exists || !n.link || (n.origLink && bytes.Equal(n.data, n.origData)) {
			continue
		}
		target := string(n.data)
		if err := checkLinkTarget(p, target); err != nil {
			return factory.Errorf(factory.EINVALID, "unsafe patch, nothing was written: symlink %q -> %q %v", p, target, err)
		}
		cur := path.Dir(p)
		parts := strings.Split(target, "/")
		for i, c := range parts {
			switch c {
			case "", ".":
				continue
			case "..":
				cur = path.Dir(cur)
				continue
			}
			cur = path.Join(cur, c)
			isLink := false
			if dn, ok := t.nodes[cur]; ok && dn.touched {
				isLink = dn.exists && dn.link
			} else if info, err := t.lstat(cur); err == nil {
				isLink = info.Mode()&fs.ModeSymlink != 0
			}
			if isLink && i < len(parts)-1 || isLink && cur != p && i == len(parts)-1 {
				return factory.Errorf(factory.EINVALID, "unsafe patch, nothing was written: symlink %q -> %q passes through the symlink %q; point it at the real path", p, target, cur)
			}
		}
	}
	return nil
}

// onlyAdds reports whether every hunk of f starts at -0,0.
func onlyAdds(f *gitdiff.File) bool {
	for _, fr := range f.TextFragments {
		if fr.OldPosition != 0 || fr.OldLines != 0 {
			return false
		}
	}
	return len(f.TextFragments) > 0
}

// parallelism is how many file operations run at once.
const parallelism = 8

// textResult is what a file section's text hunks made of base.
type textResult struct {
	base []byte
	hunks.Result
}

// applyText applies fp's text hunks to base.
func (t *tree) applyText(fp *filePatch, base []byte) *textResult {
	opt := hunks.Options{File: fp.name(), Header: func(k int) string { return fp.hunks[k].header }, Fuzz: t.opt.Fuzz, Alloc: t.buf.alloc}
	return &textResult{base: base, Result: hunks.Apply(base, fp.f, opt)}
}

// sameBytes reports whether a and b are the very same bytes in memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && unsafe.SliceData(a) == unsafe.SliceData(b)
}

// earlyText returns the file sections whose hunks can be applied while
// their file is read: text edits in place of a path no other section of
// the patch names. Any other section is applied in patch order.
func earlyText(files []*filePatch) map[string]*filePatch {
	count := map[string]int{}
	for _, fp := range files {
		count[fp.oldPath]++
		if fp.newPath != fp.oldPath {
			count[fp.newPath]++
		}
	}
	out := map[string]*filePatch{}
	for _, fp := range files {
		f := fp.f
		if fp.oldPath != "" && fp.oldPath == fp.newPath && count[fp.oldPath] == 1 && !f.IsNew && !f.IsDelete && !f.IsRename && !f.IsCopy &&
			f.BinaryFragment == nil && len(f.TextFragments) > 0 && (fp.seg.git || !onlyAdds(f)) && f.OldMode&modeType != modeLink {
			out[fp.oldPath] = fp
		}
	}
	return out
}
