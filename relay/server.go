package relay

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"qianliyan/ingest"
)

// Cameras is what the relay needs from ingest.
type Cameras interface {
	Stream(id string) *ingest.Stream
	Health(id string) (ingest.Health, bool)
}

// Options configure the relay's network side.
type Options struct {
	// UDPPort carries all WebRTC media (0: any free port, for tests).
	UDPPort int
	// TCPPort is the ICE-TCP fallback; -1 turns it off, 0 picks a free port.
	TCPPort int
	// PublicIPs are announced instead of the host's own (NAT 1:1).
	PublicIPs []string
	// ICEServers are given to browsers (and used by the bridge for TURN).
	ICEServers []webrtc.ICEServer
	// MaxSessions caps viewers over all cameras, connected or not (0:
	// 1000).
	MaxSessions int
	// MaxSessionsPerClient caps the sessions of one client address (an
	// IPv6 client's /64), connected or not (0: 50).
	MaxSessionsPerClient int
	Log                  *slog.Logger
}

// ConnectWithin is how long a viewer has from its offer to a working
// connection (ICE and DTLS) before its session is ended and its place
// given back. A browser on a LAN connects within 100 ms, through TURN
// within a second or two; 300 offers that never connect held 41 MiB and
// 13 goroutines each for as long as they were kept.
const ConnectWithin = 10 * time.Second

// maxSections is the most media sections an offer may have: the relay
// sends one video and one audio track, and a browser offers those (with
// room for a data channel and one more). Each section costs pion a
// transceiver and the answer a section, so 1000 of them in 60 KiB made a
// 211 KiB answer.
const maxSections = 4

// Server answers WHEP offers with sessions that play a camera.
type Server struct {
	cams    Cameras
	opts    Options
	api     *webrtc.API
	udp     []*mediaSocket // one per local address
	batches *batcher       // the frames being gathered, for all of udp
	tcp     net.Listener
	log     *slog.Logger
	cert    webrtc.Certificate

	mu         sync.Mutex
	feeds      map[string]*feed
	audioFeeds map[string]*audioFeed
	sessions   map[string]*Session
	// places taken: sessions and offers being answered, over all and per
	// client address (see reserve)
	taken     int
	perClient map[netip.Addr]int
	closed    bool
}

// NewServer opens the media sockets and builds the one WebRTC API.
func NewServer(cams Cameras, opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxSessions == 0 {
		opts.MaxSessions = 1000
	}
	if opts.MaxSessionsPerClient == 0 {
		opts.MaxSessionsPerClient = 50
	}
	s := &Server{cams: cams, opts: opts, log: opts.Log, feeds: map[string]*feed{},
		audioFeeds: map[string]*audioFeed{}, sessions: map[string]*Session{}, perClient: map[netip.Addr]int{}}

	conns, err := listenMedia(opts.UDPPort, len(opts.PublicIPs) > 0)
	if err != nil {
		return nil, err
	}
	s.batches, s.udp = newBatcher(opts.Log, conns...)
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	// the mux reports its own socket closing at shutdown as an error
	lf.ScopeLevels = map[string]logging.LogLevel{"udpmux": logging.LogLevelDisabled, "tcpmux": logging.LogLevelDisabled}

	var se webrtc.SettingEngine
	se.LoggerFactory = newSharedLoggers(lf)
	// One view of the network interfaces for every peer connection: by
	// default each one lists them anew over netlink (and keeps the answer).
	if n, err := stdnet.NewNet(); err == nil {
		se.SetNet(n)
	}
	muxes := make([]ice.UDPMux, len(s.udp))
	for i, m := range s.udp {
		muxes[i] = webrtc.NewICEUDPMux(lf.NewLogger("udpmux"), m)
	}
	se.SetICEUDPMux(ice.NewMultiUDPMuxDefault(muxes...))
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if opts.TCPPort >= 0 {
		tcp, err := net.ListenTCP("tcp4", &net.TCPAddr{Port: opts.TCPPort})
		if err != nil {
			s.closeUDP()
			return nil, fmt.Errorf("webrtc tcp port %d: %w", opts.TCPPort, err)
		}
		s.tcp = tcp
		se.SetICETCPMux(webrtc.NewICETCPMux(lf.NewLogger("tcpmux"), tcp, 8))
		networks = append(networks, webrtc.NetworkTypeTCP4)
	}
	se.SetNetworkTypes(networks)
	if len(opts.PublicIPs) > 0 {
		se.SetNAT1To1IPs(opts.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(4*time.Second, 10*time.Second, 2*time.Second)
	// The viewer starts DTLS as soon as ICE is up, and the bridge skips
	// the cookie round trip: ICE's checks have proved the viewer's address
	// already, which is what the cookie is for. One round trip less per
	// join (three instead of four with the bridge as DTLS client).
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		s.closeUDP()
		return nil, err
	}
	se.SetDTLSInsecureSkipHelloVerify(true)

	m, err := mediaEngine()
	if err != nil {
		s.Close()
		return nil, err
	}
	// No interceptors: NACK and PLI are answered by the viewer from the
	// camera's shared history and GOP, not from per-viewer copies.
	// (An API built without a registry gets pion's defaults, whose NACK
	// responder copies every packet of every viewer.)
	// One DTLS certificate for every session: making one per peer
	// connection costs a key generation and a signature each time.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("dtls key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("dtls certificate: %w", err)
	}
	s.cert = *cert
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
	return s, nil
}

// mediaEngine registers what the relay can send: H.264 in the profiles
// browsers offer, H.265, and the audio codecs cameras send.
func mediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	video := []webrtc.RTPCodecParameters{}
	pt := webrtc.PayloadType(100)
	for _, profile := range []string{"640c1f", "64001f", "4d001f", "42e01f", "42001f", "640032", "4d0032", "42e032"} {
		video = append(video, webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
				SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile, RTCPFeedback: fb},
			PayloadType: pt,
		})
		pt++
	}
	video = append(video, webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH265, ClockRate: 90000, RTCPFeedback: fb},
		PayloadType:        pt,
	})
	for _, c := range video {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("register %s: %w", c.MimeType, err)
		}
	}
	audio := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8},
	}
	for _, c := range audio {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("register %s: %w", c.MimeType, err)
		}
	}
	return m, nil
}

// UDPAddrs are where WebRTC media arrives: the one port on every local
// address.
func (s *Server) UDPAddrs() []string {
	addrs := make([]string, len(s.udp))
	for i, m := range s.udp {
		addrs[i] = m.LocalAddr().String()
	}
	return addrs
}

func (s *Server) closeUDP() {
	for _, m := range s.udp {
		m.Close()
	}
}

// ICEServers returns the STUN/TURN servers for browsers.
func (s *Server) ICEServers() []webrtc.ICEServer { return s.opts.ICEServers }

// Close ends every session and closes the sockets.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	sessions := make([]*Session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		s.end(ss, "the bridge is shutting down")
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
	s.closeUDP()
}

// checkOffer parses the offer and checks it can play codec.
func checkOffer(offer string, codec ingest.Codec) error {
	// counted on the text, before the parser makes a struct of each
	if n := strings.Count(offer, "\nm="); n > maxSections {
		return fmt.Errorf("%w: it has %d media sections, more than the %d a viewer needs", ErrBadOffer, n, maxSections)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	hasVideo, hasCodec := false, false
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		hasVideo = true
		for _, a := range m.Attributes {
			v := strings.ToUpper(a.Value)
			if a.Key == "rtpmap" && strings.Contains(v, " "+string(codec)+"/90000") {
				hasCodec = true
			}
		}
	}
	if !hasVideo {
		return fmt.Errorf("%w: it has no video section (add a recvonly video transceiver)", ErrBadOffer)
	}
	if !hasCodec {
		if codec == ingest.H265 {
			return fmt.Errorf("%w: the camera sends H.265 and this browser cannot play H.265", ErrCodec)
		}
		return fmt.Errorf("%w: the camera sends H.264 and the offer has no H.264", ErrCodec)
	}
	return nil
}

// clientKey is what a client's sessions are counted under: its IPv4
// address, or its IPv6 /64 (one household or phone gets a /64).
func clientKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}

// reserve takes a place for an offer from client, within the caps, before
// any pion work; release gives it back when the offer fails, end when the
// session is over. A client of zero value is counted in the total only.
func (s *Server) reserve(client netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken >= s.opts.MaxSessions {
		return fmt.Errorf("%w: the bridge has %d sessions already, as many as it takes; try again in %d s", ErrTooMany, s.taken, int(ConnectWithin.Seconds()))
	}
	if client.IsValid() {
		if n := s.perClient[client]; n >= s.opts.MaxSessionsPerClient {
			return fmt.Errorf("%w: your address has %d sessions already, as many as one address may have; end some or try again in %d s",
				ErrTooMany, n, int(ConnectWithin.Seconds()))
		}
		s.perClient[client]++
	}
	s.taken++
	return nil
}

// releaseLocked gives back a place taken by reserve; s.mu is held.
func (s *Server) releaseLocked(client netip.Addr) {
	s.taken--
	if client.IsValid() {
		if s.perClient[client]--; s.perClient[client] <= 0 {
			delete(s.perClient, client)
		}
	}
}

// Offer starts a session playing camera for a WHEP offer from client (the
// viewer's address, for the per-client cap; zero: not counted per client)
// and returns the session and the SDP answer, with every local candidate
// in it.
func (s *Server) Offer(ctx context.Context, camera, offer string, client netip.Addr) (*Session, string, error) {
	stream := s.cams.Stream(camera)
	h, ok := s.cams.Health(camera)
	if stream == nil || !ok {
		return nil, "", fmt.Errorf("%w: %q", ErrUnknownCamera, camera)
	}
	if h.Codec == "" {
		return nil, "", fmt.Errorf("%w: %s (try again when it is back)", ErrOffline, h.LastError)
	}
	if h.BFrames {
		return nil, "", fmt.Errorf("%w: turn B-frames off in the camera's encoder", ErrBFrames)
	}
	if err := checkOffer(offer, h.Codec); err != nil {
		return nil, "", err
	}
	client = clientKey(client)
	if err := s.reserve(client); err != nil {
		return nil, "", err
	}
	placed := false
	defer func() {
		if !placed {
			s.mu.Lock()
			s.releaseLocked(client)
			s.mu.Unlock()
		}
	}()
	// The camera's sound goes along when the offer can take it; if not
	// (a G.711 camera and a browser without G.711), video plays alone.
	var audioInfo *ingest.AudioInfo
	audioMimeType := ""
	if h.AudioCodec != "" {
		audioInfo = stream.Audio()
		if m := audioMime(audioInfo); m != "" && offersAudio(offer, m) {
			audioMimeType = m
		}
	}

	pc, err := s.api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{s.cert}})
	if err != nil {
		return nil, "", fmt.Errorf("new peer connection: %w", err)
	}
	fail := func(err error) (*Session, string, error) {
		_ = pc.Close()
		return nil, "", err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadOffer, err))
	}
	tr := newTrack(h.Codec, camera)
	sender, err := pc.AddTrack(tr)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", ErrCodec, err))
	}
	var audioTrack *track
	var audioSender *webrtc.RTPSender
	if audioMimeType != "" {
		audioTrack = newAudioTrack(audioMimeType, camera)
		if audioSender, err = pc.AddTrack(audioTrack); err != nil {
			s.log.Debug("audio not sent", "camera", camera, "error", err)
			audioTrack, audioSender = nil, nil
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadOffer, err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadOffer, err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-time.After(3 * time.Second):
	}

	ss := &Session{ID: newID(), Camera: camera, Created: time.Now(), secret: newSecret(), client: client, pc: pc, sender: sender, track: tr,
		audioSender: audioSender, audioTrack: audioTrack, up: make(chan struct{}), ended: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fail(errors.New("the bridge is shutting down"))
	}
	f := s.feeds[camera]
	if f == nil || f.codec != h.Codec {
		if f, err = newFeed(camera, h.Codec, stream); err != nil {
			s.mu.Unlock()
			return fail(err)
		}
		s.feeds[camera] = f
		go f.run()
	}
	ss.viewer = newViewer(f)
	ss.viewer.batch, ss.viewer.remote = s.batches, ss.remoteUDP
	if audioTrack != nil {
		af := s.audioFeeds[camera]
		if af == nil || af.codec != audioInfo.Codec {
			// AAC is transcoded here, once for every viewer of the camera
			if af, err = newAudioFeed(camera, audioInfo, stream, s.log); err != nil {
				s.log.Warn("audio not sent", "camera", camera, "error", err)
			} else {
				s.audioFeeds[camera] = af
				go af.run()
			}
		}
		if af != nil {
			ss.audio = newAudioViewer(af)
		}
	}
	// A peer that never connects must not hold the session; the timer
	// stops when the session is up or over, so that it keeps nothing.
	ss.neverUp = time.AfterFunc(ConnectWithin, func() { s.end(ss, "the viewer never connected") })
	s.sessions[ss.ID] = ss
	placed = true // its place is given back by end
	s.mu.Unlock()

	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			ss.markUp()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			s.end(ss, "connection "+st.String())
		}
	})
	go ss.run()
	s.log.Info("viewer joined", "camera", camera, "session", ss.ID)
	return ss, pc.LocalDescription().SDP, nil
}

// lookup finds the session of a WHEP session URL: camera and key (see
// Session.Key) must both be the session's. A wrong camera, a wrong or
// missing secret and an unknown id all give the same ErrNoSession, so
// that a caller learns nothing of sessions it does not hold.
func (s *Server) lookup(camera, key string) (*Session, error) {
	id, secret, _ := strings.Cut(key, "-")
	s.mu.Lock()
	ss := s.sessions[id]
	s.mu.Unlock()
	if ss == nil || ss.Camera != camera || subtle.ConstantTimeCompare([]byte(secret), []byte(ss.secret)) != 1 {
		return nil, ErrNoSession
	}
	return ss, nil
}

// End ends the session of camera with that key (WHEP DELETE).
func (s *Server) End(camera, key string) error {
	ss, err := s.lookup(camera, key)
	if err != nil {
		return err
	}
	s.end(ss, "ended by the viewer")
	return nil
}

// AddCandidates takes trickled ICE candidates for the session of camera
// with that key (WHEP PATCH with an SDP fragment); a=candidate lines are
// added, the rest is ignored.
func (s *Server) AddCandidates(camera, key, frag string) error {
	ss, err := s.lookup(camera, key)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(frag, "\n") {
		line = strings.TrimSpace(line)
		if c, ok := strings.CutPrefix(line, "a=candidate:"); ok {
			if err := ss.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: "candidate:" + c}); err != nil {
				return fmt.Errorf("%w: candidate %q: %v", ErrBadOffer, line, err)
			}
		}
	}
	return nil
}

func (s *Server) end(ss *Session, why string) {
	s.mu.Lock()
	if s.sessions[ss.ID] != ss {
		s.mu.Unlock()
		return
	}
	delete(s.sessions, ss.ID)
	s.releaseLocked(ss.client)
	f := ss.viewer.feed
	last := true
	for _, o := range s.sessions {
		if o.viewer.feed == f {
			last = false
			break
		}
	}
	if last && s.feeds[ss.Camera] == f {
		delete(s.feeds, ss.Camera)
	}
	var af *audioFeed
	lastAudio := false
	if ss.audio != nil {
		af, lastAudio = ss.audio.feed, true
		for _, o := range s.sessions {
			if o.audio != nil && o.audio.feed == af {
				lastAudio = false
				break
			}
		}
		if lastAudio && s.audioFeeds[ss.Camera] == af {
			delete(s.audioFeeds, ss.Camera)
		}
	}
	s.mu.Unlock()
	ss.close()
	if last {
		f.close()
	}
	if lastAudio {
		af.close()
	}
	s.log.Info("viewer left", "camera", ss.Camera, "session", ss.ID, "reason", why,
		"packets", ss.viewer.packets.Load(), "dropped_frames", ss.viewer.dropped.Load())
}

// Viewers returns the number of sessions per camera.
func (s *Server) Viewers() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.feeds))
	for _, ss := range s.sessions {
		out[ss.Camera]++
	}
	return out
}

// Sessions returns the figures of every session.
func (s *Server) Sessions() []SessionStats {
	s.mu.Lock()
	list := make([]*Session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		list = append(list, ss)
	}
	s.mu.Unlock()
	out := make([]SessionStats, 0, len(list))
	for _, ss := range list {
		out = append(out, ss.Stats())
	}
	return out
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newID() string { return randomText(10) }

// newSecret is the secret part of a session's URL: 160 random bits.
func newSecret() string { return randomText(20) }

func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(idEncoding.EncodeToString(b))
}
