// Package benchpair is the one convention of factory's benchmarks against a
// reference (native git, a direct command, a bare server): paired rounds,
// factory and each reference timed back to back in every round, the order
// rotating from round to round, so the load of a shared machine hits both
// alike; the ratio reported is the median of the rounds' ratios, with its
// minimum and maximum, so one lucky or unlucky round cannot decide it.
//
// Every benchmark using it reports, for its first reference R:
//
//	factory-ns/op  R-ns/op  ratio-vs-R  ratio-min  ratio-max  rounds
//
// (the ns/op are medians), and for each further reference S: S-ns/op,
// ratio-vs-S, ratio-min-vs-S and ratio-max-vs-S. internal/benchtable reads
// these back into the table `make bench` prints.
//
// It is meant for _test.go files only; it imports the standard library.
package benchpair
