package ingest

import (
	"testing"
	"time"
)

// gop publishes n units: a key frame every `every` units, starting with one.
func publishUnits(s *Stream, n, every int) {
	for i := range n {
		s.Publish(&Unit{Codec: H264, PTS: time.Duration(i) * 40 * time.Millisecond, Key: i%every == 0, NALUs: [][]byte{{0x65}}, Size: 1000})
	}
}

func drain(sub *Subscription) []*Unit {
	var out []*Unit
	for {
		select {
		case u, ok := <-sub.C:
			if !ok {
				return out
			}
			out = append(out, u)
		default:
			return out
		}
	}
}

func TestSlowSubscriberDoesNotBlockOthers(t *testing.T) {
	s := NewStream("cam1", 8<<20)
	stuck := s.Subscribe("stuck", 4, false)
	fast := s.Subscribe("fast", 16, false)
	got := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range fast.C {
			got++
		}
	}()
	// paced like a fast camera (500 fps), so a reader that keeps up can
	var inPublish time.Duration
	for i := range 300 {
		start := time.Now()
		s.Publish(&Unit{Key: i%50 == 0, Size: 1000})
		inPublish += time.Since(start)
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	s.Close()
	<-done
	if inPublish > 100*time.Millisecond {
		t.Errorf("300 publishes with a stuck subscriber spent %v in Publish, want < 100ms", inPublish)
	}
	if got != 300 || fast.Dropped() != 0 {
		t.Errorf("reading subscriber got %d of 300 units and dropped %d, want all and none", got, fast.Dropped())
	}
	if stuck.Dropped() != 296 {
		t.Errorf("stuck subscriber dropped %d units, want 296 (queue 4 of 300)", stuck.Dropped())
	}
}

func TestNewSubscriberStartsFromCachedGOP(t *testing.T) {
	s := NewStream("cam1", 8<<20)
	publishUnits(s, 60, 50) // key at 0 and 50, then 9 more
	sub := s.Subscribe("late", 4, true)
	got := drain(sub)
	if len(got) != 10 {
		t.Fatalf("late subscriber got %d cached units, want 10 (key frame 50 and the 9 after it)", len(got))
	}
	if !got[0].Key {
		t.Fatalf("first cached unit is not a key frame")
	}
	for i, u := range got {
		if want := time.Duration(50+i) * 40 * time.Millisecond; u.PTS != want {
			t.Fatalf("cached unit %d has PTS %v, want %v", i, u.PTS, want)
		}
	}
	if k := s.LastKeyFrame(); k != got[0] {
		t.Errorf("LastKeyFrame is not the cached GOP's key frame")
	}
	if st := s.Stats(); st.GOPUnits != 10 || st.GOPBytes != 10000 {
		t.Errorf("stats GOP = %d units, %d bytes; want 10, 10000", st.GOPUnits, st.GOPBytes)
	}
}

func TestSubscriberWithoutGOPWaitsForKeyFrame(t *testing.T) {
	s := NewStream("cam1", 8<<20)
	publishUnits(s, 5, 50)
	sub := s.Subscribe("live", 100, false)
	s.Publish(&Unit{Key: false, Size: 1})
	s.Publish(&Unit{Key: true, Size: 1})
	s.Publish(&Unit{Key: false, Size: 1})
	got := drain(sub)
	if len(got) != 2 || !got[0].Key {
		t.Fatalf("got %d units (first key=%v), want 2 starting at the key frame", len(got), len(got) > 0 && got[0].Key)
	}
	if sub.Dropped() != 0 {
		t.Errorf("waiting for the first key frame counted %d drops, want 0", sub.Dropped())
	}
}

func TestOverflowResumesAtKeyFrame(t *testing.T) {
	s := NewStream("cam1", 8<<20)
	sub := s.Subscribe("slow", 3, false)
	publishUnits(s, 10, 100) // key, then 9 deltas: 3 fit, 7 lost
	if got := len(drain(sub)); got != 3 {
		t.Fatalf("got %d units before overflow, want 3", got)
	}
	s.Publish(&Unit{Key: false, Size: 1}) // lost: waiting for a key frame
	s.Publish(&Unit{Key: true, Size: 1})
	got := drain(sub)
	if len(got) != 1 || !got[0].Key {
		t.Fatalf("after overflow got %d units, want exactly the next key frame", len(got))
	}
	if sub.Dropped() != 8 {
		t.Errorf("dropped = %d, want 8 (7 on overflow, 1 while waiting for the key frame)", sub.Dropped())
	}
}

func TestGOPCacheCapDropsWholeGOP(t *testing.T) {
	s := NewStream("cam1", 5000)
	publishUnits(s, 8, 100) // 8 units of 1000 bytes over a 5000 cap
	if st := s.Stats(); st.GOPUnits != 0 {
		t.Fatalf("GOP over its cap still caches %d units, want 0", st.GOPUnits)
	}
	sub := s.Subscribe("late", 10, true)
	if got := drain(sub); len(got) != 0 {
		t.Fatalf("late subscriber got %d units from a dropped GOP", len(got))
	}
}

func TestResetMakesSubscribersWaitForKey(t *testing.T) {
	s := NewStream("cam1", 8<<20)
	sub := s.Subscribe("a", 100, false)
	publishUnits(s, 3, 100)
	drain(sub)
	s.Reset()
	s.Publish(&Unit{Key: false, Size: 1})
	if got := drain(sub); len(got) != 0 {
		t.Fatalf("after reset a delta frame was delivered")
	}
	if st := s.Stats(); st.GOPUnits != 0 || s.LastKeyFrame() != nil {
		t.Fatalf("reset kept %d cached units (or the last key frame)", st.GOPUnits)
	}
}

func TestCloseClosesSubscriptions(t *testing.T) {
	s := NewStream("cam1", 8<<20)
	a := s.Subscribe("a", 1, false)
	a.Close()
	a.Close() // twice is fine
	b := s.Subscribe("b", 1, false)
	s.Close()
	if _, ok := <-b.C; ok {
		t.Fatal("subscription still open after stream close")
	}
	c := s.Subscribe("c", 1, true)
	if _, ok := <-c.C; ok {
		t.Fatal("subscription to a closed stream is open")
	}
	s.Publish(&Unit{Key: true}) // must not panic
	b.Close()
}

func BenchmarkPublish4Subscribers(b *testing.B) {
	s := NewStream("cam1", 8<<20)
	for i := range 4 {
		sub := s.Subscribe("r", 256, false)
		go func() {
			for range sub.C {
			}
		}()
		_ = i
	}
	u := &Unit{Key: true, Size: 1000}
	b.ReportAllocs()
	for b.Loop() {
		s.Publish(u)
	}
	s.Close()
}
