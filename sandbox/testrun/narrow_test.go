package testrun_test

import (
	"regexp"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNarrowArgv(t *testing.T) {
	goSuite := factory.Suite{Name: "unit", Format: factory.FormatGoJSON, Run: []string{"go", "test", "-json", "-count", "1", "./..."}}
	junit := factory.Suite{Name: "py", Format: factory.FormatJUnit, Run: []string{"pytest", "--junitxml=report.xml"}}
	for _, tc := range []struct {
		name      string
		suite     factory.Suite
		pkg, test string
		want      []string
	}{
		{"nothing", goSuite, "", "", []string{"go", "test", "-json", "-count", "1", "./..."}},
		{"go test", goSuite, "", "^TestX$", []string{"go", "test", "-run", "^TestX$", "-json", "-count", "1", "./..."}},
		{"go package", goSuite, "./sandbox/...", "", []string{"go", "test", "-json", "-count", "1", "./sandbox/..."}},
		{"go package without ./", goSuite, "sandbox", "", []string{"go", "test", "-json", "-count", "1", "./sandbox"}},
		{"go both", goSuite, "./a", "TestA/sub", []string{"go", "test", "-run", "TestA/sub", "-json", "-count", "1", "./a"}},
		{"go replaces -run", factory.Suite{Format: factory.FormatGoJSON, Run: []string{"go", "test", "-run", "Old", "-run=Old2", "-json", "./x", "./y"}}, "", "New",
			[]string{"go", "test", "-run", "New", "-json", "./x", "./y"}},
		{"go keeps -args", factory.Suite{Format: factory.FormatGoJSON, Run: []string{"go", "test", "-json", "./...", "-args", "-v"}}, "./b", "",
			[]string{"go", "test", "-json", "./b", "-args", "-v"}},
		{"go flag values are not packages", factory.Suite{Format: factory.FormatGoJSON, Run: []string{"go", "test", "-tags", "slow", "-json", "./..."}}, "./slow", "",
			[]string{"go", "test", "-tags", "slow", "-json", "./slow"}},
		{"go without package pattern", factory.Suite{Format: factory.FormatGoJSON, Run: []string{"go", "test", "-json"}}, "./c", "",
			[]string{"go", "test", "-json", "./c"}},
		{"junit path", junit, "tests/unit", "", []string{"pytest", "--junitxml=report.xml", "tests/unit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]string(nil), tc.suite.Run...)
			got, err := testrun.NarrowArgv(tc.suite, tc.pkg, tc.test)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, before, tc.suite.Run, "the suite is not modified")
		})
	}
}

func TestNarrowArgvRefuses(t *testing.T) {
	goSuite := factory.Suite{Name: "unit", Format: factory.FormatGoJSON, Run: []string{"go", "test", "-json", "./..."}}
	tap := factory.Suite{Name: "tap", Format: factory.FormatTAP, Run: []string{"prove"}}
	for _, tc := range []struct {
		name      string
		suite     factory.Suite
		pkg, test string
	}{
		{"flag as test", goSuite, "", "-exec=sh"},
		{"bad regexp", goSuite, "", "Test(["},
		{"flag as package", goSuite, "-exec=/bin/sh", ""},
		{"absolute package", goSuite, "/etc", ""},
		{"escaping package", goSuite, "./../outside", ""},
		{"escaping deep", goSuite, "a/../../b", ""},
		{"home", goSuite, "~/x", ""},
		{"space", goSuite, "./a b", ""},
		{"dots inside", goSuite, "./a.../b", ""},
		{"tap by name", tap, "", "adds"},
		{"tap absolute", tap, "/tmp/x.t", ""},
		{"tap escaping", tap, "../x.t", ""},
		{"tap trailing dots", tap, "t/...", ""},
		{"empty suite", factory.Suite{Name: "e", Format: factory.FormatGoJSON}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testrun.NarrowArgv(tc.suite, tc.pkg, tc.test)
			require.Error(t, err)
			assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), err.Error())
		})
	}
}

func FuzzNarrowArgv(f *testing.F) {
	f.Add("./a/...", "TestX")
	f.Add("-x", "-y")
	f.Fuzz(func(t *testing.T, pkg, test string) {
		s := factory.Suite{Format: factory.FormatGoJSON, Run: []string{"go", "test", "-json", "./..."}}
		argv, err := testrun.NarrowArgv(s, pkg, test)
		if err != nil {
			return
		}
		// Whatever passed validation reaches go test only as the value of
		// -run or as a relative package path.
		for i, a := range argv {
			if i > 0 && argv[i-1] == "-run" {
				if _, err := regexp.Compile(a); err != nil || a != test {
					t.Fatalf("-run %q", a)
				}
				continue
			}
			if a == "-run" || a == "-json" || i < 2 {
				continue
			}
			if a[0] == '-' || a[0] == '/' {
				t.Fatalf("argument %q from pkg %q", a, pkg)
			}
		}
	})
}
