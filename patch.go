package factory

// PatchRequest asks for a unified diff to be applied to the workspace.
type PatchRequest struct {
	Patch  string // unified diff text, git-style or traditional
	DryRun bool   // compute the report, write nothing
	Fuzz   int    // context lines that may mismatch per hunk; 0 means exact only

	// Limits on what one patch may write, set by the operator, never by the
	// agent. Zero means the engine's default (64 MiB in all, 32 MiB per
	// file).
	MaxWriteBytes int64 // all files together
	MaxFileBytes  int64 // each file
}

// PatchReport is the result of applying (or refusing) a patch. Applied is
// true only when every file applied and was written (or would be, on a dry
// run). When Applied is false nothing was written.
type PatchReport struct {
	Applied   bool           `json:"applied"`
	DryRun    bool           `json:"dry_run,omitempty"`
	Files     []PatchFile    `json:"files"`
	Conflicts []HunkConflict `json:"conflicts,omitempty"`
	Notes     []string       `json:"notes,omitempty"`  // recounted hunks, stripped prefixes, fuzz used...
	Before    string         `json:"before,omitempty"` // snapshot id before the write
	After     string         `json:"after,omitempty"`  // snapshot id after the write
}

// PatchFile is one file of a patch.
type PatchFile struct {
	Path      string       `json:"path"`
	OldPath   string       `json:"old_path,omitempty"`
	Status    string       `json:"status"` // StatusAdded, StatusModified, StatusDeleted, StatusRenamed, StatusCopied, StatusMode
	Hunks     int          `json:"hunks"`
	Applied   int          `json:"applied"`
	Offsets   []HunkOffset `json:"offsets,omitempty"`
	Recounted bool         `json:"recounted,omitempty"` // a hunk header's counts were wrong and were recomputed
	Fuzz      int          `json:"fuzz,omitempty"`      // largest fuzz used, when asked for
}

// HunkOffset records a hunk applied away from the line its header names.
type HunkOffset struct {
	Hunk   int `json:"hunk"`   // 1-based within the file
	Offset int `json:"offset"` // lines; positive means later in the file
}

// HunkConflict says exactly why one hunk did not apply.
type HunkConflict struct {
	File     string   `json:"file"`
	Hunk     int      `json:"hunk"`   // 1-based within the file; 0 for a file-level refusal
	Header   string   `json:"header"` // "@@ -12,7 +12,8 @@ func x()"
	Line     int      `json:"line"`   // file line where matching was tried (1-based)
	Reason   string   `json:"reason"`
	Expected []string `json:"expected,omitempty"` // the hunk's context and removed lines
	Actual   []string `json:"actual,omitempty"`   // the file's lines at Line
	// The nearest partial match, if any: where the most expected lines matched.
	NearestLine    int `json:"nearest_line,omitempty"`
	NearestMatched int `json:"nearest_matched,omitempty"` // lines of Expected that matched there
}
