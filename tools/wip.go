package tools

// workspaceTools lists the tools that land with their domain packages.
func workspaceTools(d Deps) []Tool { return testTools(d) }
