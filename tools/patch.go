package tools

import (
	"context"

	"github.com/factory-dev/factory"
)

type patchApplyArgs struct {
	Patch  string `json:"patch" jsonschema:"a unified diff (git diff or diff -u output); several files allowed; paths relative to the workspace root"`
	DryRun bool   `json:"dry_run,omitempty" jsonschema:"report what would happen and write nothing"`
	Fuzz   int    `json:"fuzz,omitempty" jsonschema:"context lines per hunk end that may mismatch (0, the default, means exact context only); any fuzz used is reported"`
}

func patchTools(d Deps) []Tool {
	w := d.Workspace
	return []Tool{
		define(d.Log, SetChange, "patch_apply",
			"Apply a unified diff atomically: every file or none. Each hunk applies at its line, else at the nearest place where its context matches exactly (the offset is reported); never silent fuzz. Hunk counts that are off are recounted and reported. When a hunk does not apply, nothing is written and the report shows, per hunk, the expected and actual lines and the nearest partial match. A snapshot before and after is recorded, so snapshot_restore of 'before' undoes it.",
			annotations{title: "Apply a patch", destructive: true},
			func(ctx context.Context, a patchApplyArgs) (factory.PatchReport, error) {
				if a.Patch == "" {
					return factory.PatchReport{}, factory.Errorf(factory.EINVALID, "patch is empty; send a unified diff")
				}
				rep, err := w.ApplyPatch(ctx, factory.PatchRequest{Patch: a.Patch, DryRun: a.DryRun, Fuzz: a.Fuzz})
				recordSnapshots(ctx, d, rep.Before, rep.After)
				return rep, err
			}),
	}
}
