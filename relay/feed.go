// Package relay plays cameras to browsers over WebRTC (WHEP): one
// packetizer per camera, one bounded queue per viewer, and a start from the
// cached GOP so a viewer sees a picture at once.
package relay

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/pion/rtp"

	"qianliyan/ingest"
)

// rtpPayloadMax keeps every packet within a 1200-byte MTU: what WebRTC
// stacks assume and what survives VPNs and mobile networks.
const rtpPayloadMax = 1200 - 12

// frame is one access unit, packetized once for every viewer. Packets
// carry the camera's own sequence numbers and timestamps; viewers rewrite
// the header only.
type frame struct {
	n    uint64 // the feed's running frame number
	key  bool
	pkts []*rtp.Packet
}

// Source is what the relay needs of a camera's stream.
type Source interface {
	Subscribe(name string, queueLen int, fromGOP bool) *ingest.Subscription
}

// feed packetizes one camera once and fans frames out to its viewers.
type feed struct {
	camera string
	codec  ingest.Codec
	sub    *ingest.Subscription
	encode func([][]byte) ([]*rtp.Packet, error)

	mu      sync.Mutex
	viewers map[*viewer]struct{}
	gop     []*frame
	n       uint64

	// timeline continuity across camera reconnects
	epoch  uint32
	tsBase uint32
	lastTS uint32

	packets atomic.Uint64
}

func newFeed(camera string, codec ingest.Codec, src Source) (*feed, error) {
	f := &feed{camera: camera, codec: codec, viewers: make(map[*viewer]struct{})}
	switch codec {
	case ingest.H265:
		e := &rtph265.Encoder{PayloadType: 96, PayloadMaxSize: rtpPayloadMax}
		if err := e.Init(); err != nil {
			return nil, err
		}
		f.encode = e.Encode
	default:
		e := &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: rtpPayloadMax, PacketizationMode: 1}
		if err := e.Init(); err != nil {
			return nil, err
		}
		f.encode = e.Encode
	}
	f.sub = src.Subscribe("relay", 256, true)
	// The stream queued its cached GOP on subscribe: packetize it now, so
	// the first viewer starts from it too.
	for range len(f.sub.C) {
		f.handle(<-f.sub.C)
	}
	return f, nil
}

// run packetizes until the subscription closes.
func (f *feed) run() {
	for u := range f.sub.C {
		f.handle(u)
	}
	f.mu.Lock()
	for v := range f.viewers {
		v.feedClosed()
	}
	f.mu.Unlock()
}

func (f *feed) handle(u *ingest.Unit) {
	if u.Codec != f.codec {
		return // the camera changed codec; viewers negotiated the old one
	}
	pkts, err := f.encode(u.NALUs)
	if err != nil || len(pkts) == 0 {
		return
	}
	ts := f.timestamp(u)
	for _, p := range pkts {
		p.Timestamp = ts
	}
	f.publish(u.Key, pkts)
}

// timestamp maps the unit's PTS to a 90 kHz clock that keeps running when
// the camera reconnects (a new session starts its PTS again).
func (f *feed) timestamp(u *ingest.Unit) uint32 {
	ts := uint32(u.PTS * 90000 / time.Second)
	if u.Epoch != f.epoch {
		if f.epoch != 0 {
			f.tsBase = f.lastTS + 3000 - ts
		}
		f.epoch = u.Epoch
	}
	f.lastTS = ts + f.tsBase
	return f.lastTS
}

func (f *feed) publish(key bool, pkts []*rtp.Packet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	fr := &frame{n: f.n, key: key, pkts: pkts}
	f.packets.Add(uint64(len(pkts)))
	if key {
		clear(f.gop)
		f.gop = f.gop[:0]
	}
	if key || len(f.gop) > 0 {
		f.gop = append(f.gop, fr)
	}
	for v := range f.viewers {
		v.offer(fr)
	}
}

// join registers v and returns the cached GOP it starts from; frames after
// it reach v through its queue, with no gap.
func (f *feed) join(v *viewer) []*frame {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.viewers[v] = struct{}{}
	if len(f.gop) > 0 {
		v.mu.Lock()
		v.needKey = false // the GOP is the start; what follows joins it
		v.mu.Unlock()
	}
	return append([]*frame(nil), f.gop...)
}

// gopNow returns the cached GOP (for a PLI).
func (f *feed) gopNow() []*frame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*frame(nil), f.gop...)
}

// leave removes v and reports whether the feed has no viewer left.
func (f *feed) leave(v *viewer) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.viewers, v)
	return len(f.viewers) == 0
}

func (f *feed) close() { f.sub.Close() }
