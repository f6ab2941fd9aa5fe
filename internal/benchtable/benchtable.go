package benchtable

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"
)

// Row is factory against one reference in one benchmark. Absent values are
// NaN. A benchmark run several times (-count) has one Row: the median of
// its runs' times and ratios, the least min and the greatest max.
type Row struct {
	Work, Ref        string
	Factory, Other   float64 // ns per operation
	Median, Min, Max float64
	Runs             int
}

// Read parses benchmark output and returns its rows in the order the
// benchmarks first appear. Lines that are not benchmark results are
// skipped.
func Read(r io.Reader) ([]Row, error) {
	rd := benchfmt.NewReader(r, "bench")
	type key struct{ work, ref string }
	runs := map[key][]Row{}
	var order []key
	for rd.Scan() {
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		work := workName(res)
		for i, ref := range refs(res) {
			k := key{work, ref}
			if runs[k] == nil {
				order = append(order, k)
			}
			runs[k] = append(runs[k], rowOf(res, work, ref, i == 0))
		}
	}
	if err := rd.Err(); err != nil {
		return nil, fmt.Errorf("read benchmark output: %w", err)
	}
	out := make([]Row, len(order))
	for i, k := range order {
		out[i] = pool(runs[k])
	}
	return out, nil
}

// workName is the package's last element and the benchmark's name, without
// "Benchmark" and the -GOMAXPROCS suffix.
func workName(res *benchfmt.Result) string {
	base, parts := res.Name.Parts()
	name := strings.TrimPrefix(string(base), "Benchmark")
	for _, p := range parts {
		if p[0] != '-' { // the -GOMAXPROCS part
			name += string(p)
		}
	}
	pkg := res.GetConfig("pkg")
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg == "" {
		return name
	}
	return pkg + " " + name
}

// refs are the references a result compares with, first as reported first.
func refs(res *benchfmt.Result) []string {
	var out []string
	for _, v := range res.Values {
		if ref, ok := strings.CutPrefix(cmp.Or(v.OrigUnit, v.Unit), "ratio-vs-"); ok {
			out = append(out, ref)
		}
	}
	return out
}

func rowOf(res *benchfmt.Result, work, ref string, first bool) Row {
	get := func(unit string) float64 {
		for _, v := range res.Values {
			// The reader tidies units (factory-ns/op is read as
			// factory-sec/op); the original is what was reported.
			if v.OrigUnit == unit {
				return v.OrigValue
			}
			if v.OrigUnit == "" && v.Unit == unit {
				return v.Value
			}
		}
		return math.NaN()
	}
	minU, maxU := "ratio-min-vs-"+ref, "ratio-max-vs-"+ref
	if first {
		minU, maxU = "ratio-min", "ratio-max"
	}
	return Row{Work: work, Ref: ref, Factory: get("factory-ns/op"), Other: get(ref + "-ns/op"),
		Median: get("ratio-vs-" + ref), Min: get(minU), Max: get(maxU), Runs: 1}
}

// pool merges the runs of one benchmark and reference.
func pool(rs []Row) Row {
	col := func(f func(Row) float64) []float64 {
		var out []float64
		for _, r := range rs {
			if v := f(r); !math.IsNaN(v) {
				out = append(out, v)
			}
		}
		slices.Sort(out)
		return out
	}
	med := func(f func(Row) float64) float64 {
		v := col(f)
		if len(v) == 0 {
			return math.NaN()
		}
		return (v[(len(v)-1)/2] + v[len(v)/2]) / 2
	}
	out := Row{Work: rs[0].Work, Ref: rs[0].Ref, Runs: len(rs), Min: math.NaN(), Max: math.NaN()}
	out.Factory = med(func(r Row) float64 { return r.Factory })
	out.Other = med(func(r Row) float64 { return r.Other })
	out.Median = med(func(r Row) float64 { return r.Median })
	if v := col(func(r Row) float64 { return r.Min }); len(v) > 0 {
		out.Min = v[0]
	}
	if v := col(func(r Row) float64 { return r.Max }); len(v) > 0 {
		out.Max = v[len(v)-1]
	}
	return out
}

// Markdown writes rows as a markdown table.
func Markdown(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("| work | factory | reference | ratio (median, min–max) |\n|---|---:|---|---:|\n")
	for _, r := range rows {
		ratio := number(r.Median)
		if !math.IsNaN(r.Min) && !math.IsNaN(r.Max) {
			ratio += fmt.Sprintf(" (%s–%s)", number(r.Min), number(r.Max))
		}
		if r.Runs > 1 {
			ratio += fmt.Sprintf(", %d runs", r.Runs)
		}
		ref := r.Ref
		if !math.IsNaN(r.Other) {
			ref += " " + duration(r.Other)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.Work, duration(r.Factory), ref, ratio)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func number(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.3g", v)
}

// duration is ns rounded to three significant digits, in a readable unit.
func duration(ns float64) string {
	if math.IsNaN(ns) {
		return "–"
	}
	d := time.Duration(ns)
	for _, u := range []time.Duration{time.Second, time.Millisecond, time.Microsecond} {
		if d >= u {
			return strconv.FormatFloat(float64(d)/float64(u), 'g', 3, 64) + unitName(u)
		}
	}
	return fmt.Sprintf("%dns", d)
}

func unitName(u time.Duration) string {
	switch u {
	case time.Second:
		return " s"
	case time.Millisecond:
		return " ms"
	}
	return " µs"
}
