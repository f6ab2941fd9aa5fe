//go:build !unix

package traces

import (
	"errors"
	"os"
)

// journalSupported is false where there is no flock and no shared mapping
// through the standard library (Windows): Open starts no journal, and
// RecordStep writes every step synchronously, slower but as durable.
const journalSupported = false

var errSegmentBusy = errors.New("step journal segment in use by its writer")

// errNoJournal is what the journal's file operations answer here; Open
// never starts a journal on this platform, so only a segment copied from
// a unix machine can reach them, and it is left in place.
var errNoJournal = errors.New("the step journal needs flock and shared mappings, which this platform's build does not have")

func lockSegment(*os.File) error { return errNoJournal }

func mapSegment(*os.File, int) ([]byte, error) { return nil, errNoJournal }

func unmapSegment([]byte) {}

func reserve(f *os.File, size int64) error { return writeZeros(f, size) }

func prefaultPages([]byte) {}
