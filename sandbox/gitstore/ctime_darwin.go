package gitstore

import (
	"syscall"
	"time"
)

// statCtime is st's change time in nanoseconds (Ctimespec on macOS).
func statCtime(st *syscall.Stat_t) int64 { return time.Unix(st.Ctimespec.Unix()).UnixNano() }
