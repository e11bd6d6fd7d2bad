package console

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// The web app is built by `npm ci && npm run build` in console/web into
// console/web/dist (not committed). The pattern also matches the committed
// placeholder page, so the package builds before the web build; the
// placeholder is served when the bundle is missing.
//
//go:embed all:web/dist*
var webFiles embed.FS

const placeholder = "web/dist-missing.html"

// WebBuilt reports whether the web bundle is embedded.
func WebBuilt() bool {
	_, err := fs.Stat(webFiles, "web/dist/index.html")
	return err == nil
}

// registerWeb serves the single-page app: files of the bundle by path
// (hashed assets cached for a year), index.html for every other GET that
// is not /api/.
func (c *Console) registerWeb(r *gin.Engine) {
	dist, _ := fs.Sub(webFiles, "web/dist")
	index, err := fs.ReadFile(webFiles, "web/dist/index.html")
	if err != nil {
		index, _ = fs.ReadFile(webFiles, placeholder)
	}
	started := time.Now()
	r.NoRoute(func(g *gin.Context) {
		p := g.Request.URL.Path
		if strings.HasPrefix(p, "/api/") || (g.Request.Method != http.MethodGet && g.Request.Method != http.MethodHead) {
			c.fail(g, errNotFound(p))
			return
		}
		name := strings.TrimPrefix(path.Clean(p), "/")
		if name != "" && name != "index.html" {
			if f, err := fs.ReadFile(dist, name); err == nil {
				if strings.HasPrefix(name, "assets/") {
					g.Header("Cache-Control", "public, max-age=31536000, immutable")
				}
				http.ServeContent(g.Writer, g.Request, name, started, bytes.NewReader(f))
				return
			}
		}
		g.Header("Cache-Control", "no-cache")
		g.Header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		g.Header("X-Frame-Options", "DENY")
		g.Header("Referrer-Policy", "same-origin")
		g.Data(http.StatusOK, "text/html; charset=utf-8", index)
	})
}
