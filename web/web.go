// Package web is the web viewer of SPEC §11: one page, its script and its
// style sheet, plain HTML, CSS and JavaScript embedded in the binary. There is
// no build step and nothing is loaded from elsewhere: the page talks only to
// the API of the server that serves it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Files returns the viewer's files: index.html, served at "/", and the
// assets it loads, served under "/assets/".
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}
