package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/web"
)

// pages serves the embedded pages: /, /screen, /board, /worker, /app,
// /stats and /web/*.
func (s *Server) pages(e *gin.Engine) {
	page := func(name string) gin.HandlerFunc {
		return s.wrap(func(c *gin.Context) error {
			b, err := fs.ReadFile(web.Files, name)
			if err != nil {
				return err
			}
			c.Header("Cache-Control", "no-cache")
			c.Data(http.StatusOK, "text/html; charset=utf-8", b)
			return nil
		})
	}
	e.GET("/", page("index.html"))
	e.GET("/screen", page("screen.html"))
	e.GET("/worker", page("worker.html"))
	e.GET("/app", page("app.html"))
	e.GET("/stats", page("stats.html"))
	e.GET("/board", page("board.html"))
	files := webFiles()
	e.GET("/web/*name", func(c *gin.Context) {
		f, ok := files[strings.TrimPrefix(c.Param("name"), "/")]
		if !ok {
			writeError(c, http.StatusNotFound, "no such file")
			return
		}
		// revalidated on each load, and a 304 when it did not change: a
		// phone on mobile data does not fetch the scripts again
		c.Header("ETag", f.etag)
		c.Header("Cache-Control", "no-cache")
		http.ServeContent(c.Writer, c.Request, f.name, time.Time{}, bytes.NewReader(f.data))
	})
}

// webFile is one embedded file of /web/ with its ETag.
type webFile struct {
	name, etag string
	data       []byte
}

// webFiles reads the embedded files once, each with the hash of its
// content as its ETag (embedded files have no modification time).
func webFiles() map[string]webFile {
	out := map[string]webFile{}
	_ = fs.WalkDir(web.Files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(web.Files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[name] = webFile{name: name, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, data: data}
		return nil
	})
	return out
}
