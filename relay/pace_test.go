package relay

import (
	"testing"
	"time"
)

// TestPaceSpreadsBigFramesOnly feeds the pacer a 160 KB key frame (a
// 1080p camera's) in packets of 1188 bytes on a clock that moves only when
// told to wait: the first paceBurst bytes go at once, the rest no faster
// than paceBytesPerSec, in steps of at least paceStep; a small frame that
// follows a pause goes at once.
func TestPaceSpreadsBigFramesOnly(t *testing.T) {
	v := newViewer(nil)
	now := time.Unix(0, 0)
	const pkt, n = rtpPayloadMax, 135
	var waited time.Duration
	atOnce, waits := 0, 0
	for i := range n {
		d := v.pace(pkt, now)
		if d == 0 && waits == 0 {
			atOnce++
		}
		if d > 0 {
			waits++
			waited += d
			now = now.Add(d)
			if d2 := v.pace(pkt, now); d2 != 0 {
				t.Fatalf("packet %d: still told to wait %v after waiting %v", i, d2, d)
			}
		}
	}
	if want := paceBurst / pkt; atOnce != want {
		t.Errorf("%d packets went at once, want %d (paceBurst)", atOnce, want)
	}
	least := time.Duration(float64((n-atOnce)*pkt-paceStep) / paceBytesPerSec * float64(time.Second))
	if waited < least || waited > least+50*time.Millisecond {
		t.Errorf("the frame waited %v in all, want %v to %v", waited, least, least+50*time.Millisecond)
	}
	if most := (n-atOnce)*pkt/paceStep + 1; waits > most {
		t.Errorf("%d waits for %d paced packets: steps smaller than paceStep", waits, n-atOnce)
	}
	t.Logf("160 KB frame: %d packets at once, then %d waits, %v in all", atOnce, waits, waited)

	now = now.Add(40 * time.Millisecond) // the next frame, 25 fps
	for i := range 15 {                  // a P-frame of 18 KB
		if d := v.pace(pkt, now); d != 0 {
			t.Fatalf("packet %d of a small frame after a pause waits %v", i, d)
		}
	}
}
