package relay

import (
	"errors"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// What a viewer is sent is paced, a token bucket per viewer: up to
// paceBurst bytes go back to back, then paceBytesPerSec, in steps of at
// least paceStep bytes. A 1080p key frame (~160 KB, 135 packets) sent at
// once overflows a receiver's socket buffer of the kernel's default size
// (208 KiB, ~100 packets of 1.2 KB as the kernel counts them) whenever
// the receiver is a few milliseconds late to read, and the picture breaks
// until the next key frame. Paced, it takes 40 ms more; live frames of a
// 2-4 Mbit/s camera (5-20 KB) and the 720p key frames (25-60 KB) go out
// at once as before. The same rate paces a GOP replay: 24 Mbit/s sends a
// 2 s GOP of a 4 Mbit/s camera in a third of a second.
const (
	paceBurst       = 32 * rtpPayloadMax
	paceStep        = 8 * rtpPayloadMax
	paceBytesPerSec = 24e6 / 8
)

// sentLen is how many of its latest packets a viewer can send again on a
// NACK: ~1 s of a 4 Mbit/s camera, 0.2 s of a GOP replay.
const sentLen = 512

// viewerQueue bounds what one viewer may lag behind, in frames (~2 s).
const viewerQueue = 64

// viewer sends one camera's frames to one peer. It owns its RTP sequence
// numbers and a timestamp offset, so it can start from the cached GOP,
// skip what it could not take, and replay the GOP on a PLI, while every
// other viewer goes on untouched.
type viewer struct {
	feed  *feed
	queue chan *frame
	pli   chan struct{}
	done  chan struct{}
	once  sync.Once

	mu      sync.Mutex // guards needKey and lagging; taken by the feed
	needKey bool
	lagging bool

	// batch gathers the packets of a frame for the viewer's address
	// (remote) into one send; nil sends them one by one
	batch  *batcher
	remote func() netip.AddrPort

	// used by the send loop only
	hdr      rtp.Header // the header being sent, reused: one per packet would be 3 MB/s of garbage at 100 viewers
	out      webrtc.TrackLocalWriter
	ssrc     uint32
	pt       uint8
	seq      uint16
	started  bool   // a packet went out
	lastTS   uint32 // last timestamp sent
	tsOffset uint32 // viewer ts = camera ts + tsOffset, for live frames
	lastN    uint64 // last frame number sent
	tokens   float64
	paced    time.Time // when tokens was last brought up to date
	wait     *time.Timer

	// the latest packets sent, by sequence number, for NACKs: written by
	// the send loop, read by the RTCP goroutine
	sentMu sync.Mutex
	sent   [sentLen]sentPacket

	// the resend budget of the current second, used by the RTCP goroutine
	// only (see resendOne); the first NACK opens the first second, with
	// resendMin: a join's GOP burst is when a weak link loses most
	resendFrom   time.Time
	resendLeft   int
	resendPacket uint64 // packets sent when the second began

	// figures
	bytes, packets, frames, dropped, nacks, resent, plis atomic.Uint64
}

// sentPacket is a packet as a viewer got it: the camera's packet and the
// viewer's sequence number and timestamp.
type sentPacket struct {
	p   *rtp.Packet
	seq uint16
	ts  uint32
}

func newViewer(f *feed) *viewer {
	return &viewer{feed: f, queue: make(chan *frame, viewerQueue), pli: make(chan struct{}, 1), done: make(chan struct{}),
		needKey: true, tokens: paceBurst}
}

// offer is called by the feed for every frame; it never blocks.
func (v *viewer) offer(fr *frame) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.needKey && !fr.key {
		if v.lagging {
			v.dropped.Add(1)
		}
		return
	}
	select {
	case v.queue <- fr:
		v.needKey, v.lagging = false, false
	default:
		v.needKey, v.lagging = true, true
		v.dropped.Add(1)
	}
}

func (v *viewer) feedClosed() { v.stop() }

func (v *viewer) stop() { v.once.Do(func() { close(v.done) }) }

// requestKeyFrame asks the send loop to replay the cached GOP.
func (v *viewer) requestKeyFrame() {
	v.plis.Add(1)
	select {
	case v.pli <- struct{}{}:
	default:
	}
}

// run sends until stop, the feed closes or the peer is gone. out, ssrc and
// pt come from the track's binding.
func (v *viewer) run(out webrtc.TrackLocalWriter, ssrc uint32, pt uint8) {
	v.out, v.ssrc, v.pt = out, ssrc, pt
	v.seq = uint16(ssrc)  // any start will do; the peer learns it
	gop := v.feed.join(v) // with no GOP yet, the viewer waits for a key frame
	defer v.feed.leave(v)
	if len(gop) > 0 && !v.burst(gop) {
		return
	}
	for {
		select {
		case <-v.done:
			return
		case <-v.pli:
			if gop := v.feed.gopNow(); len(gop) > 0 && !v.burst(gop) {
				return
			}
		case fr := <-v.queue:
			if fr.n <= v.lastN {
				continue // already sent in a GOP replay
			}
			if !v.sendLive(fr) {
				return
			}
		}
	}
}

// burst sends a GOP as fast as the pacing allows, with timestamps squeezed
// one tick apart, ending
// where the live flow goes on, so the browser decodes it all now and shows
// the latest picture instead of playing the GOP back in real time.
func (v *viewer) burst(gop []*frame) bool {
	last := gop[len(gop)-1]
	lastTS := last.pkts[0].Timestamp
	k := uint32(len(gop) - 1)
	if v.started {
		// a replay must move forward from what the peer already has
		v.tsOffset = v.lastTS + k + 1 - lastTS
	}
	for i, fr := range gop {
		if !v.send(fr, lastTS+v.tsOffset-(k-uint32(i))) {
			return false
		}
	}
	return true
}

// sendLive sends a frame of the live flow, at its own time.
func (v *viewer) sendLive(fr *frame) bool {
	return v.send(fr, fr.pkts[0].Timestamp+v.tsOffset)
}

// send writes the frame's packets with timestamp ts, gathered into as few
// sends as the pacing allows.
func (v *viewer) send(fr *frame, ts uint32) bool {
	addr, held := v.hold()
	for _, p := range fr.pkts {
		if wait := v.pace(len(p.Payload), time.Now()); wait > 0 {
			v.release(addr, held)
			if !v.sleep(wait) {
				return false
			}
			addr, held = v.hold()
		}
		if !v.write(p, ts) {
			v.release(addr, held)
			return false
		}
	}
	v.release(addr, held)
	v.frames.Add(1)
	v.lastN = fr.n
	return true
}

// pace takes n bytes from the viewer's bucket at now and returns how long
// to wait before sending them: nothing while the bucket holds them, else
// until it holds paceStep again.
func (v *viewer) pace(n int, now time.Time) time.Duration {
	if !v.paced.IsZero() {
		v.tokens = min(paceBurst, v.tokens+now.Sub(v.paced).Seconds()*paceBytesPerSec)
	}
	v.paced = now
	if v.tokens >= float64(n) {
		v.tokens -= float64(n)
		return 0
	}
	return time.Duration((paceStep - v.tokens) / paceBytesPerSec * float64(time.Second))
}

// sleep waits d, or less when the viewer stops (false).
func (v *viewer) sleep(d time.Duration) bool {
	if v.wait == nil {
		v.wait = time.NewTimer(d)
	} else {
		v.wait.Reset(d)
	}
	select {
	case <-v.wait.C:
		return true
	case <-v.done:
		return false
	}
}

// hold starts gathering the packets of a frame, when it can.
func (v *viewer) hold() (netip.AddrPort, bool) {
	if v.batch == nil {
		return netip.AddrPort{}, false
	}
	addr := v.remote()
	return addr, v.batch.hold(addr, v.ssrc)
}

// release sends what hold gathered.
func (v *viewer) release(addr netip.AddrPort, held bool) {
	if held {
		v.batch.release(addr)
	}
}

func (v *viewer) write(p *rtp.Packet, ts uint32) bool {
	h := &v.hdr
	*h = p.Header
	h.SequenceNumber = v.seq
	h.Timestamp = ts
	h.SSRC = v.ssrc
	h.PayloadType = v.pt
	v.sentMu.Lock()
	v.sent[h.SequenceNumber%sentLen] = sentPacket{p: p, seq: h.SequenceNumber, ts: ts}
	v.sentMu.Unlock()
	v.seq++
	v.started = true
	v.lastTS = ts
	if _, err := v.out.WriteRTP(h, p.Payload); err != nil {
		if errors.Is(err, io.ErrClosedPipe) {
			return false // viewer gone
		}
	}
	v.packets.Add(1)
	v.bytes.Add(uint64(len(p.Payload) + 12))
	return true
}

// handleRTCP answers NACKs from the camera's packet history and PLI/FIR
// with the cached GOP.
func (v *viewer) handleRTCP(pkts []rtcp.Packet, resend func(h *rtp.Header, payload []byte)) {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			v.requestKeyFrame()
		case *rtcp.TransportLayerNack:
			for _, pair := range p.Nacks {
				for _, seq := range pair.PacketList() {
					v.nacks.Add(1)
					v.resendOne(seq, resend)
				}
			}
		}
	}
}

// resendShare is the most a viewer gets resent in a second, as a share of
// its packet rate since the last such second (resendMin packets at
// least): a phone too slow to read its stream loses packets, asks for them
// again and again, and unbounded resends would bury it deeper and cost the
// bridge for nothing.
const (
	resendShare = 0.25
	resendMin   = 32
)

// resendOne runs on the RTCP goroutine; it sends again a packet the viewer
// was sent, live or in a GOP replay, as it was.
func (v *viewer) resendOne(seq uint16, resend func(h *rtp.Header, payload []byte)) {
	if now := time.Now(); now.Sub(v.resendFrom) >= time.Second {
		sent := v.packets.Load()
		perSec := float64(sent-v.resendPacket) / now.Sub(v.resendFrom).Seconds()
		v.resendLeft = max(resendMin, int(resendShare*perSec))
		v.resendFrom, v.resendPacket = now, sent
	}
	if v.resendLeft == 0 {
		return
	}
	v.sentMu.Lock()
	sp := v.sent[seq%sentLen]
	v.sentMu.Unlock()
	if sp.p == nil || sp.seq != seq {
		return // older than what is kept, or never sent
	}
	h := sp.p.Header
	h.SequenceNumber = seq
	h.Timestamp = sp.ts
	h.SSRC = v.ssrc
	h.PayloadType = v.pt
	resend(&h, sp.p.Payload)
	v.resent.Add(1)
	v.resendLeft--
}
