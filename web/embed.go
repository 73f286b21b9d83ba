// Package web holds the pages, embedded into the bridge binary.
package web

import "embed"

// Files are the pages, scripts and stylesheet.
//
//go:embed *.html *.js *.css
var Files embed.FS
