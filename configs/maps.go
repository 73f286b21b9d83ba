package configs

import (
	"fmt"
	"strings"
)

// Map is the map of the pages (the wall's camera map, the resident's
// location picker, a task's track): Leaflet, with tiles from Tiles when
// one is given, else a plain background drawn from the cameras'
// coordinates, so it works without any tile server (offline).
type Map struct {
	// Tiles is the URL template of the tile server, with {z}, {x} and {y}
	// (and {s} for Subdomains), e.g. a 天地图 layer with its key
	// (https://t{s}.tianditu.gov.cn/vec_w/wmts?...&tk=KEY) or an internal
	// server; http(s) or a path on the bridge. Empty (default): no tiles.
	Tiles       string `yaml:"tiles"`
	Subdomains  string `yaml:"subdomains"`  // the letters {s} takes, e.g. "01234567" for 天地图; default "abc"
	Attribution string `yaml:"attribution"` // shown in the corner of the map, e.g. "© 天地图"; up to 200 runes
	// Center and Zoom are where the map opens; without them it fits the
	// cameras.
	Center  LatLng `yaml:"center"`   // lat 0 and lng 0: not given
	Zoom    int    `yaml:"zoom"`     // 1..MaxZoom; 0: fit the cameras
	MaxZoom int    `yaml:"max_zoom"` // the tile server's deepest level, default 18, 1..22
	// NearbyM is how far from the place of a resident's report a camera may
	// be and still count as "nearby": default 500 m, 10..5000. A report
	// naming a camera farther than that is refused (400).
	NearbyM float64 `yaml:"nearby_m"`
}

// LatLng is a point on the map.
type LatLng struct {
	Lat float64 `yaml:"lat"` // -90..90
	Lng float64 `yaml:"lng"` // -180..180
}

func mapDefaults(m *Map) {
	m.Subdomains = "abc"
	m.MaxZoom = 18
	m.NearbyM = 500
}

func validateMap(d *decoder, path string, m *Map) {
	if m.Tiles != "" {
		// Not url.Parse: the braces of a template are not a valid host.
		lower := strings.ToLower(m.Tiles)
		if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(m.Tiles, "/") {
			d.check(path+".tiles", "must start with http://, https:// or / (a path on the bridge), like https://tile.example.org/{z}/{x}/{y}.png")
		}
		for _, p := range []string{"{z}", "{x}", "{y}"} {
			if !strings.Contains(m.Tiles, p) {
				d.check(path+".tiles", fmt.Sprintf("has no %s: a tile URL template names {z}, {x} and {y}, like https://tile.example.org/{z}/{x}/{y}.png", p))
				break
			}
		}
		if strings.Contains(m.Tiles, "{s}") && m.Subdomains == "" {
			d.check(path+".subdomains", "must not be empty when tiles uses {s}: the letters {s} stands for, like 01234567")
		}
	}
	if n := len([]rune(m.Attribution)); n > 200 {
		d.check(path+".attribution", fmt.Sprintf("is %d characters long; at most 200 are allowed", n))
	}
	if c := m.Center; !inRange(c.Lat, -90, 90) || !inRange(c.Lng, -180, 180) {
		d.check(path+".center", fmt.Sprintf("%s,%s is not a place on the map: lat -90..90, lng -180..180", formatFloat(c.Lat), formatFloat(c.Lng)))
	}
	if m.MaxZoom < 1 || m.MaxZoom > 22 {
		d.check(path+".max_zoom", fmt.Sprintf("%d is outside 1..22", m.MaxZoom))
	}
	if m.Zoom < 0 || m.Zoom > m.MaxZoom {
		d.check(path+".zoom", fmt.Sprintf("%d is outside 0..max_zoom (%d); 0 fits the cameras", m.Zoom, m.MaxZoom))
	}
	if !inRange(m.NearbyM, 10, 5000) {
		d.check(path+".nearby_m", formatFloat(m.NearbyM)+" is outside 10..5000 metres")
	}
}
