// Command whepload plays WHEP endpoints with N pion viewers spread over
// them in turn, some joining at once, and prints "joined" once every viewer has its first key
// frame, "steady" 3 s later, then one JSON line of what they got: the load
// generator of
// `make bench`, run as its own process so its CPU is not the bridge's.
//
//	whepload -url http://127.0.0.1:8080/whep/cam1 -n 100 -hold 10s
//	whepload -url http://127.0.0.1:8080/whep/cam%d -cameras 32 -n 500 -rcvbuf 0
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strings"
	"sync"
	"time"

	"qianliyan/internal/schedlat"
	"qianliyan/internal/whepclient"
)

// Result is what whepload prints.
type Result struct {
	Viewers        int     `json:"viewers"`
	Failed         int     `json:"failed"`
	Packets        int64   `json:"packets"`
	Lost           int64   `json:"lost"`      // gaps in the sequence numbers
	Recovered      int64   `json:"recovered"` // of those, packets that came later (resent)
	FirstPacketP50 float64 `json:"first_packet_ms_p50"`
	FirstPacketP95 float64 `json:"first_packet_ms_p95"`
	FirstKeyP50    float64 `json:"first_key_ms_p50"`
	FirstKeyP95    float64 `json:"first_key_ms_p95"`
	// from the viewer's connection (ICE and DTLS done) to its first key
	// frame: the wait a GOP cache removes
	KeyAfterConnP50 float64 `json:"key_after_connect_ms_p50"`
	KeyAfterConnP95 float64 `json:"key_after_connect_ms_p95"`
	// the steps before: the answer, ICE connected, DTLS done
	AnswerP50    float64 `json:"answer_ms_p50"`
	ICEP50       float64 `json:"ice_ms_p50"`
	ConnectedP50 float64 `json:"connected_ms_p50"`
	// how long this process's goroutines waited to run during the joins
	// (p99, the upper bound of its bucket; -1: over 10 s): long waits
	// mean the viewers, not the bridge, held the joins up
	JoinSchedP99 float64 `json:"join_sched_ms_p99"`
	NoKey        int     `json:"no_key_frame"`
	Error        string  `json:"error,omitempty"`
}

func main() {
	url := flag.String("url", "", "WHEP endpoint; with -cameras, a pattern whose %d is the camera's number")
	cameras := flag.Int("cameras", 0, "spread the viewers over cameras 1..N of the -url pattern, in turn")
	rcvbuf := flag.Int("rcvbuf", whepclient.ReadBuffer, "each viewer's UDP receive buffer in bytes; 0: the kernel's default, as a plain client has")
	n := flag.Int("n", 1, "viewers")
	token := flag.String("token", "", "bearer token")
	hold := flag.Duration("hold", 10*time.Second, "how long to play after every viewer has joined")
	parallel := flag.Int("parallel", 8, "viewers joining at once: each one from its offer to its first key frame (or 10 s)")
	phasesFile := flag.String("phases", "", "write each viewer's join phases (ms from the POST) to this CSV file")
	traceFile := flag.String("trace", "", "write a Go execution trace of the joins to this file (for go tool trace)")
	profileFile := flag.String("cpuprofile", "", "write a CPU profile of the joins to this file (for go tool pprof)")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "whepload: -url is required")
		os.Exit(2)
	}
	urls := []string{*url}
	if *cameras > 0 {
		if !strings.Contains(*url, "%d") {
			fmt.Fprintf(os.Stderr, "whepload: with -cameras, -url needs a %%d for the camera's number\n")
			os.Exit(2)
		}
		urls = urls[:0]
		for c := 1; c <= *cameras; c++ {
			urls = append(urls, fmt.Sprintf(*url, c))
		}
	}
	res := Result{Viewers: *n}
	stopTrace := startTrace(*traceFile, trace.Start, trace.Stop)
	stopProfile := startTrace(*profileFile, pprof.StartCPUProfile, pprof.StopCPUProfile)
	begin, waits := time.Now(), schedlat.Read()
	viewers := make([]*whepclient.Viewer, *n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, *parallel)
	var mu sync.Mutex
	for i := range viewers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pc, offer, err := whepclient.OfferBuffered(*rcvbuf)
			var v *whepclient.Viewer
			if err == nil {
				v, err = whepclient.PlayWith(pc, offer, whepclient.HTTP(urls[i%len(urls)], *token), 0)
			}
			mu.Lock()
			if err != nil {
				res.Failed++
				res.Error = err.Error()
				mu.Unlock()
				return
			}
			viewers[i] = v
			mu.Unlock()
			select { // joined: the next one may start
			case <-v.KeyFrame():
			case <-time.After(10 * time.Second):
			}
		}()
	}
	wg.Wait()
	res.JoinSchedP99 = -1 // past the last bucket
	if q := schedlat.Read().Since(waits).Quantile(0.99); !math.IsInf(q, 1) {
		res.JoinSchedP99 = 1000 * q
	}
	stopTrace()
	stopProfile()
	fmt.Println("joined") // every viewer has its first key frame, or failed
	// count from a steady state: every viewer's start (and GOP burst) done
	time.Sleep(3 * time.Second)
	start := make([]int64, len(viewers))
	lost0 := make([]int64, len(viewers))
	rec0 := make([]int64, len(viewers))
	for i, v := range viewers {
		if v != nil {
			start[i], lost0[i], rec0[i] = v.Packets.Load(), v.Lost.Load(), v.Recovered.Load()
		}
	}
	fmt.Println("steady") // the caller measures the bridge from here
	time.Sleep(*hold)
	var fp, fk, kc, ans, ice, conn []float64
	var phases strings.Builder
	phases.WriteString("viewer,posted_ms,answer_ms,ice_ms,connected_ms,first_key_ms\n")
	for i, v := range viewers {
		if v == nil {
			continue
		}
		res.Packets += v.Packets.Load() - start[i]
		res.Lost += v.Lost.Load() - lost0[i]
		res.Recovered += v.Recovered.Load() - rec0[i]
		a, ic := v.Phases()
		ans, ice = append(ans, ms(a)), append(ice, ms(ic))
		conn = append(conn, ms(v.Connected()))
		p, k := v.Firsts()
		if p > 0 {
			fp = append(fp, ms(p))
		}
		if c := v.Connected(); k > 0 && c > 0 {
			kc = append(kc, ms(max(0, k-c)))
		}
		fmt.Fprintf(&phases, "%d,%.1f,%.1f,%.1f,%.1f,%.1f\n", i, ms(v.Posted.Sub(begin)), ms(a), ms(ic), ms(v.Connected()), ms(k))
		if k > 0 {
			fk = append(fk, ms(k))
		} else {
			res.NoKey++
		}
		v.Close()
	}
	if *phasesFile != "" {
		if err := os.WriteFile(*phasesFile, []byte(phases.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "whepload:", err)
		}
	}
	res.FirstPacketP50, res.FirstPacketP95 = quantile(fp, 0.5), quantile(fp, 0.95)
	res.FirstKeyP50, res.FirstKeyP95 = quantile(fk, 0.5), quantile(fk, 0.95)
	res.KeyAfterConnP50, res.KeyAfterConnP95 = quantile(kc, 0.5), quantile(kc, 0.95)
	res.AnswerP50, res.ICEP50, res.ConnectedP50 = quantile(ans, 0.5), quantile(ice, 0.5), quantile(conn, 0.5)
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

// startTrace starts an execution trace or a profile into path, when given,
// and returns what stops it.
func startTrace(path string, start func(io.Writer) error, stop func()) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = start(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "whepload:", err)
		os.Exit(2)
	}
	return func() {
		stop()
		_ = f.Close()
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[min(len(xs)-1, int(q*float64(len(xs))))]
}
