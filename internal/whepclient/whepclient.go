// Package whepclient is a WebRTC viewer built on pion, playing a camera as
// a browser would, for tests and the load generator of the benchmarks.
package whepclient

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// ReadBuffer is the receive buffer of Offer's and Play's sockets, in
// bytes: large, so a load of hundreds of viewers measures the bridge, not
// the kernel dropping what a busy client did not read.
const ReadBuffer = 4 << 20

// apis holds one WebRTC API per receive buffer size.
var apis sync.Map

func apiFor(readBuffer int) *webrtc.API {
	if a, ok := apis.Load(readBuffer); ok {
		return a.(*webrtc.API)
	}
	a, _ := apis.LoadOrStore(readBuffer, newAPI(false, readBuffer))
	return a.(*webrtc.API)
}

// newAPI builds the viewers' WebRTC API with UDP receive buffers of
// readBuffer bytes (0: the kernel's default); with repeats, SRTP takes a
// packet it has had already (no replay protection).
func newAPI(repeats bool, readBuffer int) *webrtc.API {
	var se webrtc.SettingEngine
	se.DisableSRTPReplayProtection(repeats)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	// No mDNS: the bridge offers plain host candidates, and the default
	// (query only) opens two sockets and a goroutine per viewer.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if n, err := stdnet.NewNet(); err == nil && readBuffer > 0 {
		se.SetNet(bigBuffers{n, readBuffer})
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		panic(err)
	}
	// NACKs and receiver reports, as a browser sends; not pion's default
	// statistics and congestion feedback, which cost the load generator
	// work on every packet and the bridge uses neither.
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		panic(err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		panic(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir))
}

// clientCert is one DTLS certificate for every viewer of the process, as a
// browser keeps one per origin: making one per peer connection (a key
// generation and a signature) would load the load generator, not the
// bridge.
var clientCert = sync.OnceValue(func() []webrtc.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil
	}
	return []webrtc.Certificate{*cert}
})

// Offer makes a recvonly peer and its offer, with every candidate in it:
// video and audio (Opus, PCMU, PCMA), as a browser offers. With codecs,
// only those video codecs are offered (to test refusals), and no audio.
func Offer(codecs ...string) (*webrtc.PeerConnection, string, error) {
	return offer(apiFor(ReadBuffer), codecs)
}

// OfferBuffered is Offer for a peer whose UDP receive buffer is size
// bytes; 0 keeps the kernel's default, as a phone's browser or another
// relay's client has.
func OfferBuffered(size int) (*webrtc.PeerConnection, string, error) {
	return offer(apiFor(size), nil)
}

// OfferTakingRepeats is Offer for a peer that takes a packet it has had
// already, as SRTP's replay protection would not: to see a resend arrive.
func OfferTakingRepeats() (*webrtc.PeerConnection, string, error) {
	return offer(newAPI(true, ReadBuffer), nil)
}

func offer(api *webrtc.API, codecs []string) (*webrtc.PeerConnection, string, error) {
	if len(codecs) > 0 {
		m := &webrtc.MediaEngine{}
		for i, c := range codecs {
			cp := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: c, ClockRate: 90000}, PayloadType: webrtc.PayloadType(96 + i)}
			if c == webrtc.MimeTypeH264 {
				cp.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
			}
			if err := m.RegisterCodec(cp, webrtc.RTPCodecTypeVideo); err != nil {
				return nil, "", err
			}
		}
		var se webrtc.SettingEngine
		se.SetIncludeLoopbackCandidate(true)
		api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: clientCert()})
	if err != nil {
		return nil, "", err
	}
	kinds := []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio}
	if len(codecs) > 0 {
		kinds = kinds[:1]
	}
	for _, kind := range kinds {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return nil, "", err
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return nil, "", err
	}
	<-gathered
	return pc, pc.LocalDescription().SDP, nil
}

// Viewer receives one camera and counts what arrives.
type Viewer struct {
	PC *webrtc.PeerConnection
	// Location is the WHEP session URL (HTTP only).
	Location string
	Posted   time.Time

	mu          sync.Mutex
	firstPacket time.Duration
	firstKey    time.Duration
	gotKey      chan struct{} // closed at the first key frame
	answered    time.Duration // the answer arrived
	iceDone     time.Duration // ICE connected
	connected   time.Duration // ICE and DTLS done
	aus         [][][]byte
	keep        int
	audioCodec  string
	audioKept   [][]byte

	Packets   atomic.Int64
	KeyFrames atomic.Int64
	// Lost counts gaps in the sequence numbers; Recovered, the packets of
	// those gaps that came later (resent after a NACK): Lost - Recovered
	// is what the viewer never got.
	Lost, Recovered atomic.Int64
	// Stall makes the viewer stop reading, like a frozen tab.
	Stall atomic.Bool
	// OnVideo, when set, sees every video packet as it arrives.
	OnVideo atomic.Pointer[func(*rtp.Packet)]
	// AudioPackets counts the audio packets; AudioLost the gaps in their
	// sequence numbers.
	AudioPackets atomic.Int64
	AudioLost    atomic.Int64
}

// audioKeep is how many audio payloads a viewer keeps (10 s of 20 ms).
const audioKeep = 500

// Audio returns the audio codec received (e.g. "audio/opus"; empty: none
// yet) and the first payloads (up to 10 s), for decoding.
func (v *Viewer) Audio() (mime string, payloads [][]byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.audioCodec, v.audioKept
}

// Exchange sends an offer and returns the answer and the session location.
type Exchange func(offer string) (answer, location string, err error)

// Play offers, exchanges and starts reading; keep > 0 keeps that many
// access units from the first key frame on, for decoding.
func Play(exchange Exchange, keep int) (*Viewer, error) {
	pc, offer, err := Offer()
	if err != nil {
		return nil, err
	}
	return PlayWith(pc, offer, exchange, keep)
}

// PlayWith is Play with a peer and offer made by the caller.
func PlayWith(pc *webrtc.PeerConnection, offer string, exchange Exchange, keep int) (*Viewer, error) {
	v := &Viewer{PC: pc, keep: keep, Posted: time.Now(), gotKey: make(chan struct{})}
	answer, loc, err := exchange(offer)
	if err != nil {
		pc.Close()
		return nil, err
	}
	v.answered = time.Since(v.Posted)
	v.Location = loc
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateConnected {
			v.stamp(&v.iceDone)
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			v.stamp(&v.connected)
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { v.read(tr) })
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		pc.Close()
		return nil, err
	}
	return v, nil
}

// stamp sets *at to the time since the post, the first time only.
func (v *Viewer) stamp(at *time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if *at == 0 {
		*at = time.Since(v.Posted)
	}
}

// HTTPError is a WHEP refusal.
type HTTPError struct {
	Code int
	Body string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("WHEP %d: %s", e.Code, e.Body) }

// HTTP posts offers to a WHEP endpoint, with a bearer token if given.
func HTTP(endpoint, token string) Exchange {
	return func(offer string) (string, string, error) {
		req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(offer))
		if err != nil {
			return "", "", err
		}
		req.Header.Set("Content-Type", "application/sdp")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", "", err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusCreated {
			return "", "", &HTTPError{Code: res.StatusCode, Body: string(body)}
		}
		// relative to the URL that answered: a redirect (a cluster member
		// sending the viewer to the camera's owner) may have moved it
		loc := res.Header.Get("Location")
		if l, err := res.Request.URL.Parse(loc); err == nil && loc != "" {
			loc = l.String()
		}
		return string(body), loc, nil
	}
}

// Delete ends an HTTP session and returns the status code.
func (v *Viewer) Delete() (int, error) {
	if v.Location == "" {
		return 0, errors.New("no session location")
	}
	req, _ := http.NewRequest(http.MethodDelete, v.Location, bytes.NewReader(nil))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// Close closes the peer.
func (v *Viewer) Close() { _ = v.PC.Close() }

// Connected returns when ICE and DTLS were done, from the offer's post.
func (v *Viewer) Connected() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.connected
}

// Phases returns when the answer arrived and ICE connected, from the
// offer's post (0: not yet).
func (v *Viewer) Phases() (answered, ice time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.answered, v.iceDone
}

// KeyFrame is closed when the first key frame has arrived.
func (v *Viewer) KeyFrame() <-chan struct{} { return v.gotKey }

// Firsts returns when the first packet and the first key frame arrived,
// counted from the offer's post (0: not yet).
func (v *Viewer) Firsts() (packet, key time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.firstPacket, v.firstKey
}

// Kept returns the access units kept from the first key frame on.
func (v *Viewer) Kept() [][][]byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.aus
}

// WaitPackets waits until n packets arrived or within passed.
func (v *Viewer) WaitPackets(n int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for v.Packets.Load() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("got %d packets in %v, want %d", v.Packets.Load(), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func (v *Viewer) read(tr *webrtc.TrackRemote) {
	if tr.Kind() == webrtc.RTPCodecTypeAudio {
		v.readAudio(tr)
		return
	}
	var decode func(*rtp.Packet) ([][]byte, error)
	var isKey func([][]byte) bool
	carriesKey := h264CarriesKey
	if strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeH265) {
		d := &rtph265.Decoder{}
		_ = d.Init()
		decode = d.Decode
		isKey = h265.IsRandomAccess
		carriesKey = h265CarriesKey
	} else {
		d := &rtph264.Decoder{}
		_ = d.Init()
		decode = d.Decode
		isKey = h264.IsRandomAccess
	}
	var lastSeq uint16
	var missing gaps
	// Frames are reassembled until the first key frame is whole and the
	// access units to keep are kept; then key frames are counted from the
	// packets, as copying every frame of 100 viewers would cost the load
	// generator more than the bridge it measures.
	assembling, auKey := true, false
	for {
		for v.Stall.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if f := v.OnVideo.Load(); f != nil {
			(*f)(pkt)
		}
		now := time.Since(v.Posted)
		if v.Packets.Add(1) == 1 {
			v.mu.Lock()
			v.firstPacket = now
			v.mu.Unlock()
			lastSeq = pkt.SequenceNumber
		} else if d := int16(pkt.SequenceNumber - lastSeq); d > 0 {
			if d > 1 {
				v.Lost.Add(int64(d - 1))
				missing.add(lastSeq+1, pkt.SequenceNumber)
			}
			lastSeq = pkt.SequenceNumber
		} else if missing.take(pkt.SequenceNumber) {
			v.Recovered.Add(1) // late: a resend, or reordered
		}
		if !assembling {
			auKey = auKey || carriesKey(pkt.Payload)
			if pkt.Marker {
				if auKey {
					v.KeyFrames.Add(1)
				}
				auKey = false
			}
			continue
		}
		au, err := decode(pkt)
		if err != nil {
			continue
		}
		key := isKey(au)
		v.mu.Lock()
		if key && v.KeyFrames.Add(1) == 1 {
			v.firstKey = now
			close(v.gotKey)
		}
		if len(v.aus) < v.keep && (key || len(v.aus) > 0) {
			v.aus = append(v.aus, au)
		}
		assembling = v.firstKey == 0 || len(v.aus) < v.keep
		v.mu.Unlock()
	}
}

// h264Key and h265Key tell whether a NAL unit is a key frame's, as ingest
// tells it (mediacommon's IsRandomAccess: IDR; IDR or CRA).
func h264Key(nalu []byte) bool { return len(nalu) > 0 && h264.IsRandomAccess([][]byte{nalu}) }

func h265Key(nalu []byte) bool { return len(nalu) > 1 && h265.IsRandomAccess([][]byte{nalu}) }

// h264CarriesKey tells whether an H.264 RTP payload (RFC 6184) holds a
// key frame's NAL unit or the first fragment of one.
func h264CarriesKey(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	switch p[0] & 0x1f {
	case 24: // STAP-A: 16-bit sizes, each before its NAL unit
		return aggregateHasKey(p[1:], h264Key)
	case 28: // FU-A: the start bit, and the unit's header rebuilt
		return p[1]&0x80 != 0 && h264Key([]byte{p[0]&0xe0 | p[1]&0x1f})
	}
	return h264Key(p)
}

// h265CarriesKey is h264CarriesKey for H.265 (RFC 7798).
func h265CarriesKey(p []byte) bool {
	if len(p) < 3 {
		return false
	}
	switch (p[0] >> 1) & 0x3f {
	case 48: // aggregation packet
		return aggregateHasKey(p[2:], h265Key)
	case 49: // fragmentation unit: the start bit, and the unit's header rebuilt
		return p[2]&0x80 != 0 && h265Key([]byte{p[0]&0x81 | (p[2]&0x3f)<<1, p[1]})
	}
	return h265Key(p)
}

// aggregateHasKey walks an aggregation's 16-bit sizes and NAL units.
func aggregateHasKey(p []byte, key func([]byte) bool) bool {
	for len(p) > 2 {
		n := int(p[0])<<8 | int(p[1])
		p = p[2:]
		if n == 0 || n > len(p) {
			return false
		}
		if key(p[:n]) {
			return true
		}
		p = p[n:]
	}
	return false
}

func (v *Viewer) readAudio(tr *webrtc.TrackRemote) {
	v.mu.Lock()
	v.audioCodec = tr.Codec().MimeType
	v.mu.Unlock()
	var lastSeq uint16
	for {
		for v.Stall.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if v.AudioPackets.Add(1) > 1 {
			if gap := pkt.SequenceNumber - lastSeq - 1; gap != 0 && gap < 0x8000 {
				v.AudioLost.Add(int64(gap))
			}
		}
		lastSeq = pkt.SequenceNumber
		v.mu.Lock()
		if len(v.audioKept) < audioKeep {
			v.audioKept = append(v.audioKept, pkt.Payload)
		}
		v.mu.Unlock()
	}
}

// bigBuffers is the standard network with large UDP receive buffers.
type bigBuffers struct {
	*stdnet.Net
	size int
}

// ListenUDP opens a UDP socket with a receive buffer of b.size bytes.
func (b bigBuffers) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := b.Net.ListenUDP(network, laddr)
	if uc, ok := c.(*net.UDPConn); ok && err == nil {
		forceReadBuffer(uc, b.size)
	}
	return c, err
}

// forceReadBuffer sets the socket's receive buffer, past the kernel's
// rmem_max when running as root (SO_RCVBUFFORCE), else as large as allowed.
func forceReadBuffer(conn *net.UDPConn, size int) {
	raw, err := conn.SyscallConn()
	if err == nil {
		_ = raw.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size)
		})
	}
	if err != nil {
		_ = conn.SetReadBuffer(size)
	}
}

// gaps is the sequence numbers a viewer has missed and may still get (a
// resend); it forgets all of them past gapsMax, when they no longer matter.
type gaps map[uint16]struct{}

const gapsMax = 4096

// add notes the numbers from up to before to.
func (g *gaps) add(from, to uint16) {
	if *g == nil || len(*g) > gapsMax {
		*g = gaps{}
	}
	for s := from; s != to; s++ {
		(*g)[s] = struct{}{}
	}
}

// take reports whether s was missed, and forgets it.
func (g gaps) take(s uint16) bool {
	_, ok := g[s]
	delete(g, s)
	return ok
}
