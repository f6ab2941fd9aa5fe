package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// Resources returns the resource templates deps can serve.
func Resources(d Deps) []Resource {
	if d.Store == nil {
		return nil
	}
	return []Resource{{
		Template: mcp.NewResourceTemplate(blobPrefix+"{id}", "factory output",
			mcp.WithTemplateDescription("A long output factory handed out by id: a whole diff (d-...) or a test run's full log (t-...)."),
			mcp.WithTemplateMIMEType("text/plain")),
		Handler: func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			id := strings.TrimPrefix(req.Params.URI, blobPrefix)
			if id == req.Params.URI || id == "" || strings.ContainsAny(id, "/?#") {
				return nil, factory.Errorf(factory.EINVALID, "resource %q is not a factory blob URI (%s<id>)", req.Params.URI, blobPrefix)
			}
			kind, data, err := d.Store.Blob(ctx, id)
			if err != nil {
				return nil, err
			}
			mime := "text/plain"
			if kind == "diff" {
				mime = "text/x-diff"
			}
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: mime, Text: string(data)}}, nil
		},
	}}
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}
