// Package revwalk reads git history from a repository's object store, as
// investigations and revision arguments need it: first-parent walks with
// each commit's tree, subject and time, one file at a path of a tree, and
// loose refs newest first. It never runs git and never writes. It imports
// the root package, sandbox/gitstore and go-git's plumbing types.
package revwalk
