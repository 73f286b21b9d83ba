package main

import (
	"testing"

	"qianliyan/internal/camsimproc"
)

// switchFigures are what check.mjs substream says of one phase.
type switchFigures struct {
	Shown         int
	Stream        string
	Width, Height int
	Frames        int
	MS            int
	Samples       int
	Black         int
}

func TestChromiumSubStreamsOnTheWallAndOnMobileData(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "2", "-sub", "320x180", "-loop", "2s", "-gop", "1s")
	br := startBridge(t, []cameraSpec{
		{id: "cam1", url: cam.URL(1), subURL: cam.URL(1) + "/sub", public: true},
		{id: "cam2", url: cam.URL(2), subURL: cam.URL(2) + "/sub", public: true},
	}, "")
	var res struct{ First, Enlarged, Shrunk, Mobile switchFigures }
	runScenario(t, &res, "substream", br.URL, artifacts(t), staffToken, "cam1")
	t.Logf("sub %+v; enlarged %+v; shrunk %+v; phone on mobile data %+v", res.First, res.Enlarged, res.Shrunk, res.Mobile)

	if f := res.First; f.Stream != "sub" || f.Width != 320 || f.Height != 180 || f.Frames <= 25 {
		t.Fatalf("tile at 9 a page: %s stream %dx%d, %d frames; want the 320x180 sub-stream past 25 frames", f.Stream, f.Width, f.Height, f.Frames)
	}
	for _, ph := range []struct {
		name   string
		f      switchFigures
		stream string
		w, h   int
	}{{"enlarged", res.Enlarged, "main", 1280, 720}, {"shrunk back", res.Shrunk, "sub", 320, 180}} {
		f := ph.f
		if f.Stream != ph.stream || f.Width != ph.w || f.Height != ph.h || f.Frames <= 25 {
			t.Errorf("%s: %s stream %dx%d, %d frames after %d ms; want %s at %dx%d past 25 frames",
				ph.name, f.Stream, f.Width, f.Height, f.Frames, f.MS, ph.stream, ph.w, ph.h)
		}
		if f.Black > 0 {
			t.Errorf("%s: %d of %d samples during the switch showed no picture, want none", ph.name, f.Black, f.Samples)
		}
	}
	if m := res.Mobile; m.Stream != "sub" || m.Width != 320 || m.Frames <= 25 {
		t.Errorf("/app on mobile data: %s stream %dx%d, %d frames; want the 320x180 sub-stream past 25 frames", m.Stream, m.Width, m.Height, m.Frames)
	}
}
