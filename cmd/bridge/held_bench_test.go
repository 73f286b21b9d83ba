package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"qianliyan/internal/camsimproc"
	"qianliyan/internal/whepclient"
)

// BenchmarkHeldClients measures what clients that hold the bridge without
// using it cost (issue 14, finding 6): the real bridge binary's RSS and
// goroutines idle, with 300 WHEP offers that never connect (from six
// addresses of 127.0.0.0/8, 50 each: the default per-client cap), once the
// relay has let them go (10 s), with 300 server-sent-event clients, and
// once those have left.
func BenchmarkHeldClients(b *testing.B) {
	cam := camsimproc.Start(b, "-cameras", "1")
	br := startBridge(b, []cameraSpec{{id: "cam1", url: cam.URL(1), public: true}}, "")
	pc, offer, err := whepclient.Offer()
	if err != nil {
		b.Fatal(err)
	}
	pc.Close() // never answers ICE: every session stays pending
	figures := func(b *testing.B, name string) {
		time.Sleep(time.Second)
		rss := camsimproc.ProcRSS(br.PID()) / (1 << 20)
		m := metricValues(b, br.MetricsURL, "go_goroutines", "go_memstats_heap_alloc_bytes")
		g, heap := m[0], m[1]/(1<<20)
		b.ReportMetric(rss, name+"-RSS-MB")
		b.ReportMetric(heap, name+"-heap-MB")
		b.ReportMetric(g, name+"-goroutines")
		b.Logf("%-20s RSS %5.1f MiB, heap in use %5.1f MiB, %5.0f goroutines", name, rss, heap, g)
	}
	for b.Loop() {
		figures(b, "idle")

		const offers, perClient = 300, 50
		var created, refused atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		var clients []*http.Client
		for c := range offers / perClient {
			client := clientAt(fmt.Sprintf("127.0.0.%d", c+2))
			clients = append(clients, client)
			for range perClient {
				wg.Go(func() {
					res, err := client.Post(br.URL+"/whep/cam1", "application/sdp", strings.NewReader(offer))
					if err != nil {
						refused.Add(1)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode == http.StatusCreated {
						created.Add(1)
					} else {
						refused.Add(1)
					}
				})
			}
		}
		wg.Wait()
		for _, c := range clients {
			// what is left is the sessions, not the offers' connections
			c.CloseIdleConnections()
		}
		b.Logf("%d offers: %d created, %d refused in %v", offers, created.Load(), refused.Load(), time.Since(start).Round(time.Millisecond))
		if created.Load() != offers {
			b.Fatalf("%d of %d offers created a session", created.Load(), offers)
		}
		figures(b, "pending-offers")
		time.Sleep(11*time.Second - time.Since(start))
		figures(b, "offers-reclaimed")

		const listeners = 300
		var open sync.WaitGroup
		bodies := make([]io.Closer, 0, listeners)
		var mu sync.Mutex
		for range listeners {
			open.Go(func() {
				res, err := http.Get(br.URL + "/api/events")
				if err != nil {
					b.Error(err)
					return
				}
				// the first event says the stream is up
				if _, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil {
					b.Error(err)
				}
				mu.Lock()
				bodies = append(bodies, res.Body)
				mu.Unlock()
			})
		}
		open.Wait()
		figures(b, "event-clients")
		for _, body := range bodies {
			body.Close()
		}
		figures(b, "event-clients-left")
	}
}

// clientAt is an HTTP client whose connections come from ip.
func clientAt(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}}
}

// metricValues reads unlabelled series from the bridge's /metrics.
func metricValues(b *testing.B, url string, names ...string) []float64 {
	res, err := http.Get(url + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	out := make([]float64, len(names))
	found := 0
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		for i, name := range names {
			if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
				out[i], _ = strconv.ParseFloat(v, 64)
				found++
			}
		}
	}
	if found != len(names) {
		b.Fatalf("not all of %v in /metrics", names)
	}
	return out
}
