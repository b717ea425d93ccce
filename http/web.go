package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/auditlog/auditlog/web"
)

// viewerCSP is the Content-Security-Policy of the web viewer's files,
// stricter than the API's: scripts, styles and images only from the server's
// own files (no inline script or style), requests only to the server itself,
// no forms posted anywhere, no plugins, and no framing.
const viewerCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// webFile is one file of the web viewer, held in memory.
type webFile struct {
	name        string
	body        []byte
	contentType string
	etag        string
}

var webContentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// webFiles reads the embedded viewer once; the files never change while the binary runs.
var webFiles = sync.OnceValue(func() map[string]*webFile {
	files := map[string]*webFile{}
	err := fs.WalkDir(web.Files(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := webContentTypes[path.Ext(name)]
		if !ok {
			return nil
		}
		body, err := fs.ReadFile(web.Files(), name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		files[name] = &webFile{name: name, body: body, contentType: ct,
			etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic(err) // embedded files cannot fail to read
	}
	return files
})

// handleWebPage serves the web viewer's page at "/".
func (s *Server) handleWebPage(w http.ResponseWriter, r *http.Request) {
	s.serveWebFile(w, r, "index.html")
}

// handleWebAsset serves the viewer's script, style sheet and icon under /assets/.
func (s *Server) handleWebAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "index.html" {
		Error(w, r, s.Logger, errNoRoute)
		return
	}
	s.serveWebFile(w, r, name)
}

func (s *Server) serveWebFile(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := webFiles()[name]
	if !ok {
		Error(w, r, s.Logger, errNoRoute)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", viewerCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", "no-cache") // revalidate: a new binary serves new files under the same names
	h.Set("ETag", f.etag)
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}
