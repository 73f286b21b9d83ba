package api_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"qianliyan/api"
	"qianliyan/configs"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/testenv"
	"qianliyan/record"
)

// recordedTaskConfig is taskConfig with cam1 a camsim camera, recorded,
// and clips of 2 s before to 3 s after.
func recordedTaskConfig(t *testing.T) *configs.Config {
	t.Helper()
	cam := camsimproc.Start(t, "-cameras", "1", "-size", "640x360")
	cfg := taskConfig(t)
	cfg.Cameras[0].URL, cfg.Cameras[0].Transport = cam.URL(1), "tcp"
	cfg.Record.Before, cfg.Record.After = configs.Duration(2*time.Second), configs.Duration(3*time.Second)
	return cfg
}

// toSubmitted takes a report on cam1 to arrived as worker1 and submits it
// through the API; it returns the task id and the submission's clip.
func (b *bridge) toSubmitted(t *testing.T) (string, string) {
	t.Helper()
	tk := b.report(t, "resident", map[string]any{"title": "垃圾桶倒了", "camera": "cam1"})
	b.move(t, "staff", tk.ID, "accept", nil)
	b.move(t, "staff", tk.ID, "dispatch", map[string]any{"worker": "worker1"})
	b.move(t, "worker1", tk.ID, "claim", nil)
	b.move(t, "worker1", tk.ID, "arrive", map[string]any{"evidence": map[string]any{"gps": map[string]any{"lat": 33.52, "lng": 119.14}}})
	testenv.WaitFor(t, "3 s of recording", 20*time.Second, func() bool {
		st, _ := b.rec.Stats("cam1")
		return st.Units > 75
	})
	ch := b.move(t, "worker1", tk.ID, "submit", map[string]any{"evidence": map[string]any{"photo": b.photo(t, "worker1")}})
	c := ch.Entry.Evidence.Clip
	if c == nil || c.Camera != "cam1" || c.EndMS-c.StartMS != 5000 || !record.ValidClipID(c.ID) {
		t.Fatalf("the submission's entry lists the clip %+v, want one of cam1, 5 s long", c)
	}
	return tk.ID, c.ID
}

func TestClipOfASubmissionIsServedToWhoMaySeeItsTask(t *testing.T) {
	b := serve(t, recordedTaskConfig(t), withVideo("cam1"), withTasks(), withLogins(), withRecording())
	_, id := b.toSubmitted(t)

	code, body := b.do(t, "GET", "/api/clips/"+id+".mp4", "worker1", nil)
	if code != 409 || !strings.Contains(errorOf(body), "still being recorded") {
		t.Errorf("pending clip = %d %s, want 409 saying it is still being recorded", code, body)
	}
	for _, who := range []string{"resident", "resident2"} {
		code, body := b.do(t, "GET", "/api/clips/"+id+".mp4", who, nil)
		wantError(t, who+" asking for a clip", code, body, 403, "recordings are for the center and its grid workers; residents watch the public cameras live")
	}
	code, body = b.do(t, "GET", "/api/clips/"+id, "worker2", nil)
	wantError(t, "a worker of another grid asking for the clip", code, body, 404, `no clip "`+id+`"`)
	code, body = b.do(t, "GET", "/api/clips/nope.mp4", "staff", nil)
	wantError(t, "a made-up clip id", code, body, 400, `"nope" is not the id of a clip`)

	var cl record.Clip
	testenv.WaitFor(t, "the clip ready", 15*time.Second, func() bool {
		b.must(t, 200, "GET", "/api/clips/"+id, "staff", nil, &cl)
		return cl.State != record.ClipPending
	})
	if cl.State != record.ClipReady || cl.Task == "" || cl.Reason != "submit" {
		t.Fatalf("clip = %+v, want ready, of the task, for the submission", cl)
	}
	for _, who := range []string{"worker1", "staff", "admin"} {
		req := newRequest("GET", b.url+"/api/clips/"+id+".mp4", b.tokens[who], "")
		req.Header.Set("Range", "bytes=0-99")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 206 || len(got) != 100 || res.Header.Get("Content-Type") != "video/mp4" ||
			res.Header.Get("Content-Range") != "bytes 0-99/"+fmtInt(cl.Bytes) || string(got[4:8]) != "ftyp" {
			t.Errorf("%s: range of the clip = %d %q %d bytes, want 206 video/mp4 of 100 bytes from an ftyp box",
				who, res.StatusCode, res.Header.Get("Content-Range"), len(got))
		}
	}
}

func TestDossierHoldsTheTimelinePicturesAndClipsAndItsManifestVerifies(t *testing.T) {
	b := serve(t, recordedTaskConfig(t), withVideo("cam1"), withTasks(), withLogins(), withRecording())
	id, clip := b.toSubmitted(t)
	testenv.WaitFor(t, "the clip ready", 15*time.Second, func() bool {
		cl, _ := b.rec.ClipInfo(clip)
		return cl.State == record.ClipReady
	})
	for _, who := range []string{"worker1", "resident"} {
		if code, body := b.do(t, "GET", "/api/tasks/"+id+"/dossier", who, nil); code != 403 {
			t.Errorf("%s asking for the dossier = %d %s, want 403", who, code, body)
		}
	}
	res, err := http.DefaultClient.Do(newRequest("GET", b.url+"/api/tasks/"+id+"/dossier", b.tokens["staff"], ""))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("dossier = %d %s, want 200 application/zip", res.StatusCode, res.Header.Get("Content-Type"))
	}
	files := unzip(t, data)
	manifest := strings.TrimSpace(string(files["MANIFEST.sha256"]))
	listed := map[string]bool{}
	for _, line := range strings.Split(manifest, "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		body, there := files[name]
		if !ok || !there {
			t.Fatalf("manifest line %q names no file of the dossier", line)
		}
		if h := sha256.Sum256(body); hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s: sha256 %x, the manifest says %s", name, h, sum)
		}
		listed[name] = true
	}
	for name := range files {
		if name != "MANIFEST.sha256" && !listed[name] {
			t.Errorf("%s is in the dossier but not in its manifest", name)
		}
	}
	html := string(files["index.html"])
	clipFile := "clips/" + clip + ".mp4"
	if cl, _ := b.rec.ClipInfo(clip); int64(len(files[clipFile])) != cl.Bytes || cl.Bytes == 0 {
		t.Errorf("the clip in the dossier has %d bytes, want its %d", len(files[clipFile]), cl.Bytes)
	}
	pictures := 0
	for name := range files {
		if strings.HasPrefix(name, "pictures/") {
			pictures++
			if !strings.Contains(html, `src="`+name+`"`) {
				t.Errorf("index.html does not show %s", name)
			}
		}
	}
	for _, want := range []string{`href="` + clipFile + `"`, "submit", "arrived → submitted", "worker1 (worker)", "person", id} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if pictures != 1 {
		t.Errorf("%d pictures in the dossier, want the submission's photo", pictures)
	}
	// A change to any file shows.
	files[clipFile][100] ^= 1
	if h := sha256.Sum256(files[clipFile]); strings.Contains(manifest, hex.EncodeToString(h[:])) {
		t.Errorf("a changed clip still matches the manifest")
	}
}

// unzip gives the files of a ZIP by name.
func unzip(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return files
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

func TestRecordingIsForTheCenterOnly(t *testing.T) {
	b := serve(t, recordedTaskConfig(t), withVideo("cam1"), withTasks(), withLogins(), withRecording())
	testenv.WaitFor(t, "two segments", 30*time.Second, func() bool { return len(b.rec.Segments("cam1", 0, 1<<62)) >= 2 })
	var rec api.Recording
	b.must(t, 200, "GET", "/api/cameras/cam1/recording", "staff", nil, &rec)
	if len(rec.Segments) < 2 || rec.FromMS != rec.Segments[0].StartMS || rec.KeepMS != 30*60*1000 {
		t.Fatalf("recording = %+v, want two segments or more, from the first, kept 30 min", rec)
	}
	seg := rec.Segments[1]
	var part api.Recording
	b.must(t, 200, "GET", "/api/cameras/cam1/recording?from="+fmtInt(seg.StartMS+10)+"&to="+fmtInt(seg.EndMS-10), "admin", nil, &part)
	if len(part.Segments) != 1 || part.Segments[0] != seg {
		t.Errorf("recording within the second segment = %+v, want just %+v", part.Segments, seg)
	}
	code, body := b.do(t, "GET", seg.URL, "staff", nil)
	if code != 200 || int64(len(body)) != seg.Bytes || body[4:8] != "ftyp" {
		t.Errorf("segment = %d, %d bytes; want 200 and its %d bytes", code, len(body), seg.Bytes)
	}
	for _, who := range []string{"resident", "worker1"} {
		for _, path := range []string{"/api/cameras/cam1/recording", seg.URL} {
			if code, body := b.do(t, "GET", path, who, nil); code != 403 {
				t.Errorf("%s GET %s = %d %s, want 403", who, path, code, body)
			}
		}
	}
	code, body = b.do(t, "GET", "/api/cameras/cam1/recording/../../etc/passwd", "staff", nil)
	if code != 404 {
		t.Errorf("a made-up segment = %d %s, want 404", code, body)
	}
	code, body = b.do(t, "GET", "/api/cameras/cam1/recording?from=20&to=10", "staff", nil)
	wantError(t, "to before from", code, body, 400, "to (10) is before from (20)")
	res, err := http.Get(b.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`qly_record_bytes_total{camera="cam1"} `, `qly_record_disk_bytes{camera="cam1"} `, `qly_record_dropped_units_total{camera="cam1"} 0`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
