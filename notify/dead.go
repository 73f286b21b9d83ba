package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/redis/go-redis/v9"

	"qianliyan/task"
)

// bury moves d from the queue to the dead-letter list.
func (w *Webhooks) bury(ctx context.Context, d Delivery) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = w.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, w.queueKey(), d.ID)
		p.HDel(ctx, w.deliveryKey(), d.ID)
		p.LPush(ctx, w.deadKey(), data)
		p.LTrim(ctx, w.deadKey(), 0, int64(w.opts.DeadMax-1))
		return nil
	})
	return err
}

// Dead lists the deliveries that failed every try, newest first, each as
// the JSON of a Delivery whose URL is shown without its query and user
// (where receivers keep their keys).
func (w *Webhooks) Dead(ctx context.Context) ([]json.RawMessage, error) {
	raws, err := w.rdb.LRange(ctx, w.deadKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read the dead webhook deliveries: %w", err)
	}
	out := make([]json.RawMessage, 0, len(raws))
	for _, raw := range raws {
		var d Delivery
		if json.Unmarshal([]byte(raw), &d) != nil {
			continue
		}
		d.URL = shownURL(d.URL)
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// shownURL is u without its user, query and fragment.
func shownURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	p.User, p.RawQuery, p.Fragment, p.RawFragment = nil, "", "", ""
	return p.String()
}

// Retry takes the dead delivery id off the list and queues it again, due
// now, with its tries counted from zero; it keeps its id and body. An id
// not on the list is a task.Error of kind task.ErrNotFound.
func (w *Webhooks) Retry(ctx context.Context, id string) error {
	err := w.rdb.Watch(ctx, func(tx *redis.Tx) error {
		raws, err := tx.LRange(ctx, w.deadKey(), 0, -1).Result()
		if err != nil {
			return err
		}
		for _, raw := range raws {
			var d Delivery
			if json.Unmarshal([]byte(raw), &d) != nil || d.ID != id {
				continue
			}
			d.Attempts, d.DeadMS = 0, 0
			data, err := json.Marshal(d)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.LRem(ctx, w.deadKey(), 1, raw)
				p.HSet(ctx, w.deliveryKey(), d.ID, data)
				p.ZAdd(ctx, w.queueKey(), redis.Z{Score: float64(w.opts.Now().UnixMilli()), Member: d.ID})
				return nil
			})
			return err
		}
		return &task.Error{Kind: task.ErrNotFound, Msg: fmt.Sprintf("no dead webhook delivery %q: GET /api/webhooks/dead lists them", id)}
	}, w.deadKey())
	var te *task.Error
	if errors.Is(err, redis.TxFailedErr) {
		return fmt.Errorf("retry webhook delivery %s: the list changed meanwhile; try again: %w", id, err)
	}
	if err != nil && !errors.As(err, &te) {
		return fmt.Errorf("retry webhook delivery %s: %w", id, err)
	}
	if err == nil {
		w.poke()
	}
	return err
}
