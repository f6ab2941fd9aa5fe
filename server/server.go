package server

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/tools"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Instructions teach a connecting agent the loop in a few lines.
const Instructions = `factory is the environment around your work in this repository.
Loop: run_start (name the task) -> snapshot_create -> trace_note the plan -> edit -> test_run -> change_propose -> trace_note your decisions.
Edits, yours or patch_apply's, are ungated: nothing judges them. change_propose is the gate: a change is accepted (and, with commit, committed) only when every invariant of factory.yaml passes; otherwise the verdicts say why.
snapshot_restore undoes anything (it snapshots first, so a restore can be undone too). Long outputs (diffs, logs) come back as ids; read them as resources. The forward_plan prompt walks through the loop.`

// Config configures a Server.
type Config struct {
	Store   StepStore    // the run log; required
	Root    string       // the workspace root, recorded with each run
	Logger  *slog.Logger // nil means slog.Default()
	Version string       // factory's version, announced to clients
	// Workers is the stdio worker pool size: how many calls run at once, so
	// one long call never blocks a short one. Zero means 16.
	Workers int
}

// Server is factory's MCP server.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mcp   *server.MCPServer
	runs  *runTracker
	rec   *recorder
	tools []tools.Tool
}

// New builds a server with no tools; add them with Register.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers == 0 {
		cfg.Workers = 16
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.runs = newRunTracker(cfg.Store, cfg.Root)
	s.rec = newRecorder(cfg.Store, s.runs, cfg.Logger)

	hooks := &server.Hooks{}
	hooks.AddBeforeCallTool(func(ctx context.Context, id any, req *mcp.CallToolRequest) {
		if req.Header != nil {
			req.Header[requestIDHeader] = []string{requestID(id)}
		}
	})
	hooks.AddBeforeReadResource(func(ctx context.Context, id any, req *mcp.ReadResourceRequest) {
		if req.Header != nil {
			req.Header[requestIDHeader] = []string{requestID(id)}
		}
	})
	hooks.AddBeforeGetPrompt(func(ctx context.Context, id any, req *mcp.GetPromptRequest) {
		if req.Header != nil {
			req.Header[requestIDHeader] = []string{requestID(id)}
		}
	})
	hooks.AddOnUnregisterSession(func(ctx context.Context, sess server.ClientSession) {
		s.runs.end(ctx, conn{kind: "session", id: sess.SessionID()})
	})

	s.mcp = server.NewMCPServer("factory", cfg.Version,
		server.WithInstructions(Instructions),
		server.WithToolCapabilities(false),
		server.WithResourceCapabilities(false, false),
		server.WithPromptCapabilities(false),
		server.WithCompletions(),
		server.WithLogging(),
		server.WithTaskCapabilities(true, true, true),
		server.WithHooks(hooks),
		// No input schema validation: its errors are Go struct dumps; the
		// tools decode their arguments strictly and say what is wrong.
		server.WithOutputSchemaValidation(),
		server.WithResourceHandlerMiddleware(s.rec.resourceMiddleware),
		server.WithPromptHandlerMiddleware(s.rec.promptMiddleware),
	)
	return s
}

// Runs returns the run tracker, for the run_start tool.
func (s *Server) Runs() tools.Runs { return s.runs }

// Register adds tools to the server.
func (s *Server) Register(ts []tools.Tool) {
	for _, t := range ts {
		// Wrapped once here rather than by mcp-go's middleware option,
		// which builds the chain again on every call.
		s.mcp.AddTool(t.Def, s.rec.noticeMiddleware(s.rec.toolMiddleware(t.Handler)))
		s.tools = append(s.tools, t)
	}
}

// AddResourceTemplate adds a resource template (snapshot diffs, test logs).
func (s *Server) AddResourceTemplate(t mcp.ResourceTemplate, h server.ResourceTemplateHandlerFunc) {
	s.mcp.AddResourceTemplate(t, h)
}

// AddPrompt adds a prompt template (forward_plan).
func (s *Server) AddPrompt(p mcp.Prompt, h server.PromptHandlerFunc) {
	s.mcp.AddPrompt(p, h)
}

// Completer answers completion/complete for prompt arguments and resource
// template variables (tools.Completer).
type Completer interface {
	server.PromptCompletionProvider
	server.ResourceCompletionProvider
}

// SetCompleter answers completion/complete with c. Call it before serving.
func (s *Server) SetCompleter(c Completer) {
	server.WithPromptCompletionProvider(c)(s.mcp)
	server.WithResourceCompletionProvider(c)(s.mcp)
}

// MCP returns the underlying mcp-go server (for tests and benchmarks).
func (s *Server) MCP() *server.MCPServer { return s.mcp }

// ServeStdio serves one client on in/out until in closes or ctx ends. Logs
// never go to out.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	stdio := server.NewStdioServer(s.mcp)
	stdio.SetErrorLogger(log.New(slogWriter{s.log}, "", 0))
	server.WithWorkerPoolSize(s.cfg.Workers)(stdio)
	server.WithQueueSize(s.cfg.Workers * 8)(stdio)
	defer s.runs.endAll(ctx)
	err := stdio.Listen(ctx, in, out)
	if err == context.Canceled || err == io.EOF {
		return nil
	}
	return err
}

// CallResult is a tool's answer to an in-process call, free of protocol
// types: Structured is the structured content (nil on a tool error), Text
// the text contents, IsError the tool error flag, Notices what a served
// result would add after the text (see StepStore.Notice).
type CallResult struct {
	Structured any
	Text       []string
	IsError    bool
	Rejected   bool // a verdict against the change (tools.Rejected): an answer, but not a success
	Notices    []string
}

// CallTool runs one tool in-process through the same middleware as a
// served call, as connection "cli" (factory call). Errors: ENOTFOUND for an
// unknown tool; a tool error result is not an error.
func (s *Server) CallTool(ctx context.Context, name string, args json.RawMessage) (CallResult, error) {
	res, err := s.callTool(ctx, name, args)
	if err != nil {
		return CallResult{}, err
	}
	out := CallResult{Structured: res.StructuredContent, IsError: res.IsError, Rejected: tools.Rejected(res)}
	if n := s.cfg.Store.Notice(); n != "" {
		out.Notices = []string{n}
	}
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			out.Text = append(out.Text, t.Text)
		}
	}
	return out, nil
}

func (s *Server) callTool(ctx context.Context, name string, args json.RawMessage) (*mcp.CallToolResult, error) {
	t, ok := tools.Find(s.tools, name)
	if !ok {
		return nil, factory.Errorf(factory.ENOTFOUND, "no tool %q; tools are: %v", name, tools.Names(s.tools))
	}
	ctx = withConnection(ctx, "cli")
	defer s.runs.endAll(ctx)
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := s.rec.toolMiddleware(t.Handler)(ctx, req)
	return res, err
}

// slogWriter adapts mcp-go's *log.Logger output to slog.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn(string(trimNL(p)), "component", "mcp")
	return len(p), nil
}

func trimNL(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
