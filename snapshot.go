package factory

import "time"

// Snapshot is a captured state of the workspace: a commit under
// refs/factory/snapshots/<ID> whose parent is HEAD (none in a repository
// without commits) and whose tree is what `git add -A` would stage.
type Snapshot struct {
	ID      string    `json:"id"`               // short and readable: "s-3f9a2c"
	Commit  string    `json:"commit"`           // hex object id of the snapshot commit
	Tree    string    `json:"tree"`             // hex object id of its tree
	Parent  string    `json:"parent,omitempty"` // HEAD's commit when captured; "" if none
	Label   string    `json:"label,omitempty"`
	RunID   string    `json:"run_id,omitempty"`  // run that created it, if known
	StepID  string    `json:"step_id,omitempty"` // step that created it, if known
	Created time.Time `json:"created"`
	Changes Changes   `json:"changes"`          // against HEAD (against an empty tree without HEAD)
	Reused  bool      `json:"reused,omitempty"` // same tree as the latest snapshot: that one was returned
}

// Changes counts files that differ between two trees.
type Changes struct {
	Added    int `json:"added"`
	Modified int `json:"modified"`
	Deleted  int `json:"deleted"`
}

// File change statuses, used by FileStat and PatchFile.
const (
	StatusAdded    = "added"
	StatusModified = "modified"
	StatusDeleted  = "deleted"
	StatusRenamed  = "renamed"
	StatusCopied   = "copied"
	StatusType     = "typechange" // file <-> symlink <-> gitlink
	StatusMode     = "mode"       // only the executable bit changed
)

// FileStat is one file's line of a diff stat.
type FileStat struct {
	Path      string `json:"path"`
	OldPath   string `json:"old_path,omitempty"` // renames only
	Status    string `json:"status"`
	Additions int    `json:"additions"`
	Deletions int    `json:"deletions"`
	Binary    bool   `json:"binary,omitempty"`
}

// SnapshotDiff is the difference between two snapshots, or a snapshot and
// the live tree (To == "").
type SnapshotDiff struct {
	From      string     `json:"from"`
	To        string     `json:"to"` // "" means the live tree
	Files     []FileStat `json:"files"`
	Patch     string     `json:"patch"`               // unified diff, capped
	Truncated bool       `json:"truncated,omitempty"` // Patch was cut at the cap
	FullBytes int        `json:"full_bytes"`          // size of the whole diff
}

// RestoreResult says what a restore did and how to undo it.
type RestoreResult struct {
	Target  string   `json:"target"`  // the snapshot restored
	Undo    string   `json:"undo"`    // snapshot of the state before the restore
	Written []string `json:"written"` // files created or overwritten (content, mode or link)
	Deleted []string `json:"deleted"` // files removed because the target lacks them
}
