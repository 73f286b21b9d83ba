package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Webhooks is what the API needs of the outbound webhooks (package notify,
// which only cmd/bridge imports): their dead-letter list.
type Webhooks interface {
	// Dead lists the deliveries that failed every try, newest first, each
	// as JSON (id, url without its query, event, task, body, attempts,
	// last_status, last_error, created_ms, dead_ms).
	Dead(ctx context.Context) ([]json.RawMessage, error)
	// Retry queues a dead delivery again; an unknown id is a task.Error of
	// kind task.ErrNotFound.
	Retry(ctx context.Context, id string) error
}

// DeadWebhooks is the body of GET /api/webhooks/dead.
type DeadWebhooks struct {
	Dead []json.RawMessage `json:"dead"`
}

func (s *Server) needWebhooks() error {
	if s.webhooks == nil {
		return Errorf(http.StatusServiceUnavailable, "webhooks are not running on this bridge")
	}
	return nil
}

// deadWebhooks answers GET /api/webhooks/dead.
func (s *Server) deadWebhooks(c *gin.Context) error {
	if err := s.needWebhooks(); err != nil {
		return err
	}
	dead, err := s.webhooks.Dead(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, DeadWebhooks{Dead: dead})
	return nil
}

// retryWebhook answers POST /api/webhooks/dead/{id}/retry: the delivery is
// queued again and tried at once, with its id and body.
func (s *Server) retryWebhook(c *gin.Context) error {
	if err := s.needWebhooks(); err != nil {
		return err
	}
	id := c.Param("id")
	if err := s.webhooks.Retry(c.Request.Context(), id); err != nil {
		return taskError(err)
	}
	s.log.Info("dead webhook delivery retried", "delivery", id, "by", principal(c).ID)
	c.JSON(http.StatusAccepted, gin.H{"status": "queued", "delivery": id})
	return nil
}
