package server

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/factory-dev/factory"
	"github.com/mark3labs/mcp-go/server"
)

// runTracker owns the current run of each connection. A connection is a
// session (stdio, or an HTTP session of the 2025-11-25 era); requests of the
// stateless era are grouped by the client name they declare.
type runTracker struct {
	store RunStore
	root  string
	now   func() time.Time

	mu     sync.Mutex
	runs   map[conn]string // connection -> run id
	starts atomic.Uint64   // Start calls so far: a request that saw none need not look again
}

// RunStore is the part of the run log the tracker writes.
type RunStore interface {
	StartRun(ctx context.Context, r factory.Run) (factory.Run, error)
	EndRun(ctx context.Context, id string, ended time.Time) error
}

func newRunTracker(store RunStore, root string) *runTracker {
	return &runTracker{store: store, root: root, now: time.Now, runs: map[conn]string{}}
}

// conn identifies a connection: a session by its id, a stateless client
// by the name and version it declares, an in-process caller by the name
// it was given (withConnection). Comparable, and made without building a
// string: it is looked up once per request.
type conn struct {
	kind        string // "session", "stateless", "call" or "none"
	id, version string
}

// connection returns the connection of the request in ctx. Requests of
// the stateless era carry no session: they are grouped by the client name
// they declare in _meta.
func connection(ctx context.Context) conn {
	// Served requests first: a lookup of a key ctx lacks walks the whole
	// chain of contexts, and mcp-go's is long.
	if p := server.RequestProtocolInfoFromContext(ctx); p != nil && p.Modern {
		if p.ClientInfo != nil {
			return conn{kind: "stateless", id: p.ClientInfo.Name, version: p.ClientInfo.Version}
		}
		return conn{kind: "stateless"}
	}
	if s := server.ClientSessionFromContext(ctx); s != nil {
		return conn{kind: "session", id: s.SessionID()}
	}
	if key, ok := ctx.Value(connKey{}).(string); ok {
		return conn{kind: "call", id: key}
	}
	return conn{kind: "none"}
}

// client is the name and version the connection's client declared.
func (c conn) client(ctx context.Context) string {
	switch c.kind {
	case "call":
		return "factory call"
	case "stateless":
		return strings.TrimSpace(c.id + " " + c.version)
	case "session":
		if ci, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
			info := ci.GetClientInfo()
			return strings.TrimSpace(info.Name + " " + info.Version)
		}
	}
	return ""
}

type connKey struct{}

// withConnection marks ctx as belonging to a connection named key, for
// callers without an MCP session (factory call).
func withConnection(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, connKey{}, key)
}

// current returns the run of connection c (of the request in ctx),
// starting one if needed.
func (t *runTracker) current(ctx context.Context, c conn) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.runs[c]; ok {
		return id, nil
	}
	r, err := t.store.StartRun(context.WithoutCancel(ctx), factory.Run{Client: c.client(ctx), Root: t.root, Started: t.now()})
	if err != nil {
		return "", err
	}
	t.runs[c] = r.ID
	return r.ID, nil
}

// peek returns the connection's current run without starting one.
func (t *runTracker) peek(c conn) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.runs[c]
}

// Start ends the connection's run and begins a named one (tools.Runs).
func (t *runTracker) Start(ctx context.Context, name, workflow string) (factory.Run, error) {
	key := connection(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.starts.Add(1)
	if old, ok := t.runs[key]; ok {
		_ = t.store.EndRun(context.WithoutCancel(ctx), old, t.now())
	}
	r, err := t.store.StartRun(context.WithoutCancel(ctx), factory.Run{Name: name, Workflow: workflow, Client: key.client(ctx), Root: t.root, Started: t.now()})
	if err != nil {
		return factory.Run{}, err
	}
	t.runs[key] = r.ID
	return r, nil
}

// end closes the run of a connection that went away.
func (t *runTracker) end(ctx context.Context, key conn) {
	t.mu.Lock()
	id, ok := t.runs[key]
	delete(t.runs, key)
	t.mu.Unlock()
	if ok {
		_ = t.store.EndRun(context.WithoutCancel(ctx), id, t.now())
	}
}

// endAll closes every open run (at shutdown).
func (t *runTracker) endAll(ctx context.Context) {
	t.mu.Lock()
	ids := make([]string, 0, len(t.runs))
	for _, id := range t.runs {
		ids = append(ids, id)
	}
	t.runs = map[conn]string{}
	t.mu.Unlock()
	for _, id := range ids {
		_ = t.store.EndRun(context.WithoutCancel(ctx), id, t.now())
	}
}
