// Package rekey moves Redis keys of an older layout to their names of
// today, when a store puts its keys under a hash tag (so that its
// transactions stay in one slot of Redis Cluster): a bridge upgraded in
// place keeps what it stored.
package rekey

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Move renames every key that starts with one of olds (each a key name
// prefix, matched with SCAN) from its prefix from to the prefix to, and
// returns how many it moved. A key whose new name is taken stays where it
// is. On a Redis Cluster client it does nothing: the old layout's
// transactions never worked there, and RENAME cannot cross slots.
func Move(ctx context.Context, rdb redis.UniversalClient, from, to string, olds ...string) (int, error) {
	if _, ok := rdb.(*redis.ClusterClient); ok {
		return 0, nil
	}
	moved := 0
	for _, old := range olds {
		it := rdb.Scan(ctx, 0, escape(old)+"*", 1000).Iterator()
		for it.Next(ctx) {
			k := it.Val()
			ok, err := rdb.RenameNX(ctx, k, to+strings.TrimPrefix(k, from)).Result()
			if err != nil {
				return moved, fmt.Errorf("move key %s: %w", k, err)
			}
			if ok {
				moved++
			}
		}
		if err := it.Err(); err != nil {
			return moved, fmt.Errorf("find keys %s*: %w", old, err)
		}
	}
	return moved, nil
}

// escape quotes the glob characters of a key prefix for SCAN MATCH.
func escape(prefix string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(prefix)
}
