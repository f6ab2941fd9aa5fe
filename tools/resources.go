package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// blobPrefix is the URI scheme of long outputs kept in the run log: whole
// diffs (d-...) and test logs (t-...).
const blobPrefix = "factory://blobs/"

// BlobURI is the resource URI of a stored blob.
func BlobURI(id string) string { return blobPrefix + id }

// Resource is a resource template with its handler.
type Resource struct {
	Template mcp.ResourceTemplate
	Handler  server.ResourceTemplateHandlerFunc
}

// testLogPrefix and testLogSuffix frame the URI of a test run's full log
// by its report id (factory.TestReport.ID): the same blob as
// factory://blobs/<id>, named as the report documents it.
const (
	testLogPrefix = "factory://tests/"
	testLogSuffix = "/log"
)

// Resources returns the resource templates deps can serve.
func Resources(d Deps) []Resource {
	if d.Store == nil {
		return nil
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return []Resource{{
		Template: mcp.NewResourceTemplate(blobPrefix+"{id}{?offset,limit,grep,test}", "factory output",
			mcp.WithTemplateDescription("A long output factory handed out by id: a whole diff (d-...) or a test run's log (t-..., read as text, as factory://tests/{id}/log)."),
			mcp.WithTemplateMIMEType("text/plain")),
		Handler: func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			base, q, err := parseLogQuery(req.Params.URI)
			if err != nil {
				return nil, err
			}
			id := strings.TrimPrefix(base, blobPrefix)
			if id == base || id == "" || strings.ContainsAny(id, "/?#") {
				return nil, factory.Errorf(factory.EINVALID, "resource %q is not a factory blob URI (%s<id>)", req.Params.URI, blobPrefix)
			}
			return readBlob(ctx, d, req.Params.URI, id, "", q)
		},
	}, {
		Template: mcp.NewResourceTemplate(testLogPrefix+"{id}"+testLogSuffix+"{?offset,limit,grep,test}", "test run log",
			mcp.WithTemplateDescription("A test run's log as text (go test -v style), by its report id (test_run's id); 400 lines at a time unless limit says. offset (lines to skip), limit (lines, at most 5000), grep (a Go regexp: matching lines, each as \"offset: line\"), test (that test's output only, subtests included)."),
			mcp.WithTemplateMIMEType("text/plain")),
		Handler: func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			base, q, err := parseLogQuery(req.Params.URI)
			if err != nil {
				return nil, err
			}
			id := strings.TrimSuffix(strings.TrimPrefix(base, testLogPrefix), testLogSuffix)
			if id == "" || len(id)+len(testLogPrefix)+len(testLogSuffix) != len(base) || strings.ContainsAny(id, "/?#") {
				return nil, factory.Errorf(factory.EINVALID, "resource %q is not a test log URI (%s<id>%s)", req.Params.URI, testLogPrefix, testLogSuffix)
			}
			return readBlob(ctx, d, req.Params.URI, id, "test-log", q)
		},
	}}
}

// readBlob reads blob id as the contents of uri; want, if set, is the kind
// the URI promises. Errors are what the client may see: an unknown id says
// where ids come from; an internal fault is logged with an id and answered
// without its detail, as tool errors are (see errorResult).
func readBlob(ctx context.Context, d Deps, uri, id, want string, q logQuery) ([]mcp.ResourceContents, error) {
	kind, data, err := d.Store.Blob(ctx, id)
	if err == nil && q.test != "" && kind != "test-log" {
		err = factory.Errorf(factory.EINVALID, "%q is a %s: only a test run's log has tests; drop test", id, kind)
	}
	if err == nil && want != "" && kind != want {
		err = factory.Errorf(factory.EINVALID, "%q is a %s, not a test run's log; read it as %s", id, kind, BlobURI(id))
	}
	if err != nil {
		if factory.ErrorCode(err) != factory.EINTERNAL {
			return nil, err
		}
		eid := factory.NewID("e-")
		d.Log.ErrorContext(ctx, "internal error reading a resource", "uri", uri, "error_id", eid, "err", err)
		return nil, fmt.Errorf("internal error %s reading %s; the server log has the details", eid, uri)
	}
	mime := "text/plain"
	if kind == "diff" {
		mime = "text/x-diff"
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: mime, Text: q.view(data, kind)}}, nil
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}
