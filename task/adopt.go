package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"qianliyan/configs"
)

// Adopt gives the reports of device (a resident's device token, "dev-…")
// to user, the account the resident signed in with on that device: each
// task's reporter becomes user, its place in the reporter index moves with
// it, and the device's rating of it becomes the user's. It returns how
// many tasks moved; a second call finds none. The timelines keep who
// reported from where, as they were.
func (s *Store) Adopt(ctx context.Context, device, user string) (int, error) {
	switch {
	case !strings.HasPrefix(device, configs.DevicePrefix):
		return 0, refuse(ErrInvalid, "%q is not a device's id", device)
	case user == "" || strings.HasPrefix(user, configs.DevicePrefix):
		return 0, refuse(ErrInvalid, "reports go to an account, not to %q", user)
	}
	from := s.indexKey("reporter", device)
	zs, err := s.rdb.ZRangeWithScores(ctx, from, 0, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("list the reports of %s: %w", device, err)
	}
	n := 0
	for _, z := range zs {
		id, _ := z.Member.(string)
		moved := false
		err := s.watch(ctx, func(tx *redis.Tx) error {
			moved = false
			t, err := s.read(ctx, tx, id)
			if errors.Is(err, ErrNotFound) {
				return tx.ZRem(ctx, from, id).Err()
			}
			if err != nil {
				return err
			}
			if t.Reporter != device {
				return tx.ZRem(ctx, from, id).Err() // moved meanwhile
			}
			rating, err := readRating(ctx, tx, s.ratingsKey(id), device)
			if err != nil {
				return err
			}
			nt := t.clone()
			nt.Reporter = user
			data, err := json.Marshal(nt)
			if err != nil {
				return err
			}
			var rdata []byte
			if rating.Stars > 0 {
				rating.By = user
				if rdata, err = json.Marshal(rating); err != nil {
					return err
				}
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, s.taskKey(id), "json", data)
				p.ZRem(ctx, from, id)
				p.ZAdd(ctx, s.indexKey("reporter", user), redis.Z{Score: z.Score, Member: id})
				if rdata != nil {
					p.HSet(ctx, s.ratingsKey(id), user, rdata)
					p.HDel(ctx, s.ratingsKey(id), device)
				}
				return nil
			})
			moved = err == nil
			return err
		}, s.taskKey(id), s.ratingsKey(id))
		if err != nil {
			return n, wrapStore(id, "give the report to "+user, err)
		}
		if moved {
			n++
		}
	}
	return n, nil
}
