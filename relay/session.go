package relay

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Session is one viewer watching one camera.
type Session struct {
	ID      string
	Camera  string
	Created time.Time

	secret string     // the rest of the session's URL: see Key
	client netip.Addr // whose place it takes (see Server.reserve)

	pc     *webrtc.PeerConnection
	sender *webrtc.RTPSender
	track  *track
	viewer *viewer
	// the camera's audio, when it has some the offer can take; else nil
	audioSender *webrtc.RTPSender
	audioTrack  *track
	audio       *audioViewer
	up          chan struct{}                  // closed when ICE and DTLS are done
	remote      atomic.Pointer[netip.AddrPort] // see followRemote
	upOnce      sync.Once
	ended       chan struct{}
	endOnce     sync.Once
	neverUp     *time.Timer  // ends the session if the viewer never connects
	lost        atomic.Int64 // cumulative loss from the viewer's receiver reports
}

// SessionStats are a session's figures.
type SessionStats struct {
	ID            string `json:"id"`
	Camera        string `json:"camera"`
	AgeSeconds    int    `json:"age_s"`
	Bytes         uint64 `json:"bytes"`
	Packets       uint64 `json:"packets"`
	Frames        uint64 `json:"frames"`
	DroppedFrames uint64 `json:"dropped_frames"`
	Lost          int64  `json:"lost"`
	NACKs         uint64 `json:"nacks"`
	Resent        uint64 `json:"resent"`
	PLIs          uint64 `json:"plis"`
	// Audio is the codec the viewer gets the camera's sound in (empty:
	// none), with its figures.
	Audio        string `json:"audio,omitempty"`
	AudioPackets uint64 `json:"audio_packets"`
	AudioDropped uint64 `json:"audio_dropped"`
}

// Stats returns the session's figures.
func (ss *Session) Stats() SessionStats {
	v := ss.viewer
	st := SessionStats{
		ID: ss.ID, Camera: ss.Camera, AgeSeconds: int(time.Since(ss.Created).Seconds()),
		Bytes: v.bytes.Load(), Packets: v.packets.Load(), Frames: v.frames.Load(),
		DroppedFrames: v.dropped.Load(), Lost: ss.lost.Load(),
		NACKs: v.nacks.Load(), Resent: v.resent.Load(), PLIs: v.plis.Load(),
	}
	if a := ss.audio; a != nil {
		st.Audio = ss.audioTrack.audio
		st.Bytes += a.bytes.Load()
		st.AudioPackets, st.AudioDropped = a.packets.Load(), a.dropped.Load()
	}
	return st
}

// Key is the session's part of its WHEP URL (/whep/{camera}/sessions/{key}):
// its id and a secret, so that only who was given the URL may trickle
// candidates to it or end it, not who merely knows the id (staff see it in
// the camera's figures, logs name it).
func (ss *Session) Key() string { return ss.ID + "-" + ss.secret }

// Ended is closed when the session is over.
func (ss *Session) Ended() <-chan struct{} { return ss.ended }

// followRemote keeps remote on the viewer's address of the selected
// candidate pair, for the send loop to read each frame: asking pion for
// the pair costs microseconds of parsing.
func (ss *Session) followRemote() {
	ice := ss.sender.Transport().ICETransport()
	ice.OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) {
		a := pairAddr(p)
		ss.remote.Store(&a)
	})
	if p, err := ice.GetSelectedCandidatePair(); err == nil && p != nil {
		a := pairAddr(p)
		ss.remote.CompareAndSwap(nil, &a)
	}
}

// remoteUDP is the viewer's address (not valid over ICE-TCP).
func (ss *Session) remoteUDP() netip.AddrPort {
	if a := ss.remote.Load(); a != nil {
		return *a
	}
	return netip.AddrPort{}
}

// pairAddr is the remote UDP address of a candidate pair (not valid for
// ICE-TCP).
func pairAddr(p *webrtc.ICECandidatePair) netip.AddrPort {
	if p == nil || p.Remote == nil || p.Remote.Protocol != webrtc.ICEProtocolUDP {
		return netip.AddrPort{}
	}
	ip, err := netip.ParseAddr(p.Remote.Address)
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ip, p.Remote.Port)
}

// markUp records that ICE and DTLS are done.
func (ss *Session) markUp() {
	ss.upOnce.Do(func() {
		ss.neverUp.Stop()
		close(ss.up)
	})
}

// run waits for the track to be bound and the connection to be up (pion
// binds at SetLocalDescription, long before SRTP can carry anything: what
// is written before is lost, the GOP burst with it), then sends, while a
// second goroutine reads the viewer's RTCP.
func (ss *Session) run() {
	var b binding
	select {
	case b = <-ss.track.bound:
	case <-ss.ended:
		return
	}
	select {
	case <-ss.up:
	case <-ss.ended:
		return
	}
	ss.followRemote()
	go ss.readRTCP(b)
	if ss.audio != nil {
		// bound at SetLocalDescription too, unless the codec was refused
		select {
		case ab := <-ss.audioTrack.bound:
			go ss.runAudio(ab)
		default:
			ss.audio.stop()
		}
	}
	ss.viewer.run(b.out, b.ssrc, b.pt)
}

// runAudio sends the camera's audio; its RTCP is read only so that pion
// keeps the sender going (audio has no NACK or PLI here).
func (ss *Session) runAudio(b binding) {
	go func() {
		for {
			if _, _, err := ss.audioSender.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	ss.audio.run(b.out, b.ssrc, b.pt)
}

func (ss *Session) readRTCP(b binding) {
	resend := func(h *rtp.Header, payload []byte) { _, _ = b.out.WriteRTP(h, payload) }
	for {
		pkts, _, err := ss.sender.ReadRTCP()
		if err != nil {
			return
		}
		ss.viewer.handleRTCP(pkts, resend)
		ss.noteLoss(pkts)
	}
}

func (ss *Session) close() {
	ss.endOnce.Do(func() {
		ss.neverUp.Stop()
		close(ss.ended)
		ss.viewer.stop()
		if ss.audio != nil {
			ss.audio.stop()
		}
		_ = ss.pc.Close()
	})
}

// noteLoss keeps the cumulative loss the viewer reports.
func (ss *Session) noteLoss(pkts []rtcp.Packet) {
	for _, p := range pkts {
		if rr, ok := p.(*rtcp.ReceiverReport); ok {
			for _, r := range rr.Reports {
				ss.lost.Store(int64(r.TotalLost))
			}
		}
	}
}
