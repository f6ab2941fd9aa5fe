// Package cgroup is the memory and process limits of a confined run on
// Linux: where this process may create child cgroups (v1 or v2), one group
// per run with its limits, the processes in it, signals to all of them,
// the limit hits as notes, and its removal. Elsewhere there is never a
// group, and a nil *Group does nothing, as on a Linux without cgroups.
//
// It imports only the standard library; sandbox/proc is its one user.
package cgroup
