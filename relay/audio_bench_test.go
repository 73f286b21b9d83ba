package relay_test

import (
	"syscall"
	"testing"
	"time"

	"qianliyan/relay"
)

// BenchmarkAACToOpus measures the CPU of transcoding one camera's audio
// (camsim's AAC-LC, 48 kHz mono) to Opus: decode, resample, encode. It
// reports the share of a core one camera costs.
func BenchmarkAACToOpus(b *testing.B) {
	r := newRig(b, map[string]string{"cam1": "cam/1"}, "-cameras", "1", "-size", "320x240", "-loop", "1s", "-audio", "aac")
	info := r.hub.Stream("cam1").Audio()
	sub := r.hub.Stream("cam1").SubscribeAudio("bench", 256)
	var aus [][]byte
	deadline := time.After(3 * time.Second)
collect:
	for {
		select {
		case u := <-sub.C:
			aus = append(aus, u.Audio)
		case <-deadline:
			break collect
		}
	}
	sub.Close()
	if len(aus) < 100 {
		b.Fatalf("got %d AAC access units in 3 s", len(aus))
	}
	seconds := float64(len(aus)) * 1024 / float64(info.SampleRate)
	b.ResetTimer()
	start := time.Now()
	cpu0 := cpuTime()
	packets := 0
	for range b.N {
		for range 10 { // ~28 s of audio a round
			n, err := relay.TranscodeAAC(info.Config, info.SampleRate, info.Channels, aus)
			if err != nil {
				b.Fatal(err)
			}
			packets += n
		}
	}
	wall, cpu := time.Since(start), cpuTime()-cpu0
	audio := seconds * 10 * float64(b.N)
	b.ReportMetric(cpu.Seconds()/audio*1000, "millicore/camera")
	b.ReportMetric(float64(packets)/audio, "opus-packets/s")
	b.Logf("%.1f s of audio transcoded in %v (cpu %v): %.2f millicore per camera", audio, wall.Round(time.Millisecond), cpu.Round(time.Millisecond), cpu.Seconds()/audio*1000)
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
