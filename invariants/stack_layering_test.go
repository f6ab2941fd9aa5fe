package invariants

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/require"
)

// stackRepo makes a git repository of an example stack's tracked files
// (not its node_modules or caches) whose factory.yaml keeps only the
// layering: the tests gate needs the dependencies visible in the sandbox,
// which these tests, judging imports only, do not depend on.
func stackRepo(t *testing.T, example string) string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(example, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "__pycache__") {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || d.Name() == "package-lock.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(example, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	}))
	var kept []string
	for _, l := range strings.Split(files["factory.yaml"], "\n") {
		if !strings.Contains(l, "tests") {
			kept = append(kept, l)
		}
	}
	files["factory.yaml"] = strings.Join(kept, "\n")
	require.Contains(t, files["factory.yaml"], "deny_imports")
	return newRepo(t, files)
}

func stackController(t *testing.T, repo string) (*Controller, func(string) (factory.Snapshot, error)) {
	ws := newFakeWS(t, repo)
	c := newTestController(t, ws, &execRunner{}, nil, "")
	return c, func(id string) (factory.Snapshot, error) { return ws.Resolve(context.Background(), id) }
}

// attack: the TypeScript UI writes the database directly, through a path alias that climbs, a re-export or a computed import() -> ui-not-db fails naming the import; the same feature through domain/ lands
func TestAttackProposeTSStackLayering(t *testing.T) {
	repo := stackRepo(t, "../examples/ts-stack")
	before := attacktest.Take(t, filepath.Join(repo, ".git", "hooks"), filepath.Join(repo, ".git", "config"))
	c, resolve := stackController(t, repo)
	runMatrix(t, repo, c, resolve, []matrixCase{
		{"app imports db directly", func(t testing.TB, d string) {
			replaceIn(t, d, "app/orders-page.ts", `import { openOrders, placeOrder } from "@domain/orders";`,
				`import { openOrders, placeOrder } from "@domain/orders";`+"\n"+`import { updateOrder } from "../db/client";`)
			replaceIn(t, d, "app/orders-page.ts", "export function renderOrders", "export function cancel(id: number): void {\n  updateOrder(id, { status: \"cancelled\" });\n}\n\nexport function renderOrders")
		}, "ui-not-db", []string{"1 denied import(s): app/** may not import db/**", "app/orders-page.ts:3: app/orders-page.ts imports db/client.ts"}, false},
		{"app climbs out of the alias", func(t testing.TB, d string) {
			writeFiles(t, d, map[string]string{"app/admin.ts": "import { reset } from \"@domain/../db/client\";\n\nexport const wipe = () => reset();\n"})
		}, "ui-not-db", []string{"app/admin.ts:1: app/admin.ts imports db/client.ts"}, false},
		{"app re-exports db", func(t testing.TB, d string) {
			writeFiles(t, d, map[string]string{"app/store.ts": "export * from \"../db/client\";\n"})
		}, "ui-not-db", []string{"app/store.ts:1: app/store.ts imports db/client.ts"}, false},
		{"app requires db by a computed name", func(t testing.TB, d string) {
			writeFiles(t, d, map[string]string{"app/lazy.ts": "const layer = \"db\";\nexport const load = () => import(`../${layer}/client`);\n"})
		}, "ui-not-db", []string{"app/lazy.ts:2: app/lazy.ts imports computed `../**/*/client`, which cannot be resolved"}, false},
	}, func(t testing.TB, d string) {
		replaceIn(t, d, "domain/orders.ts", `import { insertOrder, listOrders, type Order } from "../db/client";`,
			`import { insertOrder, listOrders, updateOrder, type Order } from "../db/client";`)
		replaceIn(t, d, "domain/orders.ts", "export function openOrders", "export function cancelOrder(id: number): Order {\n  const order = updateOrder(id, { status: \"cancelled\" });\n  if (!order) throw new Error(`no order ${id}`);\n  return order;\n}\n\nexport function openOrders")
		replaceIn(t, d, "app/orders-page.ts", "import { openOrders, placeOrder }", "import { cancelOrder, openOrders, placeOrder }")
		replaceIn(t, d, "app/orders-page.ts", "export function submitOrder", "export function cancel(id: number): string {\n  cancelOrder(id);\n  return renderOrders();\n}\n\nexport function submitOrder")
	}, []string{"domain/orders.ts", "app/orders-page.ts"})
	attacktest.Unchanged(t, before, filepath.Join(repo, ".git", "hooks"), filepath.Join(repo, ".git", "config"))
}

// attack: the Python UI writes the database directly, by a relative climb, through importlib or a computed __import__ -> ui-not-db fails naming the import; the same feature through domain lands
func TestAttackProposePyStackLayering(t *testing.T) {
	repo := stackRepo(t, "../examples/py-stack")
	before := attacktest.Take(t, filepath.Join(repo, ".git", "hooks"), filepath.Join(repo, ".git", "config"))
	c, resolve := stackController(t, repo)
	runMatrix(t, repo, c, resolve, []matrixCase{
		{"app imports db directly", func(t testing.TB, d string) {
			replaceIn(t, d, "app/views.py", "from domain.orders import open_orders, place_order\n",
				"from db import store\nfrom domain.orders import open_orders, place_order\n\n\ndef cancel(order_id: int) -> str:\n    store.update_order(order_id, status=\"cancelled\")\n    return render_orders()\n")
		}, "ui-not-db", []string{"app/views.py:3: app/views.py imports db/store.py"}, false},
		{"app climbs to db", func(t testing.TB, d string) {
			writeFiles(t, d, map[string]string{"app/admin.py": "from ..db.store import reset\n\n\ndef wipe():\n    reset()\n"})
		}, "ui-not-db", []string{"app/admin.py:1: app/admin.py imports db/store.py"}, false},
		{"app loads db by name", func(t testing.TB, d string) {
			writeFiles(t, d, map[string]string{"app/lazy.py": "import importlib\n\nstore = importlib.import_module(\"db.store\")\n"})
		}, "ui-not-db", []string{"app/lazy.py:3: app/lazy.py imports db/store.py"}, false},
		{"app loads a computed module", func(t testing.TB, d string) {
			writeFiles(t, d, map[string]string{"app/plugin.py": "import sys\n\nmod = __import__(sys.argv[1])\n"})
		}, "ui-not-db", []string{"app/plugin.py:3: app/plugin.py imports __import__(<computed>), which cannot be resolved"}, false},
	}, func(t testing.TB, d string) {
		replaceIn(t, d, "domain/orders.py", "def open_orders", "def cancel_order(order_id: int) -> \"Order\":\n    order = store.update_order(order_id, status=\"cancelled\")\n    if order is None:\n        raise ValueError(f\"no order {order_id}\")\n    return order\n\n\ndef open_orders")
		replaceIn(t, d, "app/views.py", "from domain.orders import open_orders, place_order\n", "from domain.orders import cancel_order, open_orders, place_order\n\n\ndef cancel(order_id: int) -> str:\n    cancel_order(order_id)\n    return render_orders()\n")
	}, []string{"domain/orders.py", "app/views.py"})
	attacktest.Unchanged(t, before, filepath.Join(repo, ".git", "hooks"), filepath.Join(repo, ".git", "config"))
}
