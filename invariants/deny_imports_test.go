package invariants

import (
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/stretchr/testify/assert"
)

func TestImportMatcherGlobsAndPackages(t *testing.T) {
	for _, tc := range []struct {
		module, pat, s string
		want           bool
	}{
		{"", "app/**", "app/page.tsx", true},
		{"", "app/**", "app/deep/x/page.tsx", true},
		{"", "app/**", "apps/page.tsx", false},
		{"", "db/**", "db/client.ts", true},
		{"", "src/*/ui/**", "src/shop/ui/cart.tsx", true},
		{"", "src/*/ui/**", "src/shop/api/cart.ts", false},
		{"", "db/*.py", "db/models.py", true},
		{"", "pg", "pg", true},
		{"", "pg", "pg-native", false},
		{"", "@scope/pkg", "@scope/pkg", true},
		{"", "sqlalchemy", "sqlalchemy", true},
		{"", "./db/...", "db/client.ts", true},
		{"", "./db/...", "dbx/client.ts", false},
		{"m", "internal/db/**", "m/internal/db/x", true},
		{"m", "internal/db/**", "m/internal/db", true},
		{"m", "internal/db/**", "m/internal/dbx", false},
		{"m", "net/http", "net/http", true},
		{"m", "./ui/...", "m/ui/x", true},
		{"m", "github.com/x/y/...", "github.com/x/y/z", true},
	} {
		assert.Equal(t, tc.want, importMatcher(tc.module, tc.pat)(tc.s), "%s ~ %s (module %q)", tc.pat, tc.s, tc.module)
	}
}

func TestDenyImportsOnFileGraph(t *testing.T) {
	c := &compiled{Invariant: rules.Invariant{ID: "layering", From: []string{"app/**"}, To: []string{"db/**", "pg"}}}
	f := gates.ImportsFacts{Edges: []gates.ImportEdge{
		{From: "app/page.tsx", To: "domain/orders.ts", Pos: "app/page.tsx:1"},
		{From: "domain/orders.ts", To: "db/client.ts", Pos: "domain/orders.ts:1"},
		{From: "app/page.tsx", To: "db/client.ts", Pos: "app/page.tsx:3"},
		{From: "app/api.ts", To: "pg", Pos: "app/api.ts:2"},
	}}
	v := evalDenyImports(c, f)
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.Equal(t, []string{"app/page.tsx:3: app/page.tsx imports db/client.ts", "app/api.ts:2: app/api.ts imports pg"}, v.Evidence)
	f.Edges = f.Edges[:2]
	assert.Equal(t, factory.VerdictPass, evalDenyImports(c, f).Status)
}

// attack: the UI loads the database through a computed require, which no resolver can follow -> denied as unresolved, naming the line
func TestAttackDenyImportsUnresolved(t *testing.T) {
	c := &compiled{Invariant: rules.Invariant{ID: "layering", From: []string{"app/**"}, To: []string{"db/**"}}}
	f := gates.ImportsFacts{Edges: []gates.ImportEdge{
		{From: "app/a.ts", To: "require(<computed>)", Pos: "app/a.ts:4", Unresolved: true},
		{From: "domain/b.ts", To: "require(<computed>)", Pos: "domain/b.ts:2", Unresolved: true},
	}}
	v := evalDenyImports(c, f)
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.Len(t, v.Evidence, 1)
	assert.Contains(t, v.Evidence[0], "app/a.ts:4: app/a.ts imports require(<computed>), which cannot be resolved")
}
