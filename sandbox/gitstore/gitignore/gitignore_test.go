package gitignore

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWildmatchFollowsGit(t *testing.T) {
	cases := []struct {
		pat, text string
		want      bool
	}{
		{"foo", "foo", true},
		{"foo", "foobar", false},
		{"*.log", "a.log", true},
		{"*.log", "dir/a.log", false}, // '*' never crosses '/'
		{"?", "/", false},
		{"a/*/c", "a/b/c", true},
		{"a/*/c", "a/b/x/c", false},
		{"a/**/c", "a/c", true},
		{"a/**/c", "a/b/x/c", true},
		{"**/c", "c", true},
		{"**/c", "x/y/c", true},
		{"a/**", "a/b/c", true},
		{"a/**", "a", false},
		{"a**b", "axb", true},
		{"a**b", "a/b", false}, // "**" not between slashes is '*'
		{"[abc]x", "bx", true},
		{"[!abc]x", "bx", false},
		{"[^abc]x", "dx", true},
		{"[a-c]", "b", true},
		{"[a-c]", "d", false},
		{"[]]", "]", true},
		{"[a-]", "-", true},
		{"[[:digit:]]x", "7x", true},
		{"[[:alpha:]]", "7", false},
		{"[/]", "/", false},
		{"\\*", "*", true},
		{"\\*", "x", false},
		{"\\#a", "#a", true},
		{"[abc", "a", false}, // unclosed bracket matches nothing
		{"*", "", true},
		{"a*", "a", true},
		{"*a*b*c*", "xaybzc", true},
		{"*a*b*c*", "xaybz", false},
		{"**", "a/b/c", true},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, wildmatch(c.pat, c.text), "wildmatch(%q, %q)", c.pat, c.text)
	}
}

func TestIgnorePrecedence(t *testing.T) {
	top := Parse("", []byte("*.log\n!keep.log\nbuild/\n/only-top\n# comment\n\\!bang\ntrail\\ \nspaces   \n"))
	sub := Parse("sub/", []byte("!*.log\nx/*.txt\n"))
	Global := Parse("", []byte("*.o\n!keep.log\n"))
	r := &Rules{dirs: []*List{top}, Global: []*List{Global}}
	rs := r.With(sub)
	cases := []struct {
		rules *Rules
		path  string
		dir   bool
		want  bool
	}{
		{r, "a.log", false, true},
		{r, "keep.log", false, false},
		{r, "build", true, true},
		{r, "build", false, false}, // "build/" matches directories only
		{r, "only-top", false, true},
		{r, "d/only-top", false, false}, // anchored
		{r, "!bang", false, true},
		{r, "trail ", false, true},
		{r, "spaces", false, true},
		{r, "x.o", false, true},         // from the Global list
		{rs, "sub/a.log", false, false}, // the deeper file wins
		{rs, "sub/x/a.txt", false, true},
		{rs, "x/a.txt", false, false}, // anchored to sub/
		{rs, "sub/x.o", false, true},
	}
	for _, c := range cases {
		name := c.path[strings.LastIndexByte(c.path, '/')+1:]
		assert.Equal(t, c.want, c.rules.Excluded(c.path, name, c.dir), "%q dir=%v", c.path, c.dir)
	}
}

// globRegexp translates a pattern without brackets or backslashes into a
// regular expression with git's wildmatch meaning: an independent oracle
// for the fuzz target.
func globRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); {
		switch {
		case strings.HasPrefix(p[i:], "**"):
			j := i
			for j < len(p) && p[j] == '*' {
				j++
			}
			atStart := i == 0 || p[i-1] == '/'
			switch {
			case atStart && j < len(p) && p[j] == '/':
				b.WriteString("(?:.*/)?")
				j++
			case atStart && j == len(p):
				b.WriteString(".*")
			default:
				b.WriteString("[^/]*")
			}
			i = j
		case p[i] == '*':
			b.WriteString("[^/]*")
			i++
		case p[i] == '?':
			b.WriteString("[^/]")
			i++
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			i++
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func FuzzWildmatch(f *testing.F) {
	for _, s := range [][2]string{{"a/**/c", "a/b/c"}, {"*.log", "x.log"}, {"**/x", "x"}, {"[a-z]*", "q"}, {"a**b", "a/b"}, {"?/*", "a/b"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, text string) {
		if len(pat) > 40 || len(text) > 60 {
			return
		}
		got := wildmatch(pat, text) // must not panic or hang
		// The oracle works on runes, wildmatch on bytes: compare on ASCII.
		if !strings.ContainsAny(pat, "[\\") && isASCII(pat) && isASCII(text) {
			if want := globRegexp(pat).MatchString(text); got != want {
				t.Fatalf("wildmatch(%q, %q) = %v, want %v", pat, text, got, want)
			}
		}
		if !hasGlobSpecial(pat) && !wildmatch(pat, pat) {
			t.Fatalf("literal %q does not match itself", pat)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
