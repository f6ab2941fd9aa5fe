package gitstore

import "io/fs"

// dirent is one entry of a directory listing: its name and kind
// (0 for a regular file, fs.ModeDir, fs.ModeSymlink, fs.ModeIrregular for
// anything else).
type dirent struct {
	name string
	typ  fs.FileMode
}

// direntsOf turns a listing by os.ReadDir into dirents, where there is no
// raw getdents (walk_dirent_linux.go).
func direntsOf(des []fs.DirEntry) []dirent {
	ents := make([]dirent, 0, len(des))
	for _, de := range des {
		t := de.Type()
		switch {
		case t.IsRegular():
			t = 0
		case t.IsDir():
			t = fs.ModeDir
		case t&fs.ModeSymlink != 0:
			t = fs.ModeSymlink
		default:
			t = fs.ModeIrregular
		}
		ents = append(ents, dirent{name: de.Name(), typ: t})
	}
	return ents
}
