// Package redislog routes go-redis's own log lines ("redis: pool.go:762:
// ...", printed to stderr by default) into the program's slog logger, one
// event per line with the attribute component=redis.
package redislog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Route sends every line go-redis logs from now on to log, as a warning:
// go-redis logs only what went wrong (failed dials, broken connections).
// go-redis has one logger per process, so the last call wins.
func Route(log *slog.Logger) {
	redis.SetLogger(logger{log.With("component", "redis")})
}

type logger struct{ log *slog.Logger }

// Printf logs one line of go-redis.
func (l logger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	l.log.WarnContext(ctx, msg)
}
