package ingest_test

import (
	"strings"
	"testing"
	"time"

	"qianliyan/detect"
	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
)

func TestUnitsArriveFromFFmpeg(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1")
	for _, tc := range []struct {
		codec   ingest.Codec
		encoder []string
	}{
		{ingest.H264, camsimproc.H264},
		{ingest.H265, camsimproc.H265},
	} {
		t.Run(string(tc.codec), func(t *testing.T) {
			url := cam.Push(t, strings.ToLower(string(tc.codec)), tc.encoder...)
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
