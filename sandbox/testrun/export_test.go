package testrun

// JSWorkspaces exposes jsWorkspaces to the external tests.
var JSWorkspaces = jsWorkspaces
