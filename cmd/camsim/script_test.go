package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// zoneDiff is the mean absolute difference of two pictures inside r.
func zoneDiff(a, b *image.RGBA, r image.Rectangle) float64 {
	var sum, n int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := a.PixOffset(x, y)
			for c := range 3 {
				d := int(a.Pix[i+c]) - int(b.Pix[i+c])
				sum += max(d, -d)
			}
			n += 3
		}
	}
	return float64(sum) / float64(n)
}

func TestBinSceneTellsItsStory(t *testing.T) {
	sc, err := loadScript("bin")
	if err != nil {
		t.Fatal(err)
	}
	const w, h, fps = 1280, 720, 10
	s := NewScriptedScene(sc, w, h, fps, int(sc.Length.Seconds())*fps)
	frame := func(at time.Duration) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		s.Draw(img, int(at.Seconds()*fps))
		if dir := os.Getenv("CAMSIM_SCENE_PNG"); dir != "" {
			f, _ := os.Create(filepath.Join(dir, strings.ReplaceAll(at.String(), ".", "_")+".png"))
			_ = png.Encode(f, img)
			f.Close()
		}
		return img
	}
	zone := image.Rect(w*27/100, h*46/100, w*43/100, h*64/100)
	up, down, visited, upAgain := frame(14*time.Second), frame(30*time.Second), frame(45*time.Second), frame(58*time.Second)
	if d := zoneDiff(up, down, zone); d < 8 {
		t.Errorf("the bin zone changes by %.1f when the bin falls, want a clear change (≥ 8)", d)
	}
	if d := zoneDiff(down, visited, zone); d < 3 {
		t.Errorf("the bin zone changes by %.1f when the person stands in it, want ≥ 3", d)
	}
	// Back up, the zone looks as before (the light drifts a little).
	if d, was := zoneDiff(up, upAgain, zone), zoneDiff(up, down, zone); d > was/2 {
		t.Errorf("the bin zone differs by %.1f from its first look once the bin is back, want well under %.1f", d, was)
	}
}

func TestScriptErrorsSayWhat(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nlength: 0s\npeople:\n  - {walker: z, walk: 0s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadScript(bad)
	for _, want := range []string{"length 0s: want 1s to 10m", `people[0].walker "z": want one of b, c, d`, "people[0].walk 0s: want more than 0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	}
	if _, err := loadScript("nosuch"); err == nil || !strings.Contains(err.Error(), "no such built-in scene (built in: bin, eval-arrival, eval-edge, eval-groups, eval-light, eval-sizes, eval-still, loiter, quiet)") {
		t.Errorf("unknown scene: %v", err)
	}
	if err := os.WriteFile(bad, []byte("name: x\nlength: 10s\nbogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadScript(bad); err == nil || !strings.Contains(err.Error(), "field bogus not found") {
		t.Errorf("unknown field: %v", err)
	}
}
