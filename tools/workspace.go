package tools

// workspaceTools lists the change and test tools.
func workspaceTools(d Deps) []Tool { return append(patchTools(d), testTools(d)...) }
