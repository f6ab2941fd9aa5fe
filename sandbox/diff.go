package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// DefaultMaxPatch is the cap on SnapshotDiff.Patch when Diff is given 0.
const DefaultMaxPatch = 32 << 10

// diffContext is the number of unchanged lines around each hunk, as git's
// default.
const diffContext = 3

// binarySniff is how many leading bytes git inspects for a NUL byte to
// decide that a file is binary.
const binarySniff = 8000

// renameMinScore is git's default similarity threshold for renames (50%).
const renameMinScore = 50

// renameMaxPairs caps inexact rename detection (candidate pairs compared);
// beyond it only exact renames are found, like git's diff.renameLimit.
const renameMaxPairs = 400 * 400

// Diff compares snapshot from with snapshot to, or with the live tree when
// to is "" (the live tree is captured as a snapshot first, which is reused
// when nothing changed since the latest one). It returns a stat per file
// (renames detected as git does by default, at 50% similarity) and a
// git-style unified diff cut at maxPatch bytes (0 means DefaultMaxPatch),
// with Truncated and FullBytes saying how much there was.
//
// Errors: EINVALID for a malformed id, ENOTFOUND for an id that names no
// snapshot; EINTERNAL for a fault reading the object store. Diff never
// writes the user's index, HEAD, branches or working tree.
func (w *Workspace) Diff(ctx context.Context, from, to string, maxPatch int) (factory.SnapshotDiff, error) {
	if maxPatch <= 0 {
		maxPatch = DefaultMaxPatch
	}
	files, patch, err := w.diffByID(ctx, from, to, true)
	if err != nil {
		return factory.SnapshotDiff{}, err
	}
	d := factory.SnapshotDiff{From: from, To: to, Files: files, FullBytes: len(patch)}
	if len(patch) > maxPatch {
		cut := strings.LastIndexByte(patch[:maxPatch], '\n') + 1
		d.Patch, d.Truncated = patch[:cut], true
	} else {
		d.Patch = patch
	}
	if d.Files == nil {
		d.Files = []factory.FileStat{}
	}
	return d, nil
}

// FullDiff returns the whole unified diff between from and to (to "" is the
// live tree), uncapped. Errors as Diff.
func (w *Workspace) FullDiff(ctx context.Context, from, to string) (string, error) {
	_, patch, err := w.diffByID(ctx, from, to, true)
	return patch, err
}

func (w *Workspace) diffByID(ctx context.Context, from, to string, renames bool) ([]factory.FileStat, string, error) {
	op := "diff " + from + ".." + to
	if to == "" {
		op = "diff " + from + "..live"
	}
	_, ta, err := w.snapTree(ctx, from)
	if err != nil {
		return nil, "", factory.Wrap(op, err)
	}
	var tb plumbing.Hash
	if to == "" {
		if _, tb, err = w.captureLive(ctx, ""); err != nil {
			return nil, "", factory.Wrap(op, err)
		}
	} else if _, tb, err = w.snapTree(ctx, to); err != nil {
		return nil, "", factory.Wrap(op, err)
	}
	files, patch, err := w.diffTreeHashes(ctx, ta, tb, renames)
	if err != nil {
		return nil, "", factory.Wrap(op, err)
	}
	return files, patch, nil
}

// filePair is one entry of a diff after rename detection.
type filePair struct {
	oldPath, newPath string
	from, to         *treeEntry
	oldData, newData []byte
	score            int // similarity for renames, percent
}

// diffTreeHashes computes the stat and the whole patch between two trees.
func (w *Workspace) diffTreeHashes(ctx context.Context, a, b plumbing.Hash, renames bool) ([]factory.FileStat, string, error) {
	changes, err := w.diffTrees(ctx, a, b)
	if err != nil {
		return nil, "", err
	}
	// Read every blob involved once.
	need := map[plumbing.Hash]bool{}
	for _, c := range changes {
		if c.From != nil && c.From.Mode != filemode.Submodule {
			need[c.From.Hash] = true
		}
		if c.To != nil && c.To.Mode != filemode.Submodule {
			need[c.To.Hash] = true
		}
	}
	hashes := make([]plumbing.Hash, 0, len(need))
	for h := range need {
		hashes = append(hashes, h)
	}
	blobs, err := w.blobMap(ctx, hashes)
	if err != nil {
		return nil, "", err
	}
	content := func(e *treeEntry) []byte {
		if e == nil {
			return nil
		}
		if e.Mode == filemode.Submodule {
			return []byte("Subproject commit " + e.Hash.String() + "\n")
		}
		return blobs[e.Hash]
	}
	var pairs []filePair
	for _, c := range changes {
		pairs = append(pairs, filePair{oldPath: c.Path, newPath: c.Path, from: c.From, to: c.To,
			oldData: content(c.From), newData: content(c.To)})
	}
	if renames {
		pairs = detectRenames(pairs)
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].newPath < pairs[j].newPath })

	var stats []factory.FileStat
	var buf bytes.Buffer
	for _, p := range pairs {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		stats = append(stats, writeFilePatch(&buf, p))
	}
	return stats, buf.String(), nil
}

// blobMap reads the given blobs into a map, in parallel when there are many.
func (w *Workspace) blobMap(ctx context.Context, hashes []plumbing.Hash) (map[plumbing.Hash][]byte, error) {
	out := make(map[plumbing.Hash][]byte, len(hashes))
	if len(hashes) < 64 {
		for _, h := range hashes {
			b, err := w.readBlob(h)
			if err != nil {
				return nil, err
			}
			out[h] = b
		}
		return out, nil
	}
	var mu = make(chan struct{}, 1)
	err := w.readBlobs(ctx, hashes, func(h plumbing.Hash, b []byte) error {
		mu <- struct{}{}
		out[h] = b
		<-mu
		return nil
	})
	return out, err
}

func isBinary(b []byte) bool {
	if len(b) > binarySniff {
		b = b[:binarySniff]
	}
	return bytes.IndexByte(b, 0) >= 0
}

// kind groups modes the way git decides a typechange: regular files
// (either exec bit), symlinks, gitlinks.
func kind(m filemode.FileMode) int {
	switch m {
	case filemode.Symlink:
		return 1
	case filemode.Submodule:
		return 2
	}
	return 0
}

// detectRenames pairs deleted and added paths: exact renames (same blob and
// kind) first, then, for regular text files, by line similarity at git's
// default threshold. Typechanges are never renames.
func detectRenames(pairs []filePair) []filePair {
	var dels, adds []int
	for i, p := range pairs {
		switch {
		case p.from != nil && p.to == nil:
			dels = append(dels, i)
		case p.from == nil && p.to != nil:
			adds = append(adds, i)
		}
	}
	if len(dels) == 0 || len(adds) == 0 {
		return pairs
	}
	usedDel := map[int]bool{}
	matched := map[int]int{} // add index -> del index
	scores := map[int]int{}
	byHash := map[plumbing.Hash][]int{}
	for _, d := range dels {
		byHash[pairs[d].from.Hash] = append(byHash[pairs[d].from.Hash], d)
	}
	for _, a := range adds {
		for _, d := range byHash[pairs[a].to.Hash] {
			if !usedDel[d] && kind(pairs[d].from.Mode) == kind(pairs[a].to.Mode) {
				usedDel[d] = true
				matched[a] = d
				scores[a] = 100
				break
			}
		}
	}
	if len(dels)*len(adds) <= renameMaxPairs {
		type cand struct{ a, d, score int }
		var cands []cand
		for _, a := range adds {
			if _, ok := matched[a]; ok || !pairs[a].to.isFile() {
				continue
			}
			nb := pairs[a].newData
			for _, d := range dels {
				if usedDel[d] || !pairs[d].from.isFile() {
					continue
				}
				ob := pairs[d].oldData
				mx, mn := len(ob), len(nb)
				if mn > mx {
					mx, mn = mn, mx
				}
				if mx == 0 || (mx-mn)*100 > (100-renameMinScore)*mx {
					continue // sizes too far apart to reach the threshold
				}
				if isBinary(ob) != isBinary(nb) {
					continue
				}
				s := similarity(ob, nb)
				if s >= renameMinScore {
					cands = append(cands, cand{a, d, s})
				}
			}
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
		for _, c := range cands {
			if usedDel[c.d] {
				continue
			}
			if _, ok := matched[c.a]; ok {
				continue
			}
			usedDel[c.d] = true
			matched[c.a] = c.d
			scores[c.a] = c.score
		}
	}
	var out []filePair
	for i, p := range pairs {
		if usedDel[i] {
			continue
		}
		if d, ok := matched[i]; ok {
			od := pairs[d]
			p.oldPath, p.from, p.oldData, p.score = od.oldPath, od.from, od.oldData, scores[i]
		}
		out = append(out, p)
	}
	return out
}

// similarity is the share (percent) of the larger file's bytes found in
// lines common to both files.
func similarity(a, b []byte) int {
	if bytes.Equal(a, b) {
		return 100
	}
	la, lb := splitLines(a), splitLines(b)
	common := 0
	i := 0
	for _, e := range diffLines(la, lb) {
		for ; i < e.A0; i++ {
			common += len(la[i])
		}
		i = e.A1
	}
	for ; i < len(la); i++ {
		common += len(la[i])
	}
	mx := max(len(a), len(b))
	return common * 100 / mx
}

// writeFilePatch writes one file's git-style patch to buf and returns its
// stat line.
func writeFilePatch(buf *bytes.Buffer, p filePair) factory.FileStat {
	st := factory.FileStat{Path: p.newPath}
	if p.to == nil {
		st.Path = p.oldPath
	}
	bin := (p.from != nil && isBinary(p.oldData)) || (p.to != nil && isBinary(p.newData))
	st.Binary = bin
	switch {
	case p.from == nil:
		st.Status = factory.StatusAdded
	case p.to == nil:
		st.Status = factory.StatusDeleted
	case p.oldPath != p.newPath:
		st.Status = factory.StatusRenamed
		st.OldPath = p.oldPath
	case kind(p.from.Mode) != kind(p.to.Mode):
		st.Status = factory.StatusType
	case p.from.Hash == p.to.Hash:
		st.Status = factory.StatusMode
	default:
		st.Status = factory.StatusModified
	}

	// A typechange is written as git does: a deletion then an addition.
	if st.Status == factory.StatusType {
		d := writeFilePatch(buf, filePair{oldPath: p.oldPath, newPath: p.oldPath, from: p.from, oldData: p.oldData})
		a := writeFilePatch(buf, filePair{oldPath: p.newPath, newPath: p.newPath, to: p.to, newData: p.newData})
		st.Additions, st.Deletions = d.Additions+a.Additions, d.Deletions+a.Deletions
		st.Binary = d.Binary || a.Binary
		return st
	}

	aName, bName := quoteName("a/"+p.oldPath), quoteName("b/"+p.newPath)
	fmt.Fprintf(buf, "diff --git %s %s\n", aName, bName)
	switch {
	case p.from == nil:
		fmt.Fprintf(buf, "new file mode %o\n", uint32(p.to.Mode))
	case p.to == nil:
		fmt.Fprintf(buf, "deleted file mode %o\n", uint32(p.from.Mode))
	default:
		if p.from.Mode != p.to.Mode {
			fmt.Fprintf(buf, "old mode %o\nnew mode %o\n", uint32(p.from.Mode), uint32(p.to.Mode))
		}
		if p.oldPath != p.newPath {
			fmt.Fprintf(buf, "similarity index %d%%\nrename from %s\nrename to %s\n", p.score,
				quoteName(p.oldPath), quoteName(p.newPath))
		}
	}
	oldHash, newHash := plumbing.ZeroHash, plumbing.ZeroHash
	if p.from != nil {
		oldHash = p.from.Hash
	}
	if p.to != nil {
		newHash = p.to.Hash
	}
	if oldHash == newHash {
		return st // a pure rename or mode change: headers only
	}
	idx := fmt.Sprintf("index %s..%s", oldHash.String()[:7], newHash.String()[:7])
	if p.from != nil && p.to != nil && p.from.Mode == p.to.Mode {
		idx += fmt.Sprintf(" %o", uint32(p.to.Mode))
	}
	buf.WriteString(idx + "\n")
	if bin {
		fmt.Fprintf(buf, "Binary files %s and %s differ\n", devNullOr(p.from, aName), devNullOr(p.to, bName))
		return st
	}
	if len(p.oldData) == 0 && len(p.newData) == 0 {
		return st // an empty file added or deleted
	}
	fmt.Fprintf(buf, "--- %s\n+++ %s\n", tabIfSpace(devNullOr(p.from, aName)), tabIfSpace(devNullOr(p.to, bName)))
	la, lb := splitLines(p.oldData), splitLines(p.newData)
	edits := diffLines(la, lb)
	for _, e := range edits {
		st.Deletions += e.A1 - e.A0
		st.Additions += e.B1 - e.B0
	}
	writeHunks(buf, la, lb, edits)
	return st
}

func devNullOr(e *treeEntry, name string) string {
	if e == nil {
		return "/dev/null"
	}
	return name
}

// tabIfSpace appends the TAB git writes after ---/+++ names holding a space.
func tabIfSpace(name string) string {
	if strings.ContainsRune(name, ' ') {
		return name + "\t"
	}
	return name
}

// quoteName quotes a path the way git does with core.quotePath on: names
// holding control characters, '"', '\\' or bytes >= 0x80 are written in
// double quotes with C and octal escapes.
func quoteName(s string) string {
	need := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			need = true
			break
		}
	}
	if !need {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 || c >= 0x7f {
				b.WriteByte('\\')
				o := strconv.FormatInt(int64(c), 8)
				b.WriteString(strings.Repeat("0", 3-len(o)) + o)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// writeHunks writes the @@ hunks of an edit script with diffContext lines
// of context, merging hunks whose contexts touch.
func writeHunks(buf *bytes.Buffer, a, b [][]byte, edits []edit) {
	for i := 0; i < len(edits); {
		j := i
		for j+1 < len(edits) && edits[j+1].A0-edits[j].A1 <= 2*diffContext {
			j++
		}
		first, last := edits[i], edits[j]
		a0 := max(first.A0-diffContext, 0)
		a1 := min(last.A1+diffContext, len(a))
		b0 := first.B0 - (first.A0 - a0)
		b1 := last.B1 + (a1 - last.A1)
		fmt.Fprintf(buf, "@@ -%s +%s @@\n", hunkRange(a0, a1-a0), hunkRange(b0, b1-b0))
		ai := a0
		for k := i; k <= j; k++ {
			e := edits[k]
			for ; ai < e.A0; ai++ {
				writeLine(buf, ' ', a[ai])
			}
			for x := e.A0; x < e.A1; x++ {
				writeLine(buf, '-', a[x])
			}
			for y := e.B0; y < e.B1; y++ {
				writeLine(buf, '+', b[y])
			}
			ai = e.A1
		}
		for ; ai < a1; ai++ {
			writeLine(buf, ' ', a[ai])
		}
		i = j + 1
	}
}

func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return strconv.Itoa(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func writeLine(buf *bytes.Buffer, prefix byte, l []byte) {
	buf.WriteByte(prefix)
	buf.Write(l)
	if len(l) == 0 || l[len(l)-1] != '\n' {
		buf.WriteString("\n\\ No newline at end of file\n")
	}
}
