package task

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Rating is a rating of a closed task (评单): the reporter's own, or a
// follow-up (回访) that staff recorded on the reporter's behalf.
type Rating struct {
	By       string `json:"by"`
	Stars    int    `json:"stars"` // 1 to 5
	Comment  string `json:"comment,omitempty"`
	AtMS     int64  `json:"at_ms"`
	FollowUp bool   `json:"follow_up,omitempty"` // recorded by staff after calling the reporter (回访)
}

// followUpField is the ratings hash's field of the follow-up rating.
const followUpField = "回访"

// Rate records a's rating of a closed task: 1 to 5 stars and an optional
// comment (at most MaxComment characters).
//
// The resident who reported the task rates it; a later rating replaces
// theirs. Staff and admins record a follow-up (回访) on behalf of a reporter
// who called in (or was called back), which a later one replaces. Nobody
// else rates: satisfaction (满意度) is the reporter's, so the task's
// summary counts one rating, the reporter's own or else the follow-up.
func (s *Store) Rate(ctx context.Context, id string, a Actor, stars int, comment string) (*Task, *Entry, error) {
	followUp := a.Role == Staff || a.Role == Admin
	switch {
	case a.Role != Resident && !followUp:
		return nil, nil, refuse(ErrForbidden, "a %s does not rate tasks: the resident who reported a task rates it, and the center records a follow-up (回访)", a.Role)
	case a.ID == "":
		return nil, nil, refuse(ErrInvalid, "who rates is not known")
	case stars < 1 || stars > 5:
		return nil, nil, refuseMsg(ErrInvalid, MsgStars, map[string]any{"stars": stars}, "a rating is 1 to 5 stars, not %d", stars)
	case utf8.RuneCountInString(comment) > MaxComment:
		return nil, nil, refuseMsg(ErrInvalid, MsgCommentTooLong, map[string]any{"n": utf8.RuneCountInString(comment), "max": MaxComment}, "the comment is %d characters long; at most %d are allowed", utf8.RuneCountInString(comment), MaxComment)
	}
	var t *Task
	var e *Entry
	err := s.watch(ctx, func(tx *redis.Tx) error {
		old, err := s.read(ctx, tx, id)
		if err != nil {
			return err
		}
		if old.State != Closed {
			return refuseMsg(ErrConflict, MsgRateOnlyClosed, map[string]any{"id": id, "state": old.State}, "only a closed task can be rated; task %s is %s", id, old.State)
		}
		field := followUpField
		if !followUp {
			if old.Reporter != a.ID {
				return refuse(ErrForbidden, "only the resident who reported task %s rates it; the center calls back (回访) for the others", id)
			}
			field = a.ID
		}
		now := s.now()
		rating := Rating{By: a.ID, Stars: stars, Comment: comment, AtMS: now, FollowUp: followUp}
		data, err := json.Marshal(rating)
		if err != nil {
			return err
		}
		own := rating
		if field == followUpField {
			// the reporter's own rating, when there is one, still counts
			if own, err = readRating(ctx, tx, s.ratingsKey(id), old.Reporter); err != nil {
				return err
			}
			if own.Stars == 0 {
				own = rating
			}
		}
		nt := old.clone()
		nt.Ratings = RatingSummary{Count: 1, Stars: own.Stars, Mean: float64(own.Stars)}
		if own.Stars >= 4 {
			nt.Ratings.Good = 1
		}
		nt.UpdatedMS = now
		nt.Entries++
		ne := &Entry{Seq: nt.Entries, AtMS: now, Action: Rate, From: Closed, To: Closed, By: a.ID, Role: a.Role,
			Source: ByPerson, Stars: stars, Note: comment}
		if followUp {
			ne.Note = strings.TrimSpace("回访 " + comment)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, s.ratingsKey(id), field, data)
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

// readRating reads the rating in field of a ratings hash; none is a zero
// Rating.
func readRating(ctx context.Context, c redis.Cmdable, key, field string) (Rating, error) {
	var r Rating
	if field == "" {
		return r, nil
	}
	data, err := c.HGet(ctx, key, field).Bytes()
	if errors.Is(err, redis.Nil) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("rating of %s is damaged: %w", field, err)
	}
	return r, nil
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
