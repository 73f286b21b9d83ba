package task

import (
	"context"
	"fmt"
	"strings"

	"qianliyan/internal/rekey"
)

// Migrate moves the keys of the layout before the {t} hash tag
// (<prefix>task:…, <prefix>tasks:…) to their names of today, so a bridge
// upgraded in place keeps its tasks; it returns how many it moved. A key
// whose new name is taken stays where it is. Redis Cluster is left alone:
// the old layout's transactions never worked there. Run calls it first.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	base := strings.TrimSuffix(s.prefix, slotTag)
	n, err := rekey.Move(ctx, s.rdb, base, s.prefix, base+"task:", base+"tasks:")
	if err != nil {
		return n, fmt.Errorf("move the task keys under %s: %w", slotTag, err)
	}
	return n, nil
}
