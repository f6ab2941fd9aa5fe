package gates

import (
	"fmt"
	"strings"
)

// Python has no maintained Go parser, so the py-imports gate reads a
// file with this tokenizer: it knows exactly what Python needs to tell an
// import statement from text that merely looks like one (comments, every
// kind of string literal including triple-quoted and f-strings with nested
// quotes, backslash continuations, and bracketed lines that join), and
// nothing more.

// pyTok is one token: a name, a number, a string literal, or one
// punctuation character.
type pyTok struct {
	kind byte   // 'n' name, 's' string, 'p' punctuation, '0' number
	text string // the name or punctuation; a string's value (plain literals only)
	raw  bool   // a string with an f prefix or an escape: its value is not known
	line int
}

// pyStatement is the tokens of one logical line.
type pyLogical struct {
	toks []pyTok
}

// pyLex splits src into logical lines. Errors name the line where an
// unterminated string or bracket starts.
func pyLex(src string) ([]pyLogical, error) {
	lx := &pyLexer{src: src, line: 1}
	var out []pyLogical
	var cur []pyTok
	depth, openLine := 0, 0
	for lx.i < len(src) {
		c := src[lx.i]
		switch {
		case c == '\n':
			lx.line++
			lx.i++
			if depth == 0 && len(cur) > 0 {
				out, cur = append(out, pyLogical{cur}), nil
			}
		case c == '#':
			for lx.i < len(src) && src[lx.i] != '\n' {
				lx.i++
			}
		case c == '\\' && lx.i+1 < len(src) && (src[lx.i+1] == '\n' || src[lx.i+1] == '\r'):
			lx.i++
			if src[lx.i] == '\r' && lx.i+1 < len(src) && src[lx.i+1] == '\n' {
				lx.i++
			}
			lx.i++
			lx.line++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			lx.i++
		case isPyNameStart(c):
			start := lx.i
			for lx.i < len(src) && isPyName(src[lx.i]) {
				lx.i++
			}
			word := src[start:lx.i]
			if lx.i < len(src) && (src[lx.i] == '"' || src[lx.i] == '\'') && isStringPrefix(word) {
				t, err := lx.str(strings.ToLower(word))
				if err != nil {
					return nil, err
				}
				cur = append(cur, t)
				continue
			}
			cur = append(cur, pyTok{kind: 'n', text: word, line: lx.line})
		case c == '"' || c == '\'':
			t, err := lx.str("")
			if err != nil {
				return nil, err
			}
			cur = append(cur, t)
		case c >= '0' && c <= '9':
			for lx.i < len(src) && (isPyName(src[lx.i]) || src[lx.i] == '.') {
				lx.i++
			}
			cur = append(cur, pyTok{kind: '0', line: lx.line})
		default:
			switch c {
			case '(', '[', '{':
				if depth == 0 {
					openLine = lx.line
				}
				depth++
			case ')', ']', '}':
				depth = max(depth-1, 0)
			}
			cur = append(cur, pyTok{kind: 'p', text: string(c), line: lx.line})
			lx.i++
		}
	}
	if depth > 0 {
		return nil, fmt.Errorf("%d: a bracket opened here is never closed", openLine)
	}
	if len(cur) > 0 {
		out = append(out, pyLogical{cur})
	}
	return out, nil
}

type pyLexer struct {
	src  string
	i    int
	line int
}

func isPyNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isPyName(c byte) bool { return isPyNameStart(c) || c >= '0' && c <= '9' }

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf", "t", "tr", "rt":
		return true
	}
	return false
}

// str reads a string literal at lx.i (its quote), with the given prefix.
func (lx *pyLexer) str(prefix string) (pyTok, error) {
	start := lx.line
	q := lx.src[lx.i]
	triple := strings.HasPrefix(lx.src[lx.i:], strings.Repeat(string(q), 3))
	n := 1
	if triple {
		n = 3
	}
	lx.i += n
	raw := strings.Contains(prefix, "r")
	format := strings.ContainsAny(prefix, "ft")
	var val strings.Builder
	unknown := format
	for lx.i < len(lx.src) {
		c := lx.src[lx.i]
		switch {
		case c == q && (!triple || strings.HasPrefix(lx.src[lx.i:], strings.Repeat(string(q), 3))):
			lx.i += n
			return pyTok{kind: 's', text: val.String(), raw: unknown, line: start}, nil
		case c == '\n' && !triple:
			return pyTok{}, fmt.Errorf("%d: unterminated string", start)
		case c == '\\' && lx.i+1 < len(lx.src):
			if lx.src[lx.i+1] == '\n' {
				lx.line++
			}
			if !raw {
				unknown = true
			}
			val.WriteString(lx.src[lx.i : lx.i+2])
			lx.i += 2
		case format && c == '{' && strings.HasPrefix(lx.src[lx.i:], "{{"):
			lx.i += 2
		case format && c == '{':
			if err := lx.replacement(); err != nil {
				return pyTok{}, err
			}
		default:
			if c == '\n' {
				lx.line++
			}
			val.WriteByte(c)
			lx.i++
		}
	}
	return pyTok{}, fmt.Errorf("%d: unterminated string", start)
}

// replacement skips an f-string's {expression}, which may hold strings
// with the same quotes (Python 3.12) and nested brackets.
func (lx *pyLexer) replacement() error {
	start := lx.line
	depth := 0
	for lx.i < len(lx.src) {
		c := lx.src[lx.i]
		switch {
		case c == '{' || c == '[' || c == '(':
			depth++
		case c == '}' || c == ']' || c == ')':
			depth--
			if depth == 0 {
				lx.i++
				return nil
			}
		case c == '"' || c == '\'':
			if _, err := lx.str(""); err != nil {
				return err
			}
			continue
		case c == '\n':
			lx.line++
		}
		lx.i++
	}
	return fmt.Errorf("%d: unterminated f-string expression", start)
}
