package ingest_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
)

// ffmpegPush runs ffmpeg (libx264 or libx265 and its own RTSP muxer)
// publishing a test picture to camsim's push path until the test ends.
// ffmpeg cannot answer PLAY itself (its -rtsp_flags listen is for its
// demuxer), so camsim relays its SDP and RTP packets unchanged: what the
// bridge reads was encoded and packetized by ffmpeg, not by us.
func ffmpegPush(t *testing.T, cam *camsimproc.Proc, path string, encoder ...string) string {
	t.Helper()
	url := "rtsp://" + cam.Addr() + "/push/" + path
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25"}
	args = append(args, encoder...)
	// camsim relays packets of at most 1200 bytes, like WebRTC wants them
	args = append(args, "-f", "rtsp", "-rtsp_transport", "tcp", "-pkt_size", "1200", url)
	cmd := exec.Command("ffmpeg", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ffmpeg: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("ffmpeg said: %s", stderr.String())
		}
	})
	return url
}

func TestUnitsArriveFromFFmpeg(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1")
	for _, tc := range []struct {
		codec   ingest.Codec
		encoder []string
	}{
		{ingest.H264, []string{"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "50", "-bf", "0", "-pix_fmt", "yuv420p"}},
		{ingest.H265, []string{"-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "50", "-bf", "0", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"}},
	} {
		t.Run(string(tc.codec), func(t *testing.T) {
			url := ffmpegPush(t, cam, strings.ToLower(string(tc.codec)), tc.encoder...)
			r := newReader(t, url, "tcp")
			waitHealth(t, r, 10*time.Second, "online", func(h ingest.Health) bool { return h.Online })
			sub := r.Stream().Subscribe("test", 512, true)
			defer sub.Close()
			var units []*ingest.Unit
			deadline := time.After(2500 * time.Millisecond)
		collect:
			for {
				select {
				case u := <-sub.C:
					units = append(units, u)
				case <-deadline:
					break collect
				}
			}
			if len(units) < 40 {
				t.Fatalf("got %d units in 2.5 s, want >= 40", len(units))
			}
			if !units[0].Key || units[0].Codec != tc.codec {
				t.Fatalf("first unit key=%v codec=%s, want a %s key frame", units[0].Key, units[0].Codec, tc.codec)
			}
			dec, err := detect.NewDecoder(tc.codec, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			decoded := 0
			for _, u := range units {
				img, err := dec.Decode(u.NALUs)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if img == nil {
					continue
				}
				decoded++
				if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 720 {
					t.Fatalf("decoded %dx%d, want 1280x720", b.Dx(), b.Dy())
				}
				if decoded == 1 && lumaStdDev(img) < 10 {
					t.Fatalf("first picture is blank")
				}
			}
			if decoded < len(units)-5 {
				t.Errorf("decoded %d of %d units", decoded, len(units))
			}
			h := r.Health()
			if h.Codec != tc.codec || h.Width != 1280 || h.Height != 720 {
				t.Errorf("health = %s %dx%d, want %s 1280x720", h.Codec, h.Width, h.Height, tc.codec)
			}
		})
	}
}
