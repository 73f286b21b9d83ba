package api

import (
	"crypto/subtle"
	"strings"

	"github.com/gin-gonic/gin"
)

// isStaff reports whether the request carries the staff token, as a
// bearer token or (for EventSource, which cannot set headers) ?token=.
func (s *Server) isStaff(c *gin.Context) bool {
	want := s.cfg.Server.StaffToken
	if want == "" {
		return false
	}
	got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok {
		got = c.Query("token")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
