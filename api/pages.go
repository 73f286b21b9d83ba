package api

import (
	"io/fs"
	"net/http"

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
	e.StaticFS("/web", http.FS(web.Files))
}
