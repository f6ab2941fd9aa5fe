// Package gitignore is git's ignore rules as `git add -A` applies them
// (dir.c in git 2.39): patterns from every .gitignore on the way down,
// then $GIT_DIR/info/exclude, then core.excludesFile. Within one file the
// last matching pattern wins; a deeper .gitignore beats a shallower one;
// .gitignore files beat info/exclude, which beats core.excludesFile. A
// directory that is excluded is not descended into, so nothing below it can
// be re-included by a negation.
//
// It is pure computation over paths and file contents: it reads no file
// (gitstore reads the .gitignore files and the global lists) and imports
// the standard library only.
package gitignore
