package sandbox

// SetTestNoIncremental lets the external benchmarks force overlay copies
// of w to materialise their own tree (the behaviour before incremental
// copies).
func SetTestNoIncremental(w *Workspace, v bool) { w.noIncremental = v }

// SetTestNoFastCopySnap lets the external benchmarks force the full walk
// when capturing an overlay copy of w.
func SetTestNoFastCopySnap(w *Workspace, v bool) { w.noFastOverlay = v }
