package rules

import (
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestImportsGatesAndGlobRules(t *testing.T) {
	cfg, err := Parse("factory.yaml", []byte(`version: 1
gates:
  js: {builtin: js-imports, paths: ["app/**", "domain/**"]}
invariants:
  - {id: layering, deny_imports: {from: "app/**", to: ["db/**", "pg", "./legacy/..."]}}
`))
	require.NoError(t, err)
	assert.Equal(t, GateJSImports, cfg.Gates[0].Kind)
	assert.Equal(t, []string{"app/**", "domain/**"}, cfg.Gates[0].In)
	assert.Equal(t, "js", cfg.Invariants[0].Gate, "any imports gate serves deny_imports")

	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown builtin": {"version: 1\ngates:\n  i: {builtin: rs-imports}\n", `unknown builtin "rs-imports"; the builtin gates are go-imports, js-imports and py-imports`},
		"paths on go":     {"version: 1\ngates:\n  i: {builtin: go-imports, paths: [a]}\n", `gates.i.paths: unknown field; expected one of builtin, packages, timeout`},
		"bad paths glob":  {"version: 1\ngates:\n  i: {builtin: py-imports, paths: [/abs]}\n", `gates.i.paths: glob "/abs"`},
		"dotdot glob": {"version: 1\ngates:\n  i: {builtin: py-imports}\ninvariants:\n  - {id: l, deny_imports: {from: \"../app/**\", to: db/**}}\n",
			`glob "../app/**": write the path from the root without . or .. segments`},
		"two imports gates": {"version: 1\ngates:\n  i: {builtin: py-imports}\n  j: {builtin: js-imports}\ninvariants:\n  - {id: l, deny_imports: {from: app/**, to: db/**}}\n",
			`several go-imports, js-imports or py-imports gates (i, j); say which with gate: NAME`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("factory.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestIsImportGlob(t *testing.T) {
	for pat, glob := range map[string]bool{
		"./ui/...": false, ".": false, "net/...": false, "github.com/x/y/...": false, "./ui": false,
		"app/**": true, "db/*.ts": true, "pg": true, "@scope/pkg": true, "net/http": true,
	} {
		assert.Equal(t, glob, IsImportGlob(pat), pat)
	}
}
