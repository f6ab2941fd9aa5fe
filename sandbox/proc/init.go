package proc

// Init must be called first thing in main (and in TestMain of test packages
// that run confined commands). When this process was re-executed by Run as
// the confined child, Init sets up the confinement and execs the target,
// never returning; otherwise it returns at once.
func Init() {}
