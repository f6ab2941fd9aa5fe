package sandbox

// SetTestNoOverlay lets the external tests and benchmarks force plain
// copies.
func SetTestNoOverlay(v bool) { testNoOverlay = v }
