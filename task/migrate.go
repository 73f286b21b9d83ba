package task

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Migrate moves the keys of the layout before the {t} hash tag
// (<prefix>task:…, <prefix>tasks:…) to their names of today, so a bridge
// upgraded in place keeps its tasks; it returns how many it moved. A key
// whose new name is taken stays where it is. Redis Cluster is left alone:
// the old layout's transactions never worked there. Run calls it first.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	if _, ok := s.rdb.(*redis.ClusterClient); ok {
		return 0, nil
	}
	base := strings.TrimSuffix(s.prefix, slotTag)
	moved := 0
	for _, pattern := range []string{base + "task:*", base + "tasks:*"} {
		it := s.rdb.Scan(ctx, 0, pattern, 1000).Iterator()
		for it.Next(ctx) {
			old := it.Val()
			ok, err := s.rdb.RenameNX(ctx, old, s.prefix+strings.TrimPrefix(old, base)).Result()
			if err != nil {
				return moved, fmt.Errorf("move task key %s: %w", old, err)
			}
			if ok {
				moved++
			}
		}
		if err := it.Err(); err != nil {
			return moved, fmt.Errorf("find task keys of the old layout: %w", err)
		}
	}
	return moved, nil
}
