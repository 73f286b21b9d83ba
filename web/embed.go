// Package web holds the pages, embedded into the bridge binary.
package web

import "embed"

// Files are the pages, scripts and stylesheets, and the libraries
// vendored under vendor/ (each with its LICENSE and VERSION).
//
//go:embed *.html *.js *.css vendor
var Files embed.FS
