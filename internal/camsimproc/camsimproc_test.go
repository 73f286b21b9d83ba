package camsimproc

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
)

// accessUnit is what a reader saw of one frame.
type accessUnit struct {
	ts    uint32 // RTP timestamp
	at    time.Time
	idr   bool
	bytes int // RTP packets, headers included
}

// recording is what a reader saw in a while.
type recording struct {
	forma     *format.H264
	aus       []accessUnit
	maxPacket int
	lost      atomic.Uint64 // RTP packets the client saw missing
}

// record plays url over transport for d and returns what came.
func record(url string, transport gortsplib.Transport, d time.Duration) (*recording, error) {
	u, err := base.ParseURL(url)
	if err != nil {
		return nil, err
	}
	rec := &recording{}
	c := gortsplib.Client{
		Scheme:    u.Scheme,
		Host:      u.Host,
		Transport: &transport,
		// On a loaded machine the default socket buffer (about 200 kB)
		// overflows while the test process waits for a CPU.
		UDPReadBufferSize: 4 << 20,
		OnPacketsLost:     func(n uint64) { rec.lost.Add(n) },
	}
	if err := c.Start2(); err != nil {
		return nil, err
	}
	defer c.Close()

	desc, _, err := c.Describe(u)
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	medi := desc.FindFormat(&rec.forma)
	if medi == nil {
		return nil, errors.New("no H.264 format in the SDP")
	}
	dec, err := rec.forma.CreateDecoder()
	if err != nil {
		return nil, err
	}
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}

	var mu sync.Mutex
	var auBytes int
	c.OnPacketRTP(medi, rec.forma, func(pkt *rtp.Packet) {
		mu.Lock()
		defer mu.Unlock()
		size := pkt.MarshalSize()
		rec.maxPacket = max(rec.maxPacket, size)
		auBytes += size
		au, err := dec.Decode(pkt)
		if err != nil {
			return // ErrMorePacketsNeeded, or a start in the middle of a frame
		}
		rec.aus = append(rec.aus, accessUnit{ts: pkt.Timestamp, at: time.Now(), idr: h264.IsRandomAccess(au), bytes: auBytes})
		auBytes = 0
	})
	if _, err := c.Play(nil); err != nil {
		return nil, fmt.Errorf("play: %w", err)
	}
	select {
	case <-time.After(d):
	case err := <-waitErr(&c):
		return nil, fmt.Errorf("stream ended: %w", err)
	}
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	return rec, nil
}

func waitErr(c *gortsplib.Client) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- c.Wait() }()
	return ch
}

func TestCamerasServeH264OverTCPAndUDP(t *testing.T) {
	t.Parallel()
	const (
		fps     = 25
		gop     = 2 * time.Second
		bitrate = 2000000
	)
	// A 2 s loop read for 4.5 s: two loop boundaries, and at least two IDRs
	// whatever the phase the reader starts at.
	p := Start(t, "-cameras", "2", "-loop", "2s")

	transports := map[int]gortsplib.Transport{1: gortsplib.TransportTCP, 2: gortsplib.TransportUDP}
	recs := make(map[int]*recording)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for cam, tr := range transports {
		wg.Go(func() {
			rec, err := record(p.URL(cam), tr, 4500*time.Millisecond)
			if err != nil {
				t.Errorf("camera %d over %v: %v", cam, tr, err)
				return
			}
			mu.Lock()
			recs[cam] = rec
			mu.Unlock()
		})
	}
	wg.Wait()

	for cam, rec := range recs {
		t.Run(transports[cam].String(), func(t *testing.T) {
			f := rec.forma
			if f.SPS == nil || f.PPS == nil {
				t.Fatalf("SDP has SPS %x and PPS %x, want both", f.SPS, f.PPS)
			}
			var sps h264.SPS
			if err := sps.Unmarshal(f.SPS); err != nil {
				t.Fatalf("SPS from the SDP: %v", err)
			}
			if sps.ProfileIdc != 100 || sps.Width() != 1280 || sps.Height() != 720 {
				t.Errorf("SPS says profile_idc %d, %dx%d; want 100 (High), 1280x720", sps.ProfileIdc, sps.Width(), sps.Height())
			}

			if rec.maxPacket > 1200 {
				t.Errorf("largest RTP packet is %d bytes, want at most 1200", rec.maxPacket)
			}

			aus := rec.aus
			if len(aus) < 100 {
				t.Fatalf("got %d access units in 4.5 s, want about %d", len(aus), 9*fps/2)
			}
			// Every frame is 1/fps after the previous one in RTP time, across
			// the loop boundaries too. UDP on a loaded machine may lose
			// packets (the test's own socket overflows), so there a gap of
			// whole frames is fine; TCP must lose nothing.
			lost := rec.lost.Load()
			if tr := transports[cam]; tr == gortsplib.TransportTCP && lost > 0 {
				t.Errorf("%d RTP packets lost over TCP", lost)
			}
			for i := 1; i < len(aus); i++ {
				d := int32(aus[i].ts - aus[i-1].ts)
				if d == 90000/fps || (lost > 0 && d > 0 && d%(90000/fps) == 0) {
					continue
				}
				t.Fatalf("access unit %d: RTP timestamp moved by %d, want %d (%d packets lost)", i, d, 90000/fps, lost)
			}
			// Frames sent per second of arrival time, counted in RTP time so
			// that a lost frame does not count.
			span := aus[len(aus)-1].at.Sub(aus[0].at).Seconds()
			rate := float64(aus[len(aus)-1].ts-aus[0].ts) / (90000 / fps) / span
			if rate < fps-1 || rate > fps+1 {
				t.Errorf("frames arrive at %.2f/s, want %d ±1", rate, fps)
			}

			var idrs []int
			for i, au := range aus {
				if au.idr {
					idrs = append(idrs, i)
				}
			}
			if len(idrs) < 2 {
				t.Fatalf("got IDRs at access units %v in 4.5 s, want at least two", idrs)
			}
			for k := 1; k < len(idrs); k++ {
				gap := int(aus[idrs[k]].ts-aus[idrs[k-1]].ts) / (90000 / fps)
				if want := int(gop.Seconds() * fps); gap < want-1 || gap > want+1 {
					t.Errorf("IDRs at access units %v: a gap of %d frames, want %d ±1", idrs, gap, want)
				}
			}

			// Bitrate over one whole GOP, the unit the rate control works on.
			var bytes int
			for _, au := range aus[idrs[0]:idrs[1]] {
				bytes += au.bytes
			}
			got := float64(bytes*8) / gop.Seconds()
			if got < bitrate*0.5 || got > bitrate*1.5 {
				t.Errorf("bitrate over a GOP is %.0f bit/s, want %d ±50%%", got, bitrate)
			}
			t.Logf("%d frames, IDRs at %v, %.2f frames/s, %.0f bit/s, largest packet %d bytes, %d packets lost",
				len(aus), idrs, rate, got, rec.maxPacket, lost)
		})
	}

	t.Run("unknown path", func(t *testing.T) {
		for _, path := range []string{"/cam/3", "/cam/0", "/nope"} {
			_, err := record("rtsp://"+p.Addr()+path, gortsplib.TransportTCP, time.Second)
			if err == nil || !strings.Contains(err.Error(), "404") {
				t.Errorf("%s: got error %v, want one with 404", path, err)
			}
		}
	})
}

func TestDigestAuth(t *testing.T) {
	t.Parallel()
	p := Start(t, "-cameras", "1", "-size", "320x240", "-udp-rtp", "", "-user", "viewer", "-pass", "s3cret")
	url := func(user, pass, path string) string {
		return fmt.Sprintf("rtsp://%s:%s@%s%s", user, pass, p.Addr(), path)
	}

	for _, tc := range []struct{ user, pass string }{{"viewer", "wrong"}, {"nobody", "s3cret"}} {
		_, err := record(url(tc.user, tc.pass, "/cam/1"), gortsplib.TransportTCP, time.Second)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("user %q pass %q: got error %v, want one with 401", tc.user, tc.pass, err)
		}
	}
	_, err := record("rtsp://"+p.Addr()+"/cam/1", gortsplib.TransportTCP, time.Second)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("no credentials: got error %v, want one with 401", err)
	}

	rec, err := record(url("viewer", "s3cret", "/cam/1"), gortsplib.TransportTCP, time.Second)
	if err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	if len(rec.aus) < 20 {
		t.Errorf("right credentials: got %d access units in 1 s, want about 25", len(rec.aus))
	}

	_, err = record(url("viewer", "s3cret", "/cam/2"), gortsplib.TransportTCP, time.Second)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("right credentials, unknown camera: got error %v, want one with 404", err)
	}
}

func TestBFramesSendPTSOutOfOrder(t *testing.T) {
	t.Parallel()
	p := Start(t, "-cameras", "1", "-size", "320x240", "-udp-rtp", "", "-bframes", "2")
	rec, err := record(p.URL(1), gortsplib.TransportTCP, 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	backwards := 0
	for i := 1; i < len(rec.aus); i++ {
		if int32(rec.aus[i].ts-rec.aus[i-1].ts) < 0 {
			backwards++
		}
	}
	if backwards == 0 {
		t.Errorf("RTP timestamps of %d access units never go back: no B-frames", len(rec.aus))
	}
}

func TestRestartServesAgain(t *testing.T) {
	t.Parallel()
	p := Start(t, "-cameras", "1", "-size", "320x240", "-loop", "2s")
	pid := p.PID()
	p.Restart(t)
	if p.PID() == pid || p.PID() == 0 {
		t.Errorf("PID after restart is %d, before %d: want a new process", p.PID(), pid)
	}
	rec, err := record(p.URL(1), gortsplib.TransportUDP, time.Second)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if len(rec.aus) < 20 {
		t.Errorf("after restart: got %d access units in 1 s, want about 25", len(rec.aus))
	}
	p.Stop()
	p.Stop()
	if p.PID() != 0 {
		t.Errorf("PID after Stop is %d, want 0", p.PID())
	}
	if p.exitErr != nil {
		t.Errorf("camsim ended with %v after SIGTERM, want exit status 0; its stderr:\n%s", p.exitErr, p.stderr.String())
	}
}
