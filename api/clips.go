package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/cluster"
	"qianliyan/confirm"
	"qianliyan/record"
	"qianliyan/task"
)

// The recording routes: clips kept as evidence of tasks, and the rolling
// recording of each camera. Residents never get recordings (403); a clip
// is seen by whoever may see its task, a camera's recording by the center.

// noRecordings refuses residents, and answers 404 when the bridge records
// nothing.
func (s *Server) noRecordings(c *gin.Context) error {
	if p := principal(c); p.Role == RoleResident {
		return Errorf(http.StatusForbidden, "recordings are for the center and its grid workers; residents watch the public cameras live")
	}
	if s.rec == nil {
		return Errorf(http.StatusNotFound, "there are no recordings: this bridge records no camera")
	}
	return nil
}

// visibleClip returns clip id if the caller may see it: the center sees
// every clip, a worker those of the tasks they may see.
func (s *Server) visibleClip(c *gin.Context, id string) (record.Clip, error) {
	if !record.ValidClipID(id) {
		return record.Clip{}, Errorf(http.StatusBadRequest, "%q is not the id of a clip", id)
	}
	missing := Errorf(http.StatusNotFound, "no clip %q", id)
	cl, ok := s.rec.ClipInfo(id)
	if !ok {
		return record.Clip{}, missing
	}
	p := principal(c)
	if p.SeesAll() {
		return cl, nil
	}
	if cl.Task == "" || s.tasks == nil {
		return record.Clip{}, missing
	}
	t, err := s.tasks.Get(c.Request.Context(), cl.Task)
	if errors.Is(err, task.ErrNotFound) || err == nil && !s.center.MayView(actorOf(p), t) {
		return record.Clip{}, missing
	}
	return cl, err
}

// clip answers GET /api/clips/{id} (what the clip holds, and whether it is
// ready) and GET /api/clips/{id}.mp4 (the video, with range requests).
func (s *Server) clip(c *gin.Context) error {
	if err := s.noRecordings(c); err != nil {
		return err
	}
	name := c.Param("name")
	id, video := strings.CutSuffix(name, ".mp4")
	if _, here := s.rec.ClipInfo(id); !here && record.ValidClipID(id) && s.clipElsewhere(c, id) {
		return nil // cut by another member of the cluster
	}
	cl, err := s.visibleClip(c, id)
	if err != nil {
		return err
	}
	if !video {
		c.JSON(http.StatusOK, cl)
		return nil
	}
	switch cl.State {
	case record.ClipPending:
		wait := max(1, time.Until(time.UnixMilli(cl.EndMS)).Seconds()+2)
		c.Header("Retry-After", strconv.Itoa(int(wait)))
		return &HTTPError{Code: http.StatusConflict, Msg: fmt.Sprintf("clip %s is still being recorded; it is ready a few seconds after %s",
			id, s.clock(cl.EndMS)), Fields: map[string]any{"state": cl.State, "end_ms": cl.EndMS},
			Key: MsgClipNotReady, Params: map[string]any{"id": id, "end_ms": cl.EndMS}}
	case record.ClipFailed:
		return &HTTPError{Code: http.StatusNotFound, Msg: "clip " + id + " has no video: " + cl.Note, Fields: map[string]any{"state": cl.State}}
	}
	return serveVideo(c, s.rec.ClipPath(id), "clip "+id)
}

// serveVideo serves an MP4 file with range requests; its content never
// changes under its name.
func serveVideo(c *gin.Context, path, what string) error {
	f, err := os.Open(path)
	if err != nil {
		return Errorf(http.StatusNotFound, "the video of %s is gone", what)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	c.Header("Content-Type", "video/mp4")
	c.Header("Cache-Control", "private, max-age=86400")
	http.ServeContent(c.Writer, c.Request, "", st.ModTime(), f)
	return nil
}

// clock writes a time in the center's zone, as every sentence does.
func (s *Server) clock(ms int64) string {
	return time.UnixMilli(ms).In(s.cfg.Server.Location()).Format("15:04:05")
}

// RecordingSegment is one piece of a camera's recording in GET
// /api/cameras/{id}/recording: a standalone MP4 to play in turn.
type RecordingSegment struct {
	URL     string `json:"url"`
	StartMS int64  `json:"start_ms"`
	EndMS   int64  `json:"end_ms"`
	Bytes   int64  `json:"bytes"`
}

// Recording is the answer to GET /api/cameras/{id}/recording.
type Recording struct {
	Camera   string             `json:"camera"`
	FromMS   int64              `json:"from_ms"` // the oldest moment kept (0: nothing yet)
	KeepMS   int64              `json:"keep_ms"` // record.keep
	Segments []RecordingSegment `json:"segments"`
}

// recording answers GET /api/cameras/{id}/recording?from=ms&to=ms (staff):
// the camera's segments that overlap the span (default: all that is kept).
// In a cluster they are those of every live member: a camera that moved
// keeps its earlier segments on the member that read it then, and each
// segment's URL names that member (?node=), which serves it.
func (s *Server) recording(c *gin.Context) error {
	if err := s.noRecordings(c); err != nil {
		return err
	}
	id := c.Param("id")
	from, err := parseMS(c, "from")
	if err != nil {
		return err
	}
	to, err := parseMS(c, "to")
	if err != nil {
		return err
	}
	if to == 0 {
		to = 1 << 62
	}
	if to < from {
		return Errorf(http.StatusBadRequest, "to (%d) is before from (%d)", to, from)
	}
	out := Recording{Camera: id, KeepMS: s.cfg.Record.Keep.D().Milliseconds(), Segments: []RecordingSegment{}}
	st, recorded := s.rec.Stats(id)
	if recorded {
		out.FromMS = st.FromMS
		for _, seg := range s.rec.Segments(id, from, to) {
			out.Segments = append(out.Segments, RecordingSegment{URL: "/api/cameras/" + id + "/recording/" + seg.Name,
				StartMS: seg.StartMS, EndMS: seg.EndMS, Bytes: seg.Bytes})
		}
	}
	if recorded && s.cluster != nil && c.GetHeader(localHeader) != "1" {
		for _, theirs := range s.recordingsElsewhere(c, id) {
			for _, seg := range theirs.Segments {
				seg.URL += "?node=" + url.QueryEscape(theirs.node)
				out.Segments = append(out.Segments, seg)
			}
			if theirs.FromMS != 0 && (out.FromMS == 0 || theirs.FromMS < out.FromMS) {
				out.FromMS = theirs.FromMS
			}
		}
		slices.SortStableFunc(out.Segments, func(a, b RecordingSegment) int { return cmp.Compare(a.StartMS, b.StartMS) })
	}
	if !recorded {
		return Errorf(http.StatusNotFound, "camera %q is not recorded", id)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// memberRecording is one member's recording of a camera.
type memberRecording struct {
	Recording
	node string
}

// recordingsElsewhere asks every other live member, all at once, for what
// it keeps of camera id (the request's span, from what it has itself); a
// member that does not answer within 2 s is left out.
func (s *Server) recordingsElsewhere(c *gin.Context, id string) []memberRecording {
	var mu sync.Mutex
	var out []memberRecording
	var wg sync.WaitGroup
	for _, m := range s.cluster.Members() {
		if m.Node == s.cluster.Node() {
			continue
		}
		wg.Go(func() {
			path := "/api/cameras/" + url.PathEscape(id) + "/recording"
			if q := c.Request.URL.RawQuery; q != "" {
				path += "?" + q
			}
			res, err := s.askMember(c, memberClient, m, path)
			if err != nil {
				s.log.Warn("recording: a member did not answer", "member", m.Node, "camera", id, "err", err)
				return
			}
			defer res.Body.Close()
			var r Recording
			if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&r) != nil {
				return
			}
			mu.Lock()
			out = append(out, memberRecording{Recording: r, node: m.Node})
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// recordingSegment answers GET /api/cameras/{id}/recording/{name} (staff),
// from this member's disk or, with ?node=, from that member's.
func (s *Server) recordingSegment(c *gin.Context) error {
	if err := s.noRecordings(c); err != nil {
		return err
	}
	id, name := c.Param("id"), c.Param("name")
	if node := c.Query("node"); node != "" && s.cluster != nil && node != s.cluster.Node() {
		members := s.cluster.Members()
		i := slices.IndexFunc(members, func(m cluster.Member) bool { return m.Node == node })
		if i < 0 {
			return Errorf(http.StatusNotFound, "segment %q of camera %q is on member %s, which is not live now", name, id, node)
		}
		s.proxyTo(c, members[i], "member "+node+", which recorded segment "+name)
		return nil
	}
	path, ok := s.rec.SegmentPath(id, name)
	if !ok && c.Query("node") == "" && s.proxyToOwner(c, id) {
		return nil // a URL of before ?node=: the member that records it now
	}
	if !ok {
		return Errorf(http.StatusNotFound, "camera %q has no segment %q (kept for %s only)", id, name, s.cfg.Record.Keep.D())
	}
	return serveVideo(c, path, "segment "+name)
}

// clipFor asks for the clip of a person's step on a task's camera: of this
// member's recorder, or of the member that reads the camera, which has its
// video. Video is stamped by the wall clock (as the recorder reads it),
// not by the API's clock of tokens and tasks.
func (s *Server) clipFor(ctx context.Context, t *task.Task, reason string) *task.Clip {
	if s.rec == nil {
		return nil
	}
	if m, ok := s.otherOwner(t.Camera); ok {
		return s.clipAtOwner(ctx, m, memberClip{Camera: t.Camera, Task: t.ID, Reason: reason, AtMS: time.Now().UnixMilli()})
	}
	return confirm.ClipOf(s.rec, s.log, t.Camera, t.ID, reason, time.Now())
}

// memberClip is what a member asks of the member that reads a camera (POST
// /api/cluster/clips): to keep the clip of a step it took.
type memberClip struct {
	Camera string `json:"camera"`
	Task   string `json:"task"`
	Reason string `json:"reason"`
	AtMS   int64  `json:"at_ms"`
}

// memberSigHeader carries memberSig of a request's body, purpose
// clipPurpose: only a member can write it.
const (
	memberSigHeader = "X-Qly-Member-Sig"
	clipPurpose     = "keep-clip"
)

// clipAtOwner asks member m, which reads the camera, to keep the clip;
// nil (and logged) when it does not within 2 s: the step is taken anyway.
func (s *Server) clipAtOwner(ctx context.Context, m cluster.Member, want memberClip) *task.Clip {
	body, _ := json.Marshal(want)
	sig, err := s.memberSig(ctx, clipPurpose, body)
	if err != nil {
		s.log.Warn("no clip kept: the members' secret cannot be read", "camera", want.Camera, "task", want.Task, "err", err)
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(m.URL, "/")+"/api/cluster/clips", bytes.NewReader(body))
	if err != nil {
		s.log.Warn("no clip kept: the member that reads the camera has no usable URL", "member", m.Node, "err", err)
		return nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(memberSigHeader, sig)
	res, err := memberClient.Do(req)
	if err != nil {
		s.log.Warn("no clip kept: the member that reads the camera did not answer", "member", m.Node, "camera", want.Camera, "task", want.Task, "err", err)
		return nil
	}
	defer res.Body.Close()
	var cl record.Clip
	if res.StatusCode != http.StatusCreated || json.NewDecoder(res.Body).Decode(&cl) != nil {
		s.log.Warn("no clip kept by the member that reads the camera", "member", m.Node, "camera", want.Camera, "task", want.Task, "status", res.Status)
		return nil
	}
	return confirm.EntryClip(cl)
}

// keepClipForMember answers POST /api/cluster/clips: another member took a
// person's step on a task of a camera this one reads, and asks it to keep
// the clip. Only a member may ask (memberSigHeader).
func (s *Server) keepClipForMember(c *gin.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, 4<<10))
	if err != nil {
		return Errorf(http.StatusBadRequest, "the request's body cannot be read: %v", err)
	}
	want, err := s.memberSig(c.Request.Context(), clipPurpose, body)
	if err != nil {
		return Errorf(http.StatusServiceUnavailable, "the members' secret cannot be read: %v", err)
	}
	if !hmac.Equal([]byte(want), []byte(c.GetHeader(memberSigHeader))) {
		return Errorf(http.StatusForbidden, "only a member of the cluster may ask another to keep a clip")
	}
	var mc memberClip
	if err := json.Unmarshal(body, &mc); err != nil || mc.Camera == "" || mc.Reason == "" {
		return Errorf(http.StatusBadRequest, "want {camera, task, reason, at_ms}")
	}
	at := time.UnixMilli(mc.AtMS)
	if d := time.Since(at); d > time.Minute || d < -time.Minute {
		return Errorf(http.StatusBadRequest, "the clip's moment is %v from now; a step's clip is asked for as it is taken", d.Round(time.Second))
	}
	if s.rec == nil {
		return Errorf(http.StatusNotFound, "this member records nothing")
	}
	cl, err := s.rec.Clip(mc.Camera, mc.Task, mc.Reason, at)
	if errors.Is(err, record.ErrNotRecorded) {
		return Errorf(http.StatusNotFound, "camera %q is not recorded here", mc.Camera)
	}
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, cl)
	return nil
}
