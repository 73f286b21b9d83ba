package relay_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"qianliyan/ingest"
	"qianliyan/internal/camsimproc"
	"qianliyan/internal/whepclient"
	"qianliyan/relay"
)

func TestViewerPlaysCameraFromCachedGOP(t *testing.T) {
	r := newRig(t, map[string]string{"cam1": "cam/1"}, "-cameras", "1")
	v := r.watch(t, "cam1", 60)
	v.waitPackets(t, 500, 5*time.Second)
	time.Sleep(2 * time.Second) // let live frames follow the burst
	w, h, n := decodeKept(t, v.Kept(), ingest.H264)
	if w != 1280 || h != 720 || n < 55 {
		t.Fatalf("decoded %d pictures of %dx%d, want >= 55 of 1280x720", n, w, h)
	}
	fp, fk := v.Firsts()
	t.Logf("first packet %v, first key frame %v after the offer", fp.Round(time.Millisecond), fk.Round(time.Millisecond))
	if fk > time.Second {
		t.Errorf("first key frame came %v after the offer; the cached GOP should make it immediate", fk)
	}
	if got := r.relay.Viewers()["cam1"]; got != 1 {
		t.Errorf("viewers = %d, want 1", got)
	}
	st := v.session.Stats()
	if st.Packets == 0 || st.Bytes == 0 || st.Frames == 0 {
		t.Errorf("session stats = %+v", st)
	}
}

func TestFiftyViewersAllReceiveVideo(t *testing.T) {
	r := newRig(t, map[string]string{"cam1": "cam/1"}, "-cameras", "1")
	viewers := make([]viewer, 50)
	for i := range viewers {
		viewers[i] = r.watch(t, "cam1", 0)
	}
	// 50 DTLS handshakes share two cores with camsim and the test: give
	// them time, then every viewer must be receiving.
	deadline := time.Now().Add(20 * time.Second)
	for i, v := range viewers {
		for v.Packets.Load() < 300 || v.KeyFrames.Load() < 1 {
			if time.Now().After(deadline) {
				t.Fatalf("viewer %d got %d packets and %d key frames in 20 s", i, v.Packets.Load(), v.KeyFrames.Load())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	n0 := make([]int64, len(viewers))
	for i, v := range viewers {
		n0[i] = v.Packets.Load()
	}
	time.Sleep(2 * time.Second)
	for i, v := range viewers {
		if got := v.Packets.Load() - n0[i]; got < 400 {
			t.Errorf("viewer %d got %d packets in 2 s of steady state, want ~500", i, got)
		}
	}
	if got := r.relay.Viewers()["cam1"]; got != 50 {
		t.Errorf("viewers = %d, want 50", got)
	}
}

func TestStalledViewerDoesNotChangeOthersRate(t *testing.T) {
	r := newRig(t, map[string]string{"cam1": "cam/1"}, "-cameras", "1")
	a := r.watch(t, "cam1", 0)
	b := r.watch(t, "cam1", 0)
	a.waitPackets(t, 100, 5*time.Second)
	b.waitPackets(t, 100, 5*time.Second)
	rate := func() float64 {
		n0 := a.Packets.Load()
		time.Sleep(3 * time.Second)
		return float64(a.Packets.Load()-n0) / 3
	}
	before := rate()
	b.Stall.Store(true)
	during := rate()
	if during < before*0.85 || during > before*1.15 {
		t.Errorf("viewer rate %.0f pkt/s while another stalled, %.0f before", during, before)
	}
	t.Logf("rate %.0f pkt/s before, %.0f while the other viewer stalled", before, during)
}

func TestBadOffersGetClearErrorsAndLeaveNothing(t *testing.T) {
	r := newRig(t, map[string]string{"cam1": "cam/1", "gone": "rtsp://127.0.0.1:1/x"}, "-cameras", "1")
	pc1, goodOffer, err := whepclient.Offer()
	if err != nil {
		t.Fatal(err)
	}
	defer pc1.Close()
	pc2, vp8Only, err := whepclient.Offer(webrtc.MimeTypeVP8)
	if err != nil {
		t.Fatal(err)
	}
	defer pc2.Close()
	for _, tc := range []struct {
		name, camera, offer string
		want                error
		msg                 string
	}{
		{"malformed", "cam1", "v=0\r\nthis is not sdp", relay.ErrBadOffer, "malformed"},
		{"empty", "cam1", "", relay.ErrBadOffer, "no video"},
		{"no h264", "cam1", vp8Only, relay.ErrCodec, "offer has no H.264"},
		{"unknown camera", "nope", goodOffer, relay.ErrUnknownCamera, `"nope"`},
		{"never online", "gone", goodOffer, relay.ErrOffline, "refused the connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := r.relay.Offer(context.Background(), tc.camera, tc.offer, netip.Addr{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
	if n := len(r.relay.Sessions()); n != 0 {
		t.Errorf("%d sessions left after refused offers", n)
	}
}

func TestEndedSessionIsGone(t *testing.T) {
	r := newRig(t, map[string]string{"cam1": "cam/1"}, "-cameras", "1")
	v := r.watch(t, "cam1", 0)
	v.waitPackets(t, 50, 5*time.Second)
	if err := r.relay.End("cam1", v.session.Key()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-v.session.Ended():
	case <-time.After(2 * time.Second):
		t.Fatal("session not ended")
	}
	if err := r.relay.End("cam1", v.session.Key()); !errors.Is(err, relay.ErrNoSession) {
		t.Errorf("second end: %v, want ErrNoSession", err)
	}
	if n := r.relay.Viewers()["cam1"]; n != 0 {
		t.Errorf("viewers after end = %d", n)
	}
	// Nothing may keep an ended session: with phones coming and going, a
	// session kept for seconds more is memory kept for every join.
	session, peer := weak.Make(v.session), weak.Make(v.session.PeerConnection())
	v.session = nil
	v.Close()
	deadline := time.Now().Add(3 * time.Second)
	for session.Value() != nil || peer.Value() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("3 s after the end, still referenced: session %v, its peer connection %v",
				session.Value() != nil, peer.Value() != nil)
		}
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
	}
}

func TestVideoResumesAfterCameraComesBack(t *testing.T) {
	r := newRig(t, map[string]string{"cam1": "cam/1"}, "-cameras", "1")
	v := r.watch(t, "cam1", 0)
	v.waitPackets(t, 100, 5*time.Second)
	r.cam.Stop()
	time.Sleep(1500 * time.Millisecond)
	if h, _ := r.hub.Health("cam1"); h.Online {
		t.Fatal("camera still online after camsim stopped")
	}
	n0, k0 := v.Packets.Load(), v.KeyFrames.Load()
	r.cam.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for v.KeyFrames.Load() == k0 || v.Packets.Load() < n0+200 {
		if time.Now().After(deadline) {
			t.Fatalf("no video on the same session within 10 s of the camera's return (%d packets, %d key frames)",
				v.Packets.Load()-n0, v.KeyFrames.Load()-k0)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBFrameCameraIsRefusedClearly(t *testing.T) {
	r := newRig(t, map[string]string{"cam1": "cam/1"}, "-cameras", "1", "-bframes", "2")
	deadline := time.Now().Add(5 * time.Second)
	for h, _ := r.hub.Health("cam1"); !strings.Contains(h.Warning, "B-frames"); h, _ = r.hub.Health("cam1") {
		if time.Now().After(deadline) {
			t.Fatalf("no B-frame warning in the camera's health: %+v", h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pc, offer, err := whepclient.Offer()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, _, err := r.relay.Offer(context.Background(), "cam1", offer, netip.Addr{}); !errors.Is(err, relay.ErrBFrames) {
		t.Fatalf("offer for a B-frame camera: %v, want ErrBFrames", err)
	}
}

func TestH265CameraPlaysWhereOfferedAndIsRefusedElsewhere(t *testing.T) {
	cam := camsimproc.Start(t, "-cameras", "1")
	url := cam.Push(t, "h265", camsimproc.H265...)
	r2 := newRig(t, map[string]string{"h265": url})
	r2.waitOnline(t, "h265")
	v := r2.watch(t, "h265", 40)
	v.waitPackets(t, 200, 5*time.Second)
	time.Sleep(time.Second)
	if w, h, n := decodeKept(t, v.Kept(), ingest.H265); w != 1280 || h != 720 || n < 20 {
		t.Fatalf("decoded %d H.265 pictures of %dx%d, want >= 20 of 1280x720", n, w, h)
	}
	pc, h264Only, err := whepclient.Offer(webrtc.MimeTypeH264)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, _, err = r2.relay.Offer(context.Background(), "h265", h264Only, netip.Addr{})
	if !errors.Is(err, relay.ErrCodec) || !strings.Contains(err.Error(), "cannot play H.265") {
		t.Fatalf("H.264-only offer for an H.265 camera: %v, want ErrCodec saying it cannot play H.265", err)
	}
}

// TestNACKsAreAnsweredAndCapped asks, over RTCP, for a packet of the
// join's GOP replay and for a live one, within the viewer's first second
// (when a join's losses happen): each must come again, the same. Then it
// asks for 400 packets five times over, as a
// phone too slow to read its stream does: the bridge resends at most a
// quarter of the stream's rate, not 2000 packets.
func TestNACKsAreAnsweredAndCapped(t *testing.T) {
	r := newRig(t, map[string]string{"cam1": "cam/1"}, "-cameras", "1")
	// SRTP would drop a packet it has had; a real resend is of one lost
	pc, offer, err := whepclient.OfferTakingRepeats()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[uint16][][]byte{}
	var order []uint16
	hook := func(p *rtp.Packet) {
		mu.Lock()
		defer mu.Unlock()
		if got[p.SequenceNumber] == nil {
			order = append(order, p.SequenceNumber)
		}
		got[p.SequenceNumber] = append(got[p.SequenceNumber], slices.Clone(p.Payload))
	}
	var ss *relay.Session
	wv, err := whepclient.PlayWith(pc, offer, r.direct("cam1", &ss), 0)
	if err != nil {
		t.Fatal(err)
	}
	wv.OnVideo.Store(&hook)
	t.Cleanup(wv.Close)
	v := viewer{wv, ss}
	v.waitPackets(t, 50, 5*time.Second)
	// past the GOP replay, within the first second
	time.Sleep(time.Until(wv.Posted.Add(600 * time.Millisecond)))
	recv := v.PC.GetReceivers()
	if len(recv) == 0 || recv[0].Track() == nil {
		t.Fatal("no video track")
	}
	ssrc := uint32(recv[0].Track().SSRC())
	nack := func(seqs ...uint16) {
		t.Helper()
		sorted := slices.Clone(seqs)
		slices.SortFunc(sorted, func(a, b uint16) int { return int(int16(a - b)) })
		pairs := rtcp.NackPairsFromSequenceNumbers(sorted)
		if err := v.PC.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: pairs}}); err != nil {
			t.Fatal(err)
		}
	}

	mu.Lock()
	if len(order) < 10 {
		mu.Unlock()
		t.Fatalf("only %d packets in the viewer's first 600 ms", len(order))
	}
	// the replay's key frame, and a live packet
	for _, one := range []uint16{order[3], order[len(order)-5]} {
		first := got[one][0]
		mu.Unlock()
		nack(one)
		deadline := time.Now().Add(2 * time.Second)
		for {
			mu.Lock()
			copies := got[one]
			if len(copies) >= 2 {
				if !bytes.Equal(copies[1], first) {
					t.Fatalf("packet %d came again with other contents", one)
				}
				break
			}
			mu.Unlock()
			if time.Now().After(deadline) {
				t.Fatalf("packet %d, asked for %v after the offer, did not come in 2 s", one, time.Since(wv.Posted)-2*time.Second)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	mu.Unlock()

	mu.Lock()
	n0 := len(order)
	mu.Unlock()
	time.Sleep(2 * time.Second)
	mu.Lock()
	rate := float64(len(order)-n0) / 2 // packets a second
	if len(order)-n0 < 450 {
		mu.Unlock()
		t.Fatalf("only %d packets in 2 s", len(order)-n0)
	}
	recent := slices.Clone(order[len(order)-400:])
	mu.Unlock()
	before := v.session.Stats()
	for range 5 {
		nack(recent...)
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	after := v.session.Stats()
	asked, resent := after.NACKs-before.NACKs, after.Resent-before.Resent
	t.Logf("asked for %d packets again, %d resent (the stream: %.0f packets/s)", asked, resent, rate)
	if asked != 2000 {
		t.Errorf("the bridge counted %d packets asked for, want 2000", asked)
	}
	// two budget seconds at most: a quarter of the rate each, 32 at least
	if limit := 2 * max(32, uint64(rate/4)+uint64(rate/8)); resent == 0 || resent > limit {
		t.Errorf("resent %d of 2000 asked for; want some, and at most %d", resent, limit)
	}
}

// TestBigKeyFramesReachASmallReceiveBuffer plays a 1080p camera of
// 4 Mbit/s (key frames of up to ~160 KB, 135 packets) to a viewer whose
// UDP receive buffer is 64 KiB (128 KiB as the kernel counts it, about 55
// packets): key frames sent at once overflow it whenever its reader is a
// moment late (tried: 71 packets lost in 10 s, 19 for good), paced they
// do not. Packets lost and resent after a NACK are tolerated; packets
// never received are not.
func TestBigKeyFramesReachASmallReceiveBuffer(t *testing.T) {
	r := newRig(t, map[string]string{"cam1": "cam/1"}, "-cameras", "1", "-size", "1920x1080", "-bitrate", "4000000", "-gop", "2s", "-variants", "1")
	pc, offer, err := whepclient.OfferBuffered(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	var ss *relay.Session
	wv, err := whepclient.PlayWith(pc, offer, r.direct("cam1", &ss), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wv.Close)
	v := viewer{wv, ss}
	v.waitPackets(t, 50, 5*time.Second)
	time.Sleep(8 * time.Second) // the join's GOP and four key frames
	lost, recovered, got := wv.Lost.Load(), wv.Recovered.Load(), wv.Packets.Load()
	t.Logf("%d packets, %d lost, %d of them resent", got, lost, recovered)
	if got < 2500 {
		t.Fatalf("only %d packets in 8 s of a 4 Mbit/s camera", got)
	}
	if lost-recovered != 0 {
		t.Errorf("%d packets never arrived (%d lost, %d resent)", lost-recovered, lost, recovered)
	}
}
