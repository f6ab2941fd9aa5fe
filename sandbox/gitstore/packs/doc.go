// Package packs writes and merges git packfiles of whole objects, as the
// snapshot engine needs them: a batch of new objects deflated as they come,
// one pack and its index written atomically (the .pack renamed in before
// the .idx), the index of an orphan pack a crash left, and the merge of
// small packs into one.
//
// Why one pack: a snapshot after a few edits makes tens of new objects (the blobs, every
// tree on the way to them, the commit); written loose, each costs a file
// create, which on a busy or discard-mounted disk takes longer than the
// whole walk. One pack and its index cost two. The pack is plain (no
// deltas): the objects are small and new, and git repacks them later.
//
// Crash safety follows git: both files are written under temporary names,
// then the .pack is renamed into place before the .idx. A .pack without
// its .idx is invisible to git; go-git, however, fails every packed read
// when it lists one, so the next capture indexes such an orphan
// (RepairOrphans) before it reads anything.
//
// Merge keeps the small packs of snapshots from piling up: git reads
// every .idx of the pack directory, so each pack costs every reader a
// little. When more than MergeAbove small packs are there, their
// objects are written into one new pack, which is renamed in (pack, then
// idx) before the old packs are deleted (pack, then idx: a reader never
// lists a .pack without its .idx). Every object stays reachable
// throughout: in the old packs until the new one is in place, in the new
// one after. A reader that loaded the old index retries after a miss
// (git re-reads the pack directory; Store.ReadObject reindexes).
//
// `git repack` would do this too, but it runs with the repository's own
// configuration and hooks; packs are merged here instead. Packs with a
// sidecar other than the .idx (.keep, .promisor, .mtimes of a cruft pack,
// .bitmap, .rev) are left to git.
//
// It reads and writes files in the pack directory it is given; it knows
// nothing of refs, trees or the walk. sandbox/gitstore is its one user.
package packs
