package ingest

import (
	"sync"
	"sync/atomic"
)

// Stream is the single fan-out point of one camera: the RTSP reader
// publishes into it; relay and detection subscribe to it. It keeps the
// current GOP (the last key frame and what followed) so a new subscriber
// can start at once instead of waiting for the camera's next key frame.
type Stream struct {
	camera      string
	gopMaxBytes int

	mu       sync.Mutex
	subs     map[*Subscription]struct{}
	gop      []*Unit
	gopBytes int
	lastKey  *Unit // survives a GOP over its cap; cleared by Reset
	closed   bool

	// Audio goes its own way, so the GOP cache and the key-frame logic
	// of video never see it.
	audioSubs map[*Subscription]struct{}
	audio     *AudioInfo

	// demand gets a signal (coalesced) whenever the number of video
	// subscribers changes: see Demand.
	demand chan struct{}

	published      atomic.Uint64
	dropped        atomic.Uint64 // summed over all subscribers, current and past
	audioPublished atomic.Uint64
	audioDropped   atomic.Uint64
}

// NewStream returns the stream of one camera. gopMaxBytes caps the cached
// GOP; past it the cache is dropped until the next key frame.
func NewStream(camera string, gopMaxBytes int) *Stream {
	return &Stream{
		camera:      camera,
		gopMaxBytes: gopMaxBytes,
		subs:        make(map[*Subscription]struct{}),
		audioSubs:   make(map[*Subscription]struct{}),
		demand:      make(chan struct{}, 1),
	}
}

// Demand returns a channel that receives a signal whenever the number of
// video subscribers changes (signals coalesce: read Stats for the count).
// The Hub reads a sub-stream only while it has subscribers.
func (s *Stream) Demand() <-chan struct{} { return s.demand }

// signalDemand tells Demand's reader without ever waiting for it.
func (s *Stream) signalDemand() {
	select {
	case s.demand <- struct{}{}:
	default:
	}
}

// Camera returns the id of the camera this stream carries.
func (s *Stream) Camera() string { return s.camera }

// Subscription is one reader's bounded queue of units. A reader that falls
// behind loses units (counted in Dropped) and then resumes at the next key
// frame, so what it receives always decodes.
type Subscription struct {
	// C delivers the units; it is closed when the subscription or the
	// stream is closed.
	C <-chan *Unit

	name    string
	ch      chan *Unit
	stream  *Stream
	needKey bool // guarded by stream.mu: wait for a key frame
	lagging bool // guarded by stream.mu: overflowed, not yet back on a key frame
	closed  bool // guarded by stream.mu
	audio   bool // an audio subscription (SubscribeAudio)
	dropped atomic.Uint64
}

// Name returns the label the subscriber gave itself (for logs and metrics).
func (sub *Subscription) Name() string { return sub.name }

// Dropped returns how many units this subscriber lost because its queue
// was full (including those skipped while it waited for a key frame after).
func (sub *Subscription) Dropped() uint64 { return sub.dropped.Load() }

// Close detaches the subscription and closes C. It is safe to call twice.
func (sub *Subscription) Close() {
	s := sub.stream
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub.closed {
		return
	}
	sub.closed = true
	if sub.audio {
		delete(s.audioSubs, sub)
	} else {
		delete(s.subs, sub)
		s.signalDemand()
	}
	close(sub.ch)
}

// Subscribe attaches a reader with a queue of queueLen units. With
// fromGOP, the cached GOP is queued first (the queue grows to hold it) so
// the reader can show a picture at once; otherwise the reader starts at
// the next key frame.
func (s *Stream) Subscribe(name string, queueLen int, fromGOP bool) *Subscription {
	if queueLen < 1 {
		queueLen = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := queueLen
	if fromGOP {
		n += len(s.gop)
	}
	sub := &Subscription{name: name, ch: make(chan *Unit, n), stream: s, needKey: true}
	sub.C = sub.ch
	if s.closed {
		sub.closed = true
		close(sub.ch)
		return sub
	}
	if fromGOP && len(s.gop) > 0 {
		for _, u := range s.gop {
			sub.ch <- u
		}
		sub.needKey = false
	}
	s.subs[sub] = struct{}{}
	s.signalDemand()
	return sub
}

// Publish hands a unit to every subscriber without waiting for any of them.
func (s *Stream) Publish(u *Unit) {
	s.published.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.cache(u)
	for sub := range s.subs {
		s.offer(sub, u)
	}
}

// cache keeps the GOP that starts at the last key frame, within its cap.
func (s *Stream) cache(u *Unit) {
	if u.Key {
		s.lastKey = u
		clear(s.gop) // let the old units go as soon as readers are done
		s.gop = s.gop[:0]
		s.gopBytes = 0
	} else if len(s.gop) == 0 {
		return // no key frame to start from: nothing worth caching
	}
	if s.gopBytes+u.Size > s.gopMaxBytes {
		// A GOP cut short would leave a gap between the cache and the live
		// flow, so drop it whole; readers then wait for the next key frame.
		clear(s.gop)
		s.gop = s.gop[:0]
		s.gopBytes = 0
		return
	}
	s.gop = append(s.gop, u)
	s.gopBytes += u.Size
}

func (s *Stream) offer(sub *Subscription, u *Unit) {
	if sub.needKey && !u.Key {
		if sub.lagging { // lost to the overflow too
			sub.dropped.Add(1)
			s.dropped.Add(1)
		}
		return
	}
	select {
	case sub.ch <- u:
		sub.needKey = false
		sub.lagging = false
	default:
		sub.needKey = true
		sub.lagging = true
		sub.dropped.Add(1)
		s.dropped.Add(1)
	}
}

// Reset forgets the cached GOP and makes every subscriber wait for the next
// key frame; the reader calls it when the camera's session ends, because
// what comes next starts a new timeline.
func (s *Stream) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.gop)
	s.gop = s.gop[:0]
	s.gopBytes = 0
	s.lastKey = nil
	for sub := range s.subs {
		sub.needKey = true
	}
}

// Close closes every subscription; later subscriptions are closed at once.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for sub := range s.subs {
		sub.closed = true
		close(sub.ch)
	}
	clear(s.subs)
	for sub := range s.audioSubs {
		sub.closed = true
		close(sub.ch)
	}
	clear(s.audioSubs)
	clear(s.gop)
	s.gop = nil
}

// SubscribeAudio attaches a reader of the camera's audio units with a
// queue of queueLen units. A full queue drops the unit (counted in
// Dropped); audio has no key frames, so the reader goes on with the next.
// A camera without audio simply never sends any.
func (s *Stream) SubscribeAudio(name string, queueLen int) *Subscription {
	queueLen = max(queueLen, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := &Subscription{name: name, ch: make(chan *Unit, queueLen), stream: s, audio: true}
	sub.C = sub.ch
	if s.closed {
		sub.closed = true
		close(sub.ch)
		return sub
	}
	s.audioSubs[sub] = struct{}{}
	return sub
}

// PublishAudio hands an audio unit to every audio subscriber without
// waiting for any of them.
func (s *Stream) PublishAudio(u *Unit) {
	s.audioPublished.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for sub := range s.audioSubs {
		select {
		case sub.ch <- u:
		default:
			sub.dropped.Add(1)
			s.audioDropped.Add(1)
		}
	}
}

// SetAudio records the camera's audio as its SDP announced it (nil: the
// camera sends none); the reader calls it on every session.
func (s *Stream) SetAudio(info *AudioInfo) {
	s.mu.Lock()
	s.audio = info
	s.mu.Unlock()
}

// Audio returns the camera's audio, or nil when it sends none (or has not
// connected yet). The AudioInfo is shared: never modify it.
func (s *Stream) Audio() *AudioInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.audio
}

// LastKeyFrame returns the latest key frame of the current session, or nil
// (for a snapshot: it decodes on its own).
func (s *Stream) LastKeyFrame() *Unit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastKey
}

// StreamStats are the running counters of a stream.
type StreamStats struct {
	Published   uint64 // units received from the camera
	Dropped     uint64 // units lost by slow subscribers, summed
	Subscribers int
	GOPUnits    int // units in the cached GOP
	GOPBytes    int

	AudioPublished   uint64 // audio units received from the camera
	AudioDropped     uint64 // audio units lost by slow subscribers, summed
	AudioSubscribers int
}

// Stats returns the stream's counters.
func (s *Stream) Stats() StreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StreamStats{
		Published:   s.published.Load(),
		Dropped:     s.dropped.Load(),
		Subscribers: len(s.subs),
		GOPUnits:    len(s.gop),
		GOPBytes:    s.gopBytes,

		AudioPublished:   s.audioPublished.Load(),
		AudioDropped:     s.audioDropped.Load(),
		AudioSubscribers: len(s.audioSubs),
	}
}
