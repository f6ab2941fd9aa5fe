package gates

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pyTree(t *testing.T, extra map[string]string) string {
	files := map[string]string{
		"db/__init__.py":     "",
		"db/models.py":       "class Order: pass\n",
		"db/session.py":      "def write(x): return x\n",
		"domain/__init__.py": "",
		"domain/orders.py":   "from db import session\n\ndef place(x):\n    return session.write(x)\n",
		"app/__init__.py":    "",
	}
	for k, v := range extra {
		files[k] = v
	}
	return writeTree(t, files)
}

func TestPyImportsResolves(t *testing.T) {
	dir := pyTree(t, map[string]string{
		"app/views.py": `import os, sys as system
import domain.orders
from domain import orders as o
from . import helpers
from .helpers import fmt
from .. import db
from ..db.models import Order
import sqlalchemy.orm
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from db.models import Order as O2
def lazy():
    import json; from db import session
`,
		"app/helpers.py":       "def fmt(x): return x\n",
		"src/shop/__init__.py": "",
		"src/shop/cart.py":     "from shop import __version__\nimport db.store_missing\n",
		"target/CACHEDIR.TAG":  "Signature: 8a477f597d28d172789f06886806bc55\n",
		"target/gen/x.py":      "import db\n",
		".venv/lib/site.py":    "import db\n",
		"app/__pycache__/x.py": "import db\n",
	})
	f, err := importFacts(t, rules.GatePyImports, dir, rules.Gate{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"app/views.py:4 app/views.py -> app/__init__.py",
		"app/views.py:4 app/views.py -> app/helpers.py",
		"app/views.py:6 app/views.py -> db/__init__.py",
		"app/views.py:7 app/views.py -> db/models.py",
		"app/views.py:13 app/views.py -> db/session.py",
		"app/views.py:3 app/views.py -> domain/__init__.py",
		"app/views.py:2 app/views.py -> domain/orders.py",
		"app/views.py:13 app/views.py -> json",
		"app/views.py:1 app/views.py -> os",
		"app/views.py:8 app/views.py -> sqlalchemy",
		"app/views.py:1 app/views.py -> sys",
		"app/views.py:9 app/views.py -> typing",
		"domain/orders.py:1 domain/orders.py -> db/__init__.py",
		"domain/orders.py:1 domain/orders.py -> db/session.py",
		"src/shop/cart.py:2 src/shop/cart.py -> db/__init__.py",
		"src/shop/cart.py:1 src/shop/cart.py -> src/shop/__init__.py",
	}, edgeLines(f), "src/ is a root; a missing submodule imports its package; caches and virtualenvs are not read")
}

// attack: imports hidden in strings, comments and docstrings make the gate see edges that are not there, or an import split over lines escapes it -> only real imports count, split ones included
func TestAttackPyImportsTokenizer(t *testing.T) {
	dir := pyTree(t, map[string]string{
		"app/a.py": `"""
import db.models
"""
# from db import models
s = 'from db import session'
f = f"{'import db'} {s!r} {{import db}}"
t = f"{"nested" + 'x'}"
from db \
    import models
from db import (
    session,  # the session
)
x = 1; import domain.orders
`,
	})
	before := attacktest.Take(t, dir)
	f, err := importFacts(t, rules.GatePyImports, dir, rules.Gate{})
	require.NoError(t, err)
	var mine []string
	for _, e := range f.Edges {
		if e.From == "app/a.py" {
			mine = append(mine, e.Pos+" "+e.To)
		}
	}
	assert.ElementsMatch(t, []string{"app/a.py:8 db/__init__.py", "app/a.py:8 db/models.py", "app/a.py:10 db/session.py", "app/a.py:13 domain/orders.py"}, mine)
	attacktest.Unchanged(t, before, dir)
}

// attack: the UI loads the database module by name at run time, by a name __import__'s level makes relative, through sys.path, exec or runpy -> literals are edges, anything computed an unresolved edge
func TestAttackPyImportsDynamic(t *testing.T) {
	dir := pyTree(t, map[string]string{
		"app/dyn.py": `import importlib
m = __import__("db")
n = importlib.import_module("db.models")
r = importlib.import_module(".session", "db")
name = "db"
k = importlib.import_module(name)
j = __import__("d" + "b")
h = __import__("store", {"__package__": "db"}, None, [], 1)
u = importlib.import_module("..extra", "db.sub")
v = importlib.import_module(".store", pkg)
import db.nothing.here
import sys, runpy
sys.path.insert(0, "db")
exec("import store")
runpy.run_path("db/store.py")
`,
		"db/extra.py": "",
	})
	before := attacktest.Take(t, dir)
	f, err := importFacts(t, rules.GatePyImports, dir, rules.Gate{In: []string{"app/**"}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"app/dyn.py:7 app/dyn.py -> __import__(<computed>) ?",
		"app/dyn.py:8 app/dyn.py -> __import__(<computed>) ?",
		"app/dyn.py:2 app/dyn.py -> db/__init__.py",
		"app/dyn.py:9 app/dyn.py -> db/extra.py",
		"app/dyn.py:3 app/dyn.py -> db/models.py",
		"app/dyn.py:4 app/dyn.py -> db/session.py",
		"app/dyn.py:14 app/dyn.py -> exec(<code>) ?",
		"app/dyn.py:6 app/dyn.py -> import_module(<computed>) ?",
		"app/dyn.py:10 app/dyn.py -> import_module(<computed>) ?",
		"app/dyn.py:1 app/dyn.py -> importlib",
		"app/dyn.py:15 app/dyn.py -> run_path(<code>) ?",
		"app/dyn.py:12 app/dyn.py -> runpy",
		"app/dyn.py:12 app/dyn.py -> sys",
		"app/dyn.py:13 app/dyn.py -> sys.path(<changed>) ?",
	}, edgeLines(f))
	attacktest.Unchanged(t, before, dir)
}

// attack: a symlinked package into db/ and a relative climb out of app/ -> both resolve to db/
func TestAttackPyImportsSymlinkAndClimb(t *testing.T) {
	dir := pyTree(t, map[string]string{
		"app/climb.py": "from ..db import models\n",
		"app/link.py":  "from app.store import session\n",
		"app/top.py":   "from .... import nothing\n",
	})
	require.NoError(t, os.Symlink("../db", filepath.Join(dir, "app", "store")))
	before := attacktest.Take(t, dir)
	f, err := importFacts(t, rules.GatePyImports, dir, rules.Gate{In: []string{"app/**"}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"app/climb.py:1 app/climb.py -> db/__init__.py",
		"app/climb.py:1 app/climb.py -> db/models.py",
		"app/link.py:1 app/link.py -> db/__init__.py",
		"app/link.py:1 app/link.py -> db/session.py",
		"app/top.py:1 app/top.py -> .... ?",
	}, edgeLines(f))
	attacktest.Unchanged(t, before, dir)
}

// attack: a file that does not tokenize hides its imports -> a gate error naming file:line, not a pass
func TestAttackPyImportsUnreadable(t *testing.T) {
	for name, src := range map[string]string{
		"string":  "from db import models\ns = 'never closed\n",
		"bracket": "from db import models\nx = (1,\n",
		"from":    "from db models\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := pyTree(t, map[string]string{"app/bad.py": src})
			before := attacktest.Take(t, dir)
			out := NewTree(nil, dir, "", &rules.Config{}, nil).Run(context.Background(), rules.Gate{Kind: rules.GatePyImports})
			assert.Regexp(t, `app/bad\.py:[12]: `, out.Err)
			assert.Nil(t, out.Facts)
			attacktest.Unchanged(t, before, dir)
		})
	}
}
