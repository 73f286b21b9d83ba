package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"qianliyan/task"
)

// Photos (a resident's report, a worker's proof of the fix) are uploaded
// once and named by the bridge; tasks and timeline entries carry the name.
// Names are made here and checked strictly before they touch the file
// system, so no path can be smuggled in.
//
// Each token may upload so many photos a day (residentUploads,
// staffUploads). A photo named in a report, a task or a step is marked used
// (<prefix>uploads:used, a set of names); Run removes the others a day
// after they came.

const (
	maxPhotoBytes = 5 << 20
	// maxUploadBody bounds what is read of an upload at all: a larger photo
	// is read to the end (up to this) only to say how large it was.
	maxUploadBody = 64 << 20
	// unusedFor is how long a photo no task uses is kept; sweepEvery how
	// often Run looks for them.
	unusedFor  = 24 * time.Hour
	sweepEvery = time.Hour
)

var (
	// uploadName is "u", the milliseconds in base 32, 8 random bytes in hex.
	uploadName = regexp.MustCompile(`^u[0-9a-v]{9}[0-9a-f]{16}\.(jpg|png)$`)
	// snapshotName is a detection snapshot: detect names them by incident or
	// observation id.
	snapshotName = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_-]{0,63}\.jpg$`)
)

var photoTypes = map[string]string{"image/jpeg": "jpg", "image/png": "png"}

func newUploadName(at time.Time, ext string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	ms := strconv.FormatInt(at.UnixMilli(), 32)
	return "u" + strings.Repeat("0", max(0, 9-len(ms))) + ms + hex.EncodeToString(b) + "." + ext
}

// megabytes says n bytes to a tenth of a MB (MiB, as phones count): "7.2 MB", "5 MB".
func megabytes(n int64) string {
	return strconv.FormatFloat(math.Round(float64(n)/(1<<20)*10)/10, 'f', -1, 64) + " MB"
}

// upload answers POST /api/uploads (multipart/form-data, field "file"): a
// JPEG or PNG of at most 5 MB, told by its bytes, not its name, kept under
// <data_dir>/uploads.
func (s *Server) upload(c *gin.Context) error {
	if err := identified(principal(c)); err != nil {
		return err
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxUploadBody)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return Errorf(http.StatusBadRequest, "send the photo as multipart/form-data with the field \"file\"")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return Errorf(http.StatusBadRequest, "the form has no field \"file\" with the photo")
		}
		if err != nil {
			return uploadReadError(err)
		}
		if part.FormName() != "file" {
			if _, err := io.Copy(io.Discard, part); err != nil {
				return uploadReadError(err)
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, maxPhotoBytes+1))
		if err != nil {
			return uploadReadError(err)
		}
		if len(data) > maxPhotoBytes {
			rest, err := io.Copy(io.Discard, part)
			if err != nil {
				return Coded(http.StatusRequestEntityTooLarge, MsgPhotoTooLarge, map[string]any{"limit": megabytes(maxPhotoBytes)}, "the photo is larger than %s; the limit is %s", megabytes(maxUploadBody), megabytes(maxPhotoBytes))
			}
			return Coded(http.StatusRequestEntityTooLarge, MsgPhotoTooLarge, map[string]any{"limit": megabytes(maxPhotoBytes)}, "the photo is %s; the limit is %s", megabytes(int64(len(data))+rest), megabytes(maxPhotoBytes))
		}
		if len(data) == 0 {
			return Coded(http.StatusBadRequest, MsgPhotoEmpty, nil, "the file is empty")
		}
		kind := http.DetectContentType(data)
		ext, ok := photoTypes[kind]
		if !ok {
			kind, _, _ = strings.Cut(kind, ";")
			return Coded(http.StatusUnsupportedMediaType, MsgPhotoNotPhoto, nil, "the file is %s, not a photo: send a JPEG or PNG picture", kind)
		}
		quota := residentUploads
		if p := principal(c); p.Role != RoleResident {
			quota = staffUploads
		}
		if wait := s.limits.allow(c.Request.Context(), quota, principal(c).ID, s.now()); wait > 0 {
			return s.tooMany(c, wait, "you have uploaded the %d photos a day allows; the next may come in %s", quota.burst, s.waitWords(wait))
		}
		name := newUploadName(s.now(), ext)
		if err := writeFileAtomic(s.uploadDir, name, data); err != nil {
			return err
		}
		if s.rdb != nil {
			// who uploaded it: the one (with the center) who may attach it
			// and see it before a task uses it
			if err := s.rdb.HSet(c.Request.Context(), s.uploadKey(name), "owner", principal(c).ID).Err(); err != nil {
				_ = os.Remove(filepath.Join(s.uploadDir, name))
				return fmt.Errorf("record the photo's owner: %w", err)
			}
		}
		c.JSON(http.StatusCreated, gin.H{"photo": name})
		return nil
	}
}

func uploadReadError(err error) error {
	var me *http.MaxBytesError
	if errors.As(err, &me) {
		return Coded(http.StatusRequestEntityTooLarge, MsgPhotoTooLarge, map[string]any{"limit": megabytes(maxPhotoBytes)}, "the upload is larger than %s; a photo may have %s", megabytes(maxUploadBody), megabytes(maxPhotoBytes))
	}
	return Errorf(http.StatusBadRequest, "cannot read the form: %v", err)
}

// writeFileAtomic writes dir/name through a temporary file, so a reader
// never sees half a photo.
func writeFileAtomic(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// checkPhoto checks that name, when given, is a photo uploaded here by the
// caller (the center may attach anyone's), and marks it used so that the
// sweep keeps it (marked before it is looked for: see sweepUploads).
func (s *Server) checkPhoto(c *gin.Context, name string) error {
	if name == "" {
		return nil
	}
	if !uploadName.MatchString(name) {
		return Errorf(http.StatusBadRequest, "photo %s is not the name of an uploaded photo: upload it first (POST /api/uploads) and send the name it gets", clip(name))
	}
	if s.rdb != nil {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		p := principal(c)
		if !p.SeesAll() {
			owner, err := s.rdb.HGet(ctx, s.uploadKey(name), "owner").Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return fmt.Errorf("read photo %s's owner: %w", name, err)
			}
			if owner != p.ID {
				return Coded(http.StatusBadRequest, MsgPhotoMissing, nil, "there is no uploaded photo %q of yours: upload it first (POST /api/uploads)", name)
			}
		}
		if err := s.rdb.SAdd(ctx, s.usedKey(), name).Err(); err != nil {
			return fmt.Errorf("mark photo %s used: %w", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.uploadDir, name)); err != nil {
		return Coded(http.StatusBadRequest, MsgPhotoMissing, nil, "there is no uploaded photo %q: upload it first (POST /api/uploads)", name)
	}
	return nil
}

// linkPhoto records that task id uses photo name (the first task that does
// keeps it): who may see that task may see the photo.
func (s *Server) linkPhoto(ctx context.Context, name, id string) {
	if name == "" || s.rdb == nil {
		return
	}
	if err := s.rdb.HSetNX(ctx, s.uploadKey(name), "task", id).Err(); err != nil {
		s.log.Warn("photo not linked to its task: only its uploader and the center see it", "photo", name, "task", id, "err", err)
	}
}

// serveUpload answers GET /api/uploads/{name}: for the center, the one who
// uploaded it, and whoever may see the task that uses it; to anyone else it
// does not exist (404), so names cannot be probed.
func (s *Server) serveUpload(c *gin.Context) error {
	p := principal(c)
	if err := identified(p); err != nil {
		return err
	}
	name := c.Param("name")
	if !uploadName.MatchString(name) {
		return Errorf(http.StatusBadRequest, "%q is not the name of an uploaded photo", name)
	}
	missing := "no uploaded photo " + strconv.Quote(name)
	if !p.SeesAll() {
		if s.rdb == nil {
			return Errorf(http.StatusNotFound, "%s", missing)
		}
		ctx := c.Request.Context()
		up, err := s.rdb.HGetAll(ctx, s.uploadKey(name)).Result()
		if err != nil {
			return fmt.Errorf("read photo %s: %w", name, err)
		}
		if up["owner"] != p.ID {
			if up["task"] == "" || s.tasks == nil {
				return Errorf(http.StatusNotFound, "%s", missing)
			}
			t, err := s.tasks.Get(ctx, up["task"])
			if errors.Is(err, task.ErrNotFound) || err == nil && !s.center.MayView(actorOf(p), t) {
				return Errorf(http.StatusNotFound, "%s", missing)
			}
			if err != nil {
				return err
			}
		}
	}
	return serveImage(c, s.uploadDir, name, missing)
}

// serveSnapshot answers GET /api/snapshots/{name} (staff, admins, workers):
// a picture detection took.
func (s *Server) serveSnapshot(c *gin.Context) error {
	name := c.Param("name")
	if !snapshotName.MatchString(name) {
		return Errorf(http.StatusBadRequest, "%q is not the name of a detection snapshot", name)
	}
	if s.snapDir == "" {
		return Errorf(http.StatusNotFound, "there are no snapshots: detection is not running on this bridge")
	}
	return serveImage(c, s.snapDir, name, "no snapshot "+strconv.Quote(name))
}

// serveImage serves dir/name, whose name was checked; the names never
// change content, so browsers may keep them.
func serveImage(c *gin.Context, dir, name, missing string) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return Errorf(http.StatusNotFound, "%s", missing)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return Errorf(http.StatusNotFound, "%s", missing)
	}
	ctype := "image/jpeg"
	if strings.HasSuffix(name, ".png") {
		ctype = "image/png"
	}
	c.Header("Content-Type", ctype)
	c.Header("Cache-Control", "private, max-age=86400")
	c.Header("X-Content-Type-Options", "nosniff")
	http.ServeContent(c.Writer, c.Request, name, st.ModTime(), f)
	return nil
}

func (s *Server) usedKey() string { return s.cfg.Redis.Prefix + "uploads:used" }

// uploadKey is a hash of who uploaded photo name (owner) and the task that
// uses it (task).
func (s *Server) uploadKey(name string) string { return s.cfg.Redis.Prefix + "upload:" + name }

// uploadedAt is when an upload came, from its name ("u" and the
// milliseconds in base 32).
func uploadedAt(name string) time.Time {
	ms, _ := strconv.ParseInt(name[1:10], 32, 64)
	return time.UnixMilli(ms)
}

// sweepUploads removes the uploads that came more than unusedFor before now
// and that no task uses. A photo being named in a request at this moment is
// marked before checkPhoto looks for it; the sweep moves a photo aside
// before it asks a second time, so one of the two always sees the other.
func (s *Server) sweepUploads(ctx context.Context, now time.Time) {
	entries, err := os.ReadDir(s.uploadDir)
	if err != nil || s.rdb == nil {
		return // no uploads yet, or no store that knows which are used
	}
	used := func(name string) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return s.rdb.SIsMember(ctx, s.usedKey(), name).Result()
	}
	removed := 0
	for _, e := range entries {
		name := e.Name()
		if !uploadName.MatchString(name) || now.Sub(uploadedAt(name)) < unusedFor {
			continue
		}
		if u, err := used(name); err != nil || u {
			if err != nil {
				s.log.Warn("uploads not swept: Redis does not answer", "err", err)
				return
			}
			continue
		}
		path, aside := filepath.Join(s.uploadDir, name), filepath.Join(s.uploadDir, ".sweep-"+name)
		if os.Rename(path, aside) != nil {
			continue
		}
		if u, err := used(name); err != nil || u {
			os.Rename(aside, path)
			continue
		}
		if os.Remove(aside) == nil {
			removed++
			s.rdb.Del(ctx, s.uploadKey(name))
		}
	}
	if removed > 0 {
		s.log.Info("unused uploads removed", "count", removed, "older_than", unusedFor.String())
	}
}
