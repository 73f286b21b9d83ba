package detect

import (
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"

	"qianliyan/configs"
)

// writeSnapshot saves img as dir/name.jpg with the zone (if any) outlined
// in red and the marks (people found) in yellow.
func writeSnapshot(dir, name string, img *image.YCbCr, zone *configs.Zone, marks ...image.Rectangle) (string, error) {
	rgba := image.NewRGBA(img.Rect)
	draw.Draw(rgba, rgba.Rect, img, img.Rect.Min, draw.Src)
	if zone != nil {
		w, h := float64(img.Rect.Dx()), float64(img.Rect.Dy())
		red := color.RGBA{230, 40, 40, 255}
		for i, p := range zone.Polygon {
			q := zone.Polygon[(i+1)%len(zone.Polygon)]
			line(rgba, image.Pt(int(p.X*w), int(p.Y*h)), image.Pt(int(q.X*w), int(q.Y*h)), red, 3)
		}
	}
	yellow := color.RGBA{250, 210, 40, 255}
	for _, m := range marks {
		corners := []image.Point{m.Min, {m.Max.X, m.Min.Y}, m.Max, {m.Min.X, m.Max.Y}}
		for i, p := range corners {
			line(rgba, p, corners[(i+1)%4], yellow, 2)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	file := name + ".jpg"
	f, err := os.Create(filepath.Join(dir, file))
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := jpeg.Encode(f, rgba, &jpeg.Options{Quality: 80}); err != nil {
		return "", err
	}
	return file, f.Close()
}

// line draws a thick line (Bresenham, a square brush).
func line(img *image.RGBA, a, b image.Point, c color.RGBA, width int) {
	dx, dy := abs(b.X-a.X), -abs(b.Y-a.Y)
	sx, sy := sign(b.X-a.X), sign(b.Y-a.Y)
	e := dx + dy
	for {
		for ox := -width / 2; ox <= width/2; ox++ {
			for oy := -width / 2; oy <= width/2; oy++ {
				img.SetRGBA(a.X+ox, a.Y+oy, c)
			}
		}
		if a == b {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			a.X += sx
		} else {
			e += dx
			a.Y += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
