package sandbox

// SetTestNoIncremental lets the external benchmarks force overlay copies
// to materialise their own tree (the behaviour before incremental copies).
func SetTestNoIncremental(v bool) { testNoIncremental = v }

// SetTestNoFastCopySnap lets the external benchmarks force the full walk
// when capturing an overlay copy.
func SetTestNoFastCopySnap(v bool) { testNoFastCopySnap = v }
