package task

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Rating is one resident's rating of a closed task (评单).
type Rating struct {
	By      string `json:"by"`
	Stars   int    `json:"stars"` // 1 to 5
	Comment string `json:"comment,omitempty"`
	AtMS    int64  `json:"at_ms"`
}

// Rate records a's rating of a closed task: 1 to 5 stars and an optional
// comment (at most 500 characters). Residents rate, each once per task; a
// second rating by the same resident is a conflict.
func (s *Store) Rate(ctx context.Context, id string, a Actor, stars int, comment string) (*Task, *Entry, error) {
	switch {
	case a.Role != Resident:
		return nil, nil, refuse(ErrForbidden, "only residents rate tasks")
	case a.ID == "":
		return nil, nil, refuse(ErrInvalid, "who rates is not known")
	case stars < 1 || stars > 5:
		return nil, nil, refuse(ErrInvalid, "a rating is 1 to 5 stars, not %d", stars)
	case utf8.RuneCountInString(comment) > MaxComment:
		return nil, nil, refuse(ErrInvalid, "the comment is %d characters long; at most %d are allowed", utf8.RuneCountInString(comment), MaxComment)
	}
	var t *Task
	var e *Entry
	err := s.watch(ctx, func(tx *redis.Tx) error {
		old, err := s.read(ctx, tx, id)
		if err != nil {
			return err
		}
		if old.State != Closed {
			return refuse(ErrConflict, "only a closed task can be rated; task %s is %s", id, old.State)
		}
		rated, err := tx.HExists(ctx, s.ratingsKey(id), a.ID).Result()
		if err != nil {
			return err
		}
		if rated {
			return refuse(ErrConflict, "you have already rated task %s", id)
		}
		now := s.now()
		data, err := json.Marshal(Rating{By: a.ID, Stars: stars, Comment: comment, AtMS: now})
		if err != nil {
			return err
		}
		nt := old.clone()
		r := &nt.Ratings
		r.Count++
		r.Stars += stars
		if stars >= 4 {
			r.Good++
		}
		r.Mean = float64(r.Stars) / float64(r.Count)
		nt.UpdatedMS = now
		nt.Entries++
		ne := &Entry{Seq: nt.Entries, AtMS: now, Action: Rate, From: Closed, To: Closed, By: a.ID, Role: a.Role,
			Source: ByPerson, Stars: stars, Note: comment}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, s.ratingsKey(id), a.ID, data)
			return s.queue(ctx, p, old, nt, ne)
		})
		if err == nil {
			t, e = nt, ne
		}
		return err
	}, s.taskKey(id), s.ratingsKey(id))
	if err != nil {
		return nil, nil, wrapStore(id, "rate", err)
	}
	s.emit("rating", t, e)
	return t, e, nil
}

// Ratings returns the ratings of a task, oldest first.
func (s *Store) Ratings(ctx context.Context, id string) ([]Rating, error) {
	m, err := s.rdb.HGetAll(ctx, s.ratingsKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("read ratings of %s: %w", id, err)
	}
	if len(m) == 0 {
		if _, err := s.Get(ctx, id); err != nil {
			return nil, err
		}
	}
	out := make([]Rating, 0, len(m))
	for _, v := range m {
		var r Rating
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("ratings of %s are damaged: %w", id, err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Rating) int { return cmp.Or(cmp.Compare(a.AtMS, b.AtMS), strings.Compare(a.By, b.By)) })
	return out, nil
}
