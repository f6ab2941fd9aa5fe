// Package copies makes disposable directories holding one git tree, where
// commands run and write without touching the working tree: overlay mounts
// over a cache of materialised trees (mounted over a close cached tree and
// patched when the exact one is missing), or plain copies where overlays
// do not work.
//
// copies imports the root package factory, sandbox/gitstore and go-git.
package copies
