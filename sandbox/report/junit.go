package report

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
)

// xmlSuite is a <testsuites> or <testsuite> element: JUnit files nest them
// freely (node --test puts describe blocks in nested testsuites and, with no
// describe, testcases straight under <testsuites>).
type xmlSuite struct {
	Name      string     `xml:"name,attr"`
	Suites    []xmlSuite `xml:"testsuite"`
	Cases     []xmlCase  `xml:"testcase"`
	SystemOut string     `xml:"system-out"`
	SystemErr string     `xml:"system-err"`
}

type xmlCase struct {
	Name      string    `xml:"name,attr"`
	Classname string    `xml:"classname,attr"`
	File      string    `xml:"file,attr"`
	Line      string    `xml:"line,attr"`
	Failures  []xmlFail `xml:"failure"`
	Errors    []xmlFail `xml:"error"`
	Skipped   *xmlFail  `xml:"skipped"`
	Flaky     []xmlFail `xml:"flakyFailure"`
	FlakyErr  []xmlFail `xml:"flakyError"`
	Rerun     []xmlFail `xml:"rerunFailure"`
	RerunErr  []xmlFail `xml:"rerunError"`
	SystemOut string    `xml:"system-out"`
	SystemErr string    `xml:"system-err"`
}

type xmlFail struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// ParseJUnit parses a JUnit XML report as pytest (--junitxml), jest-junit,
// node --test (--test-reporter=junit), cargo nextest and Maven surefire
// write it. The root may be <testsuites> or <testsuite>; suites may nest;
// testcases may sit directly under <testsuites>. It fails with EINVALID
// when data is not XML.
//
// Decisions: <error> counts as a failure; <skipped> wins over <failure>
// (node's failing todo tests carry both); a case with <flakyFailure> or
// <flakyError> and no failure passed on the runner's own retry and is
// reported as flaky; <rerunFailure> without a final pass is a failure.
// Package is the classname (or the enclosing suite's name when there is
// none); nested suite names prefix the test name with " > ".
func ParseJUnit(data []byte) (*Result, error) {
	var root xmlSuite
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	if err := dec.Decode(&root); err != nil {
		return nil, factory.Errorf(factory.EINVALID, "junit report is not valid XML: %v", err)
	}
	res := &Result{}
	var walk func(s xmlSuite, path []string, top bool)
	walk = func(s xmlSuite, path []string, top bool) {
		for _, c := range s.Cases {
			res.Cases = append(res.Cases, junitCase(c, s, path))
		}
		for _, sub := range s.Suites {
			p := path
			// The outer <testsuite> of pytest, surefire and nextest names a
			// file or crate, not a describe block: only nested suites name.
			if !top && sub.Name != "" {
				p = append(append([]string{}, path...), sub.Name)
			}
			walk(sub, p, false)
		}
	}
	walk(root, nil, true)
	return res, nil
}

func junitCase(c xmlCase, s xmlSuite, path []string) Case {
	tc := Case{Name: c.Name, Package: c.Classname, File: c.File}
	if len(path) > 0 {
		tc.Name = strings.Join(path, " > ") + " > " + c.Name
	}
	if tc.Package == "" || tc.Package == "test" { // node --test writes classname="test"
		tc.Package = s.Name
	}
	tc.Line, _ = strconv.Atoi(c.Line)
	fails := append(append([]xmlFail{}, c.Failures...), c.Errors...)
	switch {
	case c.Skipped != nil:
		// Before failures: node --test writes a failing todo test as
		// <skipped type="todo"> plus <failure>, and does not count it failed.
		tc.Status = Skip
	case len(fails) > 0:
		tc.Status = Fail
		tc.own = true
		f := fails[0]
		text := splitLines(strings.TrimSpace(f.Text))
		tc.Message = firstMeaningful(splitLines(f.Message))
		if tc.Message == "" {
			tc.Message = firstMeaningful(text)
		}
		if tc.Message == "" {
			tc.Message = f.Type
		}
		lines := text
		lines = append(lines, splitLines(strings.TrimSpace(c.SystemOut))...)
		lines = append(lines, splitLines(strings.TrimSpace(c.SystemErr))...)
		tc.Output = lines
		if tc.File == "" || tc.Line == 0 {
			if f, n := findLocation(text); f != "" {
				if tc.File == "" || strings.HasSuffix(f, tc.File) || strings.HasSuffix(tc.File, f) {
					tc.File, tc.Line = f, n
				} else if tc.Line == 0 {
					tc.Line = n
					tc.File = f
				}
			}
		}
	default:
		tc.Status = Pass
		tc.Flaky = len(c.Flaky) > 0 || len(c.FlakyErr) > 0
		if tc.Flaky {
			f := append(append([]xmlFail{}, c.Flaky...), c.FlakyErr...)[0]
			tc.Message = firstMeaningful(splitLines(f.Message))
			if tc.Message == "" {
				tc.Message = firstMeaningful(splitLines(f.Text))
			}
			tc.Output = splitLines(strings.TrimSpace(f.Text))
		}
	}
	return tc
}
