package gates

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeTree writes files (slash paths relative to a new temporary root).
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(body), 0o644))
	}
	return dir
}

// importFacts runs an imports gate of kind on dir.
func importFacts(t *testing.T, kind, dir string, g rules.Gate) (ImportsFacts, error) {
	t.Helper()
	g.Kind = kind
	out := NewTree(nil, dir, "", &rules.Config{}, nil).Run(context.Background(), g)
	if out.Err != "" {
		return ImportsFacts{}, errors.New(out.Err)
	}
	return out.Facts.(ImportsFacts), nil
}

// edgeLines shows edges as "pos from -> to" ("?" marks unresolved ones).
func edgeLines(f ImportsFacts) []string {
	var out []string
	for _, e := range f.Edges {
		mark := ""
		if e.Unresolved {
			mark = " ?"
		}
		out = append(out, e.Pos+" "+e.From+" -> "+e.To+mark)
	}
	return out
}

const dbClient = "export const db = { write(x: string) { return x } }\n"

func TestJSImportsResolvesLikeTheBundler(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"tsconfig.base.json": `{"compilerOptions": {"baseUrl": ".", "paths": {"@db/*": ["db/*"]}}}`,
		"tsconfig.json":      `{"extends": "./tsconfig.base.json"}`,
		"db/client.ts":       dbClient,
		"db/index.ts":        "export * from './client'\n",
		"domain/orders.ts":   "import { db } from '../db/client'\nexport function place(x: string) { return db.write(x) }\n",
		"app/page.tsx": `import { place } from "../domain/orders"
// import "../db/client"
const s = "import '../db/client'"
import { db } from "@db/client"
import type { Row } from "../db/client"
import React from "react"
const fp = require("lodash/fp")
const z = import("../db")
import { x } from "@scope/pkg/deep"
import fs from "node:fs"
export default function Page() { return <div>{place(s)}{String(db)}{fp}{String(z)}{x}{String(fs)}</div> }
`,
		"lib/util.mjs":        "export const u = 1\n",
		"lib/view.js":         "import React from 'react'\nexport const V = () => <div className={String(1 < 2 > 0)} />\n",
		"node_modules/x/a.js": "this is not read (",
	})
	f, err := importFacts(t, rules.GateJSImports, dir, rules.Gate{})
	require.NoError(t, err)
	assert.Equal(t, []string{"app/page.tsx", "db/client.ts", "db/index.ts", "domain/orders.ts", "lib/util.mjs", "lib/view.js"}, f.Packages)
	assert.Equal(t, []string{
		"app/page.tsx:9 app/page.tsx -> @scope/pkg",
		"app/page.tsx:4 app/page.tsx -> db/client.ts",
		"app/page.tsx:8 app/page.tsx -> db/index.ts",
		"app/page.tsx:1 app/page.tsx -> domain/orders.ts",
		"app/page.tsx:7 app/page.tsx -> lodash",
		"app/page.tsx:10 app/page.tsx -> node:fs",
		"app/page.tsx:6 app/page.tsx -> react",
		"db/index.ts:1 db/index.ts -> db/client.ts",
		"domain/orders.ts:1 domain/orders.ts -> db/client.ts",
		"lib/view.js:1 lib/view.js -> react",
	}, edgeLines(f), "strings and comments are not imports; the type-only import is elided; the alias resolves through extends")
}

// attack: the UI reaches the database through a tsconfig path alias, a ../ climb, a symlinked directory, a package.json subpath import or a re-export -> each edge names the db/ file
func TestAttackJSImportsDisguisedPaths(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"tsconfig.json":      `{"compilerOptions": {"paths": {"~/*": ["./*"]}}}`,
		"db/client.ts":       dbClient,
		"app/alias.ts":       "import { db } from '~/db/client'\nexport const a = db\n",
		"app/deep/climb.ts":  "import { db } from '../../app/../db/./client.ts'\nexport const c = db\n",
		"app/link.ts":        "import { db } from '../lib/dblink/client'\nexport const l = db\n",
		"app/reexport.ts":    "export * from '../db'\n",
		"db/index.ts":        "export * from './client'\n",
		"app/side-effect.ts": "import '../db/client.js'\n",
		"package.json":       `{"name": "x", "imports": {"#store": "./db/client.ts"}}`,
		"app/subpath.ts":     "import { db } from '#store'\nexport const s = db\n",
	})
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lib"), 0o755))
	require.NoError(t, os.Symlink("../db", filepath.Join(dir, "lib", "dblink")))
	before := attacktest.Take(t, dir)
	f, err := importFacts(t, rules.GateJSImports, dir, rules.Gate{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"app/alias.ts:1 app/alias.ts -> db/client.ts",
		"app/deep/climb.ts:1 app/deep/climb.ts -> db/client.ts",
		"app/link.ts:1 app/link.ts -> db/client.ts",
		"app/reexport.ts:1 app/reexport.ts -> db/index.ts",
		"app/side-effect.ts:1 app/side-effect.ts -> db/client.ts",
		"app/subpath.ts:1 app/subpath.ts -> db/client.ts",
		"db/index.ts:1 db/index.ts -> db/client.ts",
	}, edgeLines(f))
	attacktest.Unchanged(t, before, dir)
}

// attack: the UI requires the database with a computed or template string, or inside eval -> listed as an unresolved edge at its line (a constant concatenation is folded and resolved), never dropped
func TestAttackJSImportsComputedRequire(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"db/client.ts": dbClient,
		"app/a.ts": `const name = "client"
const t = require(` + "`../db/${name}`" + `)
const c = require("../d" + "b/client")
const d = import(name)
const r = require
const i = r("../db/client")
const e = eval("require('../db/client')")
export { t, c, d, i, e }
`,
	})
	before := attacktest.Take(t, dir)
	f, err := importFacts(t, rules.GateJSImports, dir, rules.Gate{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"app/a.ts:2 app/a.ts -> computed `../db/**/*` ?",
		"app/a.ts:3 app/a.ts -> db/client.ts",
		"app/a.ts:7 app/a.ts -> eval(<code>) ?",
		"app/a.ts:4 app/a.ts -> import(<computed>) ?",
		"app/a.ts:5 app/a.ts -> require(<computed>) ?",
	}, edgeLines(f))
	attacktest.Unchanged(t, before, dir)
}

// attack: a file that does not parse hides its imports from the gate -> a gate error naming file:line, not a pass
func TestAttackJSImportsUnparsable(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"db/client.ts": dbClient,
		"app/ok.ts":    "export const ok = 1\n",
		"app/bad.ts":   "import { db } from '../db/client'\nexport const x = (\n",
	})
	before := attacktest.Take(t, dir)
	out := NewTree(nil, dir, "", &rules.Config{}, nil).Run(context.Background(), rules.Gate{Kind: rules.GateJSImports})
	assert.Contains(t, out.Err, "app/bad.ts:3: Unexpected end of file")
	assert.Nil(t, out.Facts)
	attacktest.Unchanged(t, before, dir)
}

// attack: a symlink (or a tsconfig extends) out of the tree makes the gate read a host file and quote it -> refused, the host file untouched and unquoted
func TestAttackJSImportsLinkOutOfTree(t *testing.T) {
	host := writeTree(t, map[string]string{"secret.json": "SECRET-TOKEN-123 {"})
	dir := writeTree(t, map[string]string{"app/a.ts": "import x from './cfg.json'\nexport default x\n"})
	require.NoError(t, os.Symlink(filepath.Join(host, "secret.json"), filepath.Join(dir, "app", "cfg.json")))
	before := attacktest.Take(t, dir, host)
	out := NewTree(nil, dir, "", &rules.Config{}, nil).Run(context.Background(), rules.Gate{Kind: rules.GateJSImports})
	assert.Contains(t, out.Err, "app/cfg.json is a symlink out of the tree")
	assert.NotContains(t, out.Err, "SECRET")

	dir2 := writeTree(t, map[string]string{
		"tsconfig.json": `{"extends": "` + filepath.Join(host, "secret.json") + `"}`,
		"app/a.ts":      "export const a = 1\n",
	})
	f, err := importFacts(t, rules.GateJSImports, dir2, rules.Gate{})
	if err == nil {
		assert.Empty(t, f.Edges)
	}
	out = NewTree(nil, dir2, "", &rules.Config{}, nil).Run(context.Background(), rules.Gate{Kind: rules.GateJSImports})
	assert.NotContains(t, out.Err, "SECRET")
	attacktest.Unchanged(t, before, dir, host)
}

func TestJSImportsPaths(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"db/client.ts": dbClient,
		"app/a.ts":     "import { db } from '../db/client'\nexport const a = db\n",
		"scripts/b.js": "require('../db/client')\n",
	})
	f, err := importFacts(t, rules.GateJSImports, dir, rules.Gate{In: []string{"app/**"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"app/a.ts"}, f.Packages)
	assert.Equal(t, "app/a.ts:1 app/a.ts -> db/client.ts", strings.Join(edgeLines(f), "\n"))
}

// The fixture's graph is the same with node_modules installed and without:
// the gate needs no dependencies, and never reads into them.
func TestJSImportsOnTheTSStack(t *testing.T) {
	live := "../../examples/ts-stack"
	bare := t.TempDir()
	require.NoError(t, os.CopyFS(bare, os.DirFS(live)))
	require.NoError(t, os.RemoveAll(filepath.Join(bare, "node_modules")))
	want := []string{
		"app/orders-page.ts:2 app/orders-page.ts -> domain/orders.ts",
		"domain/orders.ts:2 domain/orders.ts -> db/client.ts",
		"tests/orders.test.ts:4 tests/orders.test.ts -> app/orders-page.ts",
		"tests/orders.test.ts:2 tests/orders.test.ts -> db/client.ts",
		"tests/orders.test.ts:3 tests/orders.test.ts -> domain/orders.ts",
		"tests/orders.test.ts:1 tests/orders.test.ts -> vitest",
		"vitest.config.ts:1 vitest.config.ts -> node:url",
		"vitest.config.ts:2 vitest.config.ts -> vitest",
	}
	for _, dir := range []string{live, bare} {
		f, err := importFacts(t, rules.GateJSImports, dir, rules.Gate{})
		require.NoError(t, err)
		assert.Equal(t, want, edgeLines(f), dir)
	}
}

func TestImportsGatesTimeout(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.ts": "export const a = 1\n", "a.py": "import os\n"})
	for _, kind := range []string{rules.GateJSImports, rules.GatePyImports} {
		out := NewTree(nil, dir, "", &rules.Config{}, nil).Run(context.Background(), rules.Gate{Kind: kind, Timeout: time.Nanosecond})
		assert.NotEmpty(t, out.Err, kind)
		assert.Nil(t, out.Facts, kind)
	}
}

// Files that a bundler would write to the same output (a.ts and a.js, c.mts
// and c.mjs) are all read.
func TestJSImportsSameNames(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"a.ts": "import './b'\nexport const a = 1\n", "a.js": "export const a = 2\n", "b.ts": "", "b/index.ts": "",
		"c.mts": "import './b/index'\nexport const c = 1\n", "c.mjs": "export const c = 2\n",
	})
	f, err := importFacts(t, rules.GateJSImports, dir, rules.Gate{})
	require.NoError(t, err)
	assert.Equal(t, []string{"a.js", "a.ts", "b.ts", "b/index.ts", "c.mjs", "c.mts"}, f.Packages)
	assert.Equal(t, []string{"a.ts:1 a.ts -> b.ts", "c.mts:1 c.mts -> b/index.ts"}, edgeLines(f))
}
