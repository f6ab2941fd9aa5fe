// Package redact is the one redactor every byte factory stores passes
// through (the run log's steps, messages and blobs, snapshot labels and
// commit messages, exported spans): key-name rules (password=, token:,
// Authorization headers, URL credentials, YAML block values, command-line
// passwords, bare AWS secret keys) beside gitleaks' default rule set
// (gitleaks.toml, MIT licence in gitleaks.LICENSE), behind a one-pass
// prefilter so text without a hint of a secret costs almost nothing.
//
// Text redacts plain text, JSON a JSON document (keys and values), Stored
// either (JSON when the text parses as JSON). It imports the standard
// library only.
package redact
