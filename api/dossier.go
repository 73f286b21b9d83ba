package api

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"qianliyan/cluster"
	"qianliyan/record"
	"qianliyan/task"
)

// The dossier (案卷) of a task, for the archive: one ZIP with index.html
// (the timeline to the second: who, how it was confirmed, the evidence),
// the pictures and clips it names, and MANIFEST.sha256 in sha256sum's
// format, so that any later change to a file shows (`sha256sum -c
// MANIFEST.sha256`).

// dossierPage is index.html of a dossier.
var dossierPage = template.Must(template.New("dossier").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>案卷 {{.Task.ID}} · {{.Task.Title}}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #999;padding:.3em .5em;vertical-align:top;text-align:left}img{max-width:16em;display:block;margin:.2em 0}</style></head>
<body><h1>案卷 Dossier {{.Task.ID}}</h1>
<p><b>{{.Task.Title}}</b>{{if .Task.Description}}: {{.Task.Description}}{{end}}</p>
<table>
<tr><th>状态 State</th><td>{{.Task.State}}</td></tr>
<tr><th>来源 Source</th><td>{{.Task.Source}}{{if .Task.IncidentID}} (incident {{.Task.IncidentID}}){{end}}</td></tr>
<tr><th>摄像头 Camera</th><td>{{.Task.Camera}} {{.Task.Zone}}</td></tr>
<tr><th>网格 Grid</th><td>{{.Task.Grid}}</td></tr>
<tr><th>地点 Place</th><td>{{.Task.Location.Address}} ({{.Task.Location.Lat}}, {{.Task.Location.Lng}})</td></tr>
<tr><th>上报 Reported</th><td>{{.Created}} by {{.Task.Reporter}}</td></tr>
<tr><th>网格员 Worker</th><td>{{.Task.Worker}}</td></tr>
<tr><th>生成 Made</th><td>{{.Made}} ({{.Zone}})</td></tr>
</table>
<h2>全程留痕 Timeline</h2>
<table><tr><th>#</th><th>时间 Time</th><th>步骤 Step</th><th>人 Who</th><th>确认 Source</th><th>说明 Note</th><th>证据 Evidence</th></tr>
{{range .Rows}}<tr><td>{{.Seq}}</td><td>{{.At}}</td><td>{{.Action}}{{if .Move}}<br>{{.Move}}{{end}}</td><td>{{.By}} ({{.Role}})</td><td>{{.Source}}</td><td>{{.Note}}</td><td>
{{range .Pictures}}<a href="{{.}}"><img src="{{.}}" alt="{{.}}"></a>{{end}}
{{if .GPS}}GPS {{.GPS}}<br>{{end}}{{if .Verdict}}{{.Verdict}}<br>{{end}}
{{with .Clip}}{{if .File}}<a href="{{.File}}">录像 clip {{.ID}}</a> {{.Span}}{{else}}录像 clip {{.ID}}: {{.Missing}}{{end}}{{if .Note}}<br>{{.Note}}{{end}}{{end}}
</td></tr>
{{end}}</table>
<p>MANIFEST.sha256 lists the SHA-256 of every file of this dossier: <code>sha256sum -c MANIFEST.sha256</code>.</p>
</body></html>
`))

// dossierRow is a line of the dossier's timeline.
type dossierRow struct {
	Seq                int
	At                 string
	Action, Move       string
	By, Role, Source   string
	Note, GPS, Verdict string
	Pictures           []string
	Clip               *dossierClip
}

// dossierClip is an entry's clip as the dossier shows it.
type dossierClip struct {
	ID, File, Span, Note, Missing string
}

// dossier answers GET /api/tasks/{id}/dossier (the center).
func (s *Server) dossier(c *gin.Context) error {
	t, err := s.visibleTask(c, c.Param("id"))
	if err != nil {
		return err
	}
	timeline, err := s.tasks.Timeline(c.Request.Context(), t.ID)
	if err != nil {
		return taskError(err)
	}
	// The ZIP goes out as it is made: clips are megabytes each. An error
	// half-way can only cut the download short (and is logged).
	c.Header("Content-Type", "application/zip")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="dossier-%s.zip"`, t.ID))
	c.Status(http.StatusOK)
	zw := zip.NewWriter(c.Writer)
	var manifest bytes.Buffer
	files := map[string]bool{}
	// add copies a file into the ZIP once, under name, and into the manifest.
	add := func(name string, r io.Reader) error {
		if files[name] {
			return nil
		}
		files[name] = true
		method := zip.Deflate
		if strings.HasSuffix(name, ".mp4") || strings.HasSuffix(name, ".jpg") || strings.HasSuffix(name, ".png") {
			method = zip.Store // compressed already
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: s.now()})
		if err != nil {
			return err
		}
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(w, h), r); err != nil {
			return err
		}
		fmt.Fprintf(&manifest, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), name)
		return nil
	}
	picture := func(name string) string {
		if name == "" {
			return ""
		}
		var path string
		switch {
		case uploadName.MatchString(name):
			path = filepath.Join(s.uploadDir, name)
		case snapshotName.MatchString(name) && s.snapDir != "":
			path = filepath.Join(s.snapDir, name)
		default:
			return ""
		}
		if files["pictures/"+name] || addPath(add, "pictures/"+name, path) {
			return "pictures/" + name
		}
		return ""
	}
	rows := make([]dossierRow, 0, len(timeline))
	for _, e := range timeline {
		r := dossierRow{Seq: e.Seq, At: s.stamp(e.AtMS), Action: string(e.Action), By: e.By, Role: string(e.Role), Source: e.Source, Note: e.Note}
		if e.From != "" && e.From != e.To {
			r.Move = string(e.From) + " → " + string(e.To)
		}
		if e.Worker != "" {
			r.Note = fmt.Sprintf("%s (worker %s, grid %s)", r.Note, e.Worker, e.Grid)
		}
		if ev := e.Evidence; ev != nil {
			for _, p := range []string{ev.Snapshot, ev.Photo, ev.Before, ev.After} {
				if f := picture(p); f != "" {
					r.Pictures = append(r.Pictures, f)
				}
			}
			if g := ev.GPS; g != nil {
				r.GPS = fmt.Sprintf("%.6f, %.6f ±%g m, %g m from the place", g.Lat, g.Lng, g.AccuracyM, g.DistanceM)
			}
			r.Verdict = ev.Verdict
			if ev.Clip != nil {
				r.Clip = s.dossierClip(c, ev.Clip, add)
			}
		}
		rows = append(rows, r)
	}
	page := struct {
		Task          *task.Task
		Created, Made string
		Zone          string
		Rows          []dossierRow
	}{t, s.stamp(t.CreatedMS), s.stamp(s.now().UnixMilli()), s.cfg.Server.Location().String(), rows}
	var html bytes.Buffer
	err = dossierPage.Execute(&html, page)
	if err == nil {
		err = add("index.html", &html)
	}
	if err == nil {
		var w io.Writer
		if w, err = zw.Create("MANIFEST.sha256"); err == nil {
			_, err = w.Write(manifest.Bytes())
		}
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		s.log.Error("dossier cut short", "task", t.ID, "err", err)
	}
	return nil
}

// dossierClip puts an entry's clip into the dossier, when it is ready:
// from this member's disk, or from the member of the cluster that cut it.
func (s *Server) dossierClip(c *gin.Context, ref *task.Clip, add func(name string, r io.Reader) error) *dossierClip {
	dc := &dossierClip{ID: ref.ID, Missing: "not recorded on this bridge"}
	if s.rec == nil {
		return dc
	}
	cl, ok := s.rec.ClipInfo(ref.ID)
	var from *cluster.Member
	if !ok {
		if m, there, found := s.clipMember(c, ref.ID); found {
			cl, ok, from = there, true, &m
		}
	}
	name := "clips/" + cl.ID + ".mp4"
	switch {
	case !ok:
		dc.Missing = "no longer kept (record.evidence_days)"
	case cl.State == record.ClipPending:
		dc.Missing = "still being recorded; make the dossier again a little later"
	case cl.State == record.ClipFailed:
		dc.Missing = cl.Note
	case from == nil && addPath(add, name, s.rec.ClipPath(cl.ID)),
		from != nil && s.addFromMember(c, *from, "/api/clips/"+cl.ID+".mp4", name, add):
		dc.File = name
		dc.Span = s.stamp(cl.FirstMS) + " – " + s.clock(cl.LastMS)
		dc.Note = cl.Note
	default:
		dc.Missing = "its file is gone"
	}
	return dc
}

// addPath adds the file at path to the dossier under name; false when it
// cannot be read.
func addPath(add func(name string, r io.Reader) error, name, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return add(name, f) == nil
}

// clipClient fetches a clip from another member: megabytes, so minutes.
var clipClient = &http.Client{Timeout: 2 * time.Minute}

// addFromMember adds what member m serves at path (asked with the caller's
// credentials) to the dossier under name.
func (s *Server) addFromMember(c *gin.Context, m cluster.Member, path, name string, add func(name string, r io.Reader) error) bool {
	res, err := s.askMember(c, clipClient, m, path)
	if err != nil {
		s.log.Warn("dossier: a member did not send a clip", "member", m.Node, "path", path, "err", err)
		return false
	}
	defer res.Body.Close()
	return res.StatusCode == http.StatusOK && add(name, res.Body) == nil
}

// stamp writes a moment to the second in the center's zone.
func (s *Server) stamp(ms int64) string {
	return time.UnixMilli(ms).In(s.cfg.Server.Location()).Format("2006-01-02 15:04:05")
}
