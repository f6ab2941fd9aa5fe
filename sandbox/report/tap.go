package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	tapPointRe       = regexp.MustCompile(`^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$`)
	tapPlanRe        = regexp.MustCompile(`^1\.\.(\d+)\s*(?:#\s*(.*))?$`)
	tapDirRe         = regexp.MustCompile(`(?i)\s+#\s*(SKIP|TODO)\b\S*\s*(.*)$`)
	subtestsFailedRe = regexp.MustCompile(`^\d+ subtests? failed$`)
	tapYAMLKey       = regexp.MustCompile(`^\s*(message|error|at|location|file|line|stack|operator|expected|actual|found|wanted)\s*:\s*(.*)$`)
)

type tapNode struct {
	c        Case
	children []*tapNode
	todo     bool
}

// ParseTAP parses a TAP 13 or TAP 14 stream: version line, plan, test
// points with # SKIP and # TODO directives, YAML diagnostic blocks
// (message/error, at/location/file+line), subtests indented by four spaces
// (TAP 14, with or without "# Subtest:" comments) and "Bail out!". It never
// fails: what it cannot read is ignored, as TAP consumers must.
//
// Decisions: "not ok # TODO" is not a failure and counts as skipped, like
// "# SKIP"; a parent test point is named "parent" and its children
// "parent > child"; a plan that was not met, or a bail out, marks the
// result Broken with a note.
func ParseTAP(data []byte) *Result {
	p := &tapParser{res: &Result{}, pending: map[int][]*tapNode{}, lastDepth: -1, plan: -1, yamlIndent: -1}
	for _, raw := range splitLines(string(data)) {
		p.line(raw)
	}
	p.flushYAML()
	return p.finish()
}

// tapParser is the state of ParseTAP between lines.
type tapParser struct {
	res        *Result
	pending    map[int][]*tapNode // test points per depth, not yet adopted by a parent
	last       *tapNode
	lastDepth  int
	plan       int      // -1 until a top-level plan is read
	yamlIndent int      // indentation of the open YAML block, -1 when none is open
	yaml       []string // the open YAML block's lines
}

// line reads one line of the stream.
func (p *tapParser) line(raw string) {
	line := strings.TrimRight(raw, " \t")
	indent := len(line) - len(strings.TrimLeft(line, " "))
	text := strings.TrimSpace(line)
	if p.yamlIndent >= 0 {
		if text == "..." && indent == p.yamlIndent {
			p.flushYAML()
			return
		}
		if indent >= p.yamlIndent || text == "" {
			p.yaml = append(p.yaml, line)
			return
		}
		p.flushYAML()
	}
	if text == "" {
		return
	}
	depth := indent / 4
	switch {
	case text == "---" && p.last != nil && depth == p.lastDepth:
		p.yamlIndent = indent
	case strings.HasPrefix(text, "Bail out!"):
		p.res.Broken = true
		p.res.Notes = append(p.res.Notes, "bailed out: "+strings.TrimSpace(strings.TrimPrefix(text, "Bail out!")))
	case strings.HasPrefix(strings.ToUpper(text), "TAP VERSION"), strings.HasPrefix(text, "pragma "):
	case tapPlanRe.MatchString(text):
		if depth == 0 {
			m := tapPlanRe.FindStringSubmatch(text)
			p.plan, _ = strconv.Atoi(m[1])
		}
	case tapPointRe.MatchString(text):
		n := tapPoint(tapPointRe.FindStringSubmatch(text))
		n.children = p.pending[depth+1]
		delete(p.pending, depth+1)
		p.pending[depth] = append(p.pending[depth], n)
		p.last, p.lastDepth = n, depth
	case strings.HasPrefix(text, "#"):
		// comments, "# Subtest: name", summary lines: the log has them.
	default:
		if p.last != nil && depth >= p.lastDepth {
			p.last.c.Output = append(p.last.c.Output, text)
		}
	}
}

// flushYAML applies the open YAML block, if any, to the last test point.
func (p *tapParser) flushYAML() {
	if p.last != nil && len(p.yaml) > 0 {
		tapApplyYAML(&p.last.c, p.yaml)
	}
	p.yaml, p.yamlIndent = nil, -1
}

// tapPoint is the test point of a tapPointRe match: its name, status and
// directive.
func tapPoint(m []string) *tapNode {
	n := &tapNode{}
	desc := m[3]
	if d := tapDirRe.FindStringSubmatchIndex(desc); d != nil {
		dir := strings.ToUpper(desc[d[2]:d[3]])
		reason := desc[d[4]:d[5]]
		desc = desc[:d[0]]
		if dir == "TODO" {
			n.todo = true
		}
		n.c.Status = Skip
		n.c.Message = strings.TrimSpace(reason)
	}
	n.c.Name = strings.TrimSpace(desc)
	if n.c.Name == "" {
		n.c.Name = "test " + m[2]
	}
	if n.c.Status == "" {
		if m[1] == "ok" {
			n.c.Status = Pass
		} else {
			n.c.Status = Fail
		}
	} else if n.todo && m[1] == "ok" {
		n.c.Status = Pass
	}
	return n
}

// finish flattens the test point tree into cases and checks the plan.
func (p *tapParser) finish() *Result {
	res := p.res
	var top []*tapNode
	for d := 0; d <= 64; d++ {
		if len(p.pending[d]) > 0 {
			top = append(top, p.pending[d]...)
			if d > 0 {
				res.Notes = append(res.Notes, "subtests without a closing parent test point")
			}
		}
	}
	for _, n := range top {
		res.flattenTAP(n, "")
	}
	if p.plan >= 0 && p.plan != len(p.pending[0]) && !res.Broken {
		res.Broken = true
		res.Notes = append(res.Notes, fmt.Sprintf("plan was 1..%d but %d tests reported", p.plan, len(p.pending[0])))
	}
	return res
}

// flattenTAP appends n and its subtests to the cases, naming each child
// "parent > child".
func (res *Result) flattenTAP(n *tapNode, parent string) {
	if parent != "" {
		n.c.Parent = parent
		n.c.Name = parent + " > " + n.c.Name
	}
	if n.c.Status == Fail {
		// node writes "error: '1 subtest failed'" on a parent that only
		// failed through its subtests.
		if len(n.children) == 0 || (n.c.Message != "" && !subtestsFailedRe.MatchString(n.c.Message)) {
			n.c.own = true
		}
		if n.c.Message == "" && len(n.children) == 0 {
			n.c.Message = firstMeaningful(n.c.Output)
		}
		if n.c.Message == "" && len(n.children) == 0 {
			n.c.Message = "not ok"
		}
	}
	if n.c.Status != Fail {
		n.c.Output = nil
	}
	res.Cases = append(res.Cases, n.c)
	for _, ch := range n.children {
		res.flattenTAP(ch, n.c.Name)
	}
}

// tapApplyYAML reads the keys of a YAML diagnostic block that locate and
// explain a failure, without a YAML parser: TAP producers write flat,
// simple blocks, and a missing key only costs a less precise report.
func tapApplyYAML(c *Case, block []string) {
	lines := dedent(block)
	c.Output = append(c.Output, lines...)
	if c.Status != Fail {
		return
	}
	var file string
	var line int
	for _, l := range lines {
		m := tapYAMLKey.FindStringSubmatch(l)
		if m == nil || (strings.HasPrefix(l, " ") && m[1] != "file" && m[1] != "line") {
			continue // nested keys count only for a location: "at: {file, line}"
		}
		v := strings.Trim(strings.TrimSpace(m[2]), `'"`)
		switch m[1] {
		case "message", "error":
			if c.Message == "" && v != "" && v != "|-" && v != "|" && v != ">-" {
				c.Message = v
			}
		case "at", "location":
			if f, n := findLocation([]string{v}); f != "" {
				file, line = f, n
			}
		case "file":
			if file == "" {
				file = v
			}
		case "line":
			if line == 0 {
				line, _ = strconv.Atoi(v)
			}
		}
	}
	// The first frame of a stack is where the assertion sits; "location"
	// is only where the test was declared.
	for i, l := range lines {
		if strings.HasPrefix(l, "stack:") {
			if f, n := findLocation(lines[i+1:]); f != "" {
				file, line = f, n
			}
			break
		}
	}
	if c.File == "" {
		c.File, c.Line = file, line
	}
	if c.Message == "" {
		// A block scalar: the first indented line under message or error.
		for i, l := range lines {
			if m := tapYAMLKey.FindStringSubmatch(l); m != nil && (m[1] == "message" || m[1] == "error") && i+1 < len(lines) {
				c.Message = strings.TrimSpace(lines[i+1])
				break
			}
		}
	}
}
