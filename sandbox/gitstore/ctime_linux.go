package gitstore

import (
	"syscall"
	"time"
)

// statCtime is st's change time in nanoseconds; the field's name differs
// between the kernels' stat structures.
func statCtime(st *syscall.Stat_t) int64 { return time.Unix(st.Ctim.Unix()).UnixNano() }
