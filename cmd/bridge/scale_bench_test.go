package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"qianliyan/detect"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/redistest"
)

// BenchmarkScale128 is configs/scale.yaml's district on this machine: camsim
// serves 126 streets with sub-streams (640x360) and the scripted bin and
// loiter scenes; the bridge pulls all 128 cameras, detection in auto mode
// reads the sub-streams (the scenes' main streams), nobody watches. Over a
// 70 s window, one loop of the scenes: the bridge's cores and peak RSS,
// camsim's cores, and the scripted bin's zone_changed after the fall and
// the scripted person's arrival after the entry (from Redis). Detection
// keeps scale.yaml's defaults (zone_hold 3s). With -benchtime Nx the
// latencies are the p95 of N loops (the last loop's CPU and memory).
func BenchmarkScale128(b *testing.B) {
	const streets, length = 126, 60 * time.Second
	cam := camsimproc.Start(b, "-cameras", strconv.Itoa(streets), "-sub", "640x360", "-scene", "bin", "-scene", "loiter")
	binZone := "[{name: 垃圾桶, kind: bin, polygon: [[0.27, 0.46], [0.43, 0.46], [0.43, 0.64], [0.27, 0.64]]}]"
	var cams []cameraSpec
	for i := 1; i <= streets; i++ {
		cams = append(cams, cameraSpec{id: fmt.Sprintf("cam%d", i), url: cam.URL(i), subURL: cam.URL(i) + "/sub", public: true, zones: binZone})
	}
	cams = append(cams,
		cameraSpec{id: "bin", url: cam.SceneURL("bin"), public: true, zones: binZone},
		cameraSpec{id: "loiter", url: cam.SceneURL("loiter"), public: true,
			zones: "[{name: 门洞, kind: restricted, polygon: [[0.55, 0.50], [0.75, 0.50], [0.75, 0.66], [0.55, 0.66]]}]"})
	br := startBridgeWith(b, cams, "", "detect: {mode: auto}")
	rdb, _ := redistest.Client(b, "scale")
	store := detect.NewStore(rdb, br.Prefix)
	staff := storyClient{t: b, base: br.URL, token: staffToken}
	var changed, arrived []float64
	for b.Loop() {
		// the bin's normal look: standing, at 15 s of the loop
		for time.Until(cam.SceneWall(15*time.Second, length)) < 0 {
			time.Sleep(time.Second)
		}
		time.Sleep(time.Until(cam.SceneWall(15*time.Second, length)))
		staff.do(http.MethodPost, "/api/cameras/bin/zones/*/reference", nil, http.StatusAccepted, nil)
		fall, enters := cam.SceneWall(20*time.Second, length), cam.SceneWall(39600*time.Millisecond, length)

		cpu0, cs0, t0 := camsimproc.ProcCPU(br.PID()), camsimproc.ProcCPU(cam.PID()), time.Now()
		var rss float64
		for time.Since(t0) < 70*time.Second {
			rss = max(rss, camsimproc.ProcRSS(br.PID()))
			time.Sleep(time.Second)
		}
		secs := time.Since(t0).Seconds()
		b.ReportMetric((camsimproc.ProcCPU(br.PID())-cpu0)/secs, "bridge-cores")
		b.ReportMetric(rss/(1<<20), "bridge-peak-rss-MiB")
		b.ReportMetric((camsimproc.ProcCPU(cam.PID())-cs0)/secs, "camsim-cores")

		ctx := context.Background()
		var ch, ar []float64
		ins, err := store.List(ctx, detect.Filter{Camera: "bin", Kind: detect.ZoneChanged})
		if err != nil {
			b.Fatal(err)
		}
		for _, in := range ins {
			if d := time.UnixMilli(in.StartedMS).Sub(fall); d > 0 && d < 30*time.Second {
				ch = append(ch, d.Seconds())
			}
		}
		obs, err := store.Observations(ctx, 100000)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range obs {
			if d := time.UnixMilli(o.AtMS).Sub(enters); o.Camera == "bin" && o.Kind == detect.PersonEntered && d > -3*time.Second && d < 15*time.Second {
				ar = append(ar, d.Seconds())
			}
		}
		slices.Sort(ch)
		slices.Sort(ar)
		if len(ch) == 0 || len(ar) == 0 {
			b.Errorf("among 128 cameras the bin's zone_changed came %v s after the fall, the person %v s after the entry; want both", ch, ar)
			continue
		}
		b.Logf("loop %d: the bin's zone_changed %.2f s after the fall, the person seen %.2f s after the entry", len(changed)+1, ch[0], ar[0])
		changed, arrived = append(changed, ch[0]), append(arrived, ar[0])
	}
	if len(changed) > 0 {
		b.ReportMetric(p95(changed), "bin-zone-changed-after-fall-p95-s")
		b.ReportMetric(p95(arrived), "arrival-seen-after-entry-p95-s")
	}
}

// p95 is the 95th percentile of xs by the nearest rank (the largest of
// fewer than 20).
func p95(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[(len(s)*95+99)/100-1]
}
