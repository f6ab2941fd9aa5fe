package server

import (
	"context"
	"strings"
	"sync"
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

	mu   sync.Mutex
	runs map[string]string // connection key -> run id
}

// RunStore is the part of the run log the tracker writes.
type RunStore interface {
	StartRun(ctx context.Context, r factory.Run) (factory.Run, error)
	EndRun(ctx context.Context, id string, ended time.Time) error
}

func newRunTracker(store RunStore, root string) *runTracker {
	return &runTracker{store: store, root: root, now: time.Now, runs: map[string]string{}}
}

// connection returns the key and the client's name for the request in ctx.
// Requests of the stateless era carry no session: they are grouped by the
// client name they declare in _meta.
func connection(ctx context.Context) (key, client string) {
	if key, ok := ctx.Value(connKey{}).(string); ok {
		return key, "factory call"
	}
	if p := server.RequestProtocolInfoFromContext(ctx); p != nil && p.Modern {
		if p.ClientInfo != nil {
			client = strings.TrimSpace(p.ClientInfo.Name + " " + p.ClientInfo.Version)
		}
		return "stateless:" + client, client
	}
	s := server.ClientSessionFromContext(ctx)
	if s == nil {
		return "none", ""
	}
	if ci, ok := s.(server.SessionWithClientInfo); ok {
		info := ci.GetClientInfo()
		client = strings.TrimSpace(info.Name + " " + info.Version)
	}
	return "session:" + s.SessionID(), client
}

type connKey struct{}

// withConnection marks ctx as belonging to a connection named key, for
// callers without an MCP session (factory call).
func withConnection(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, connKey{}, key)
}

// current returns the run of the connection in ctx, starting one if needed.
func (t *runTracker) current(ctx context.Context) (string, error) {
	key, client := connection(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.runs[key]; ok {
		return id, nil
	}
	r, err := t.store.StartRun(context.WithoutCancel(ctx), factory.Run{Client: client, Root: t.root, Started: t.now()})
	if err != nil {
		return "", err
	}
	t.runs[key] = r.ID
	return r.ID, nil
}

// peek returns the connection's current run without starting one.
func (t *runTracker) peek(ctx context.Context) string {
	key, _ := connection(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.runs[key]
}

// Start ends the connection's run and begins a named one (tools.Runs).
func (t *runTracker) Start(ctx context.Context, name, workflow string) (factory.Run, error) {
	key, client := connection(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.runs[key]; ok {
		_ = t.store.EndRun(context.WithoutCancel(ctx), old, t.now())
	}
	r, err := t.store.StartRun(context.WithoutCancel(ctx), factory.Run{Name: name, Workflow: workflow, Client: client, Root: t.root, Started: t.now()})
	if err != nil {
		return factory.Run{}, err
	}
	t.runs[key] = r.ID
	return r, nil
}

// end closes the run of a connection that went away.
func (t *runTracker) end(ctx context.Context, key string) {
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
	t.runs = map[string]string{}
	t.mu.Unlock()
	for _, id := range ids {
		_ = t.store.EndRun(context.WithoutCancel(ctx), id, t.now())
	}
}
