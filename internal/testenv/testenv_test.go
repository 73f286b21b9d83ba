package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewClock(t0)
	time.Sleep(2 * time.Millisecond)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v before any move, want %v", got, t0)
	}
	c.Add(90 * time.Second)
	if got, want := c.Now(), t0.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("Now after Add(90s) = %v, want %v", got, want)
	}
	back := t0.Add(-time.Hour)
	c.Set(back)
	if got := c.Now(); !got.Equal(back) {
		t.Errorf("Now after Set = %v, want %v", got, back)
	}
	var zero Clock
	zero.Add(time.Second)
	if got := zero.Now(); !got.Equal(time.Time{}.Add(time.Second)) {
		t.Errorf("a zero Clock after Add(1s) reads %v, want the zero time plus 1 s", got)
	}
}

// TestClockIsSafeForConcurrentUse moves the clock from many goroutines
// while others read it: no move may be lost (go test -race also checks
// the reads).
func TestClockIsSafeForConcurrentUse(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewClock(t0)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 100 {
				c.Add(time.Millisecond)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), t0.Add(5*time.Second); !got.Equal(want) {
		t.Errorf("after 5000 concurrent Add(1ms) the clock reads %v, want %v", got, want)
	}
}

func TestRepoRootHoldsTheModule(t *testing.T) {
	root := RepoRoot(t)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(mod), "module qianliyan\n") {
		t.Errorf("%s/go.mod starts %q, want module qianliyan", root, strings.SplitN(string(mod), "\n", 2)[0])
	}
	wd, _ := os.Getwd()
	if want := filepath.Dir(filepath.Dir(wd)); root != want {
		t.Errorf("RepoRoot from %s = %s, want %s", wd, root, want)
	}
}

// TestBuildBuildsOncePerProcess builds a small program of the repository
// twice: the second call gives the same binary without building again.
func TestBuildBuildsOncePerProcess(t *testing.T) {
	p := Build(t, "./internal/whepload")
	st, err := os.Stat(p)
	if err != nil {
		t.Fatalf("Build gave %s: %v", p, err)
	}
	if filepath.Base(p) != "whepload" || st.Mode()&0o111 == 0 {
		t.Errorf("Build gave %s with mode %v, want an executable named whepload", p, st.Mode())
	}
	again := Build(t, "./internal/whepload")
	st2, err := os.Stat(again)
	if err != nil {
		t.Fatal(err)
	}
	if again != p || !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("second Build gave %s (modified %v), want %s unchanged (%v)", again, st2.ModTime(), p, st.ModTime())
	}
}
