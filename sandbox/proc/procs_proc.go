//go:build !darwin

package proc

import (
	"os"
	"strconv"
	"strings"
)

// readProcs reads /proc once. Where there is no /proc (Windows) the table
// is empty, and only the process group is signalled.
func readProcs() procTable {
	t := procTable{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name, which may hold spaces: state ppid pgrp ...
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 {
			continue
		}
		pp, err1 := strconv.Atoi(f[1])
		pg, err2 := strconv.Atoi(f[2])
		if err1 == nil && err2 == nil {
			t[p] = procStat{ppid: pp, pgrp: pg}
		}
	}
	return t
}
