// Package testenv holds what the repository's tests share that is not
// about one part: the repository's root, its programs built once per test
// process, and a settable clock. Real Redis is in internal/redistest, a
// real camsim in internal/camsimproc.
package testenv

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var builds struct {
	mu    sync.Mutex
	paths map[string]string
}

// Build builds one of the repository's programs (e.g. "./cmd/bridge") once
// per test process and returns its path. The binary goes to a directory
// under os.TempDir shared by test processes (the Go build cache makes later
// builds quick); it is written to a temporary name and renamed, so
// processes building at the same time do not clash.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if p, ok := builds.paths[pkg]; ok {
		return p
	}
	p, err := buildBinary(pkg)
	if err != nil {
		tb.Fatalf("testenv: build %s: %v", pkg, err)
	}
	if builds.paths == nil {
		builds.paths = map[string]string{}
	}
	builds.paths[pkg] = p
	return p
}

func buildBinary(pkg string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	name := filepath.Base(pkg)
	// one folder per checkout: worktrees of one user build different
	// sources, and one's rename must not replace another's binary
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("qianliyan-bin-%d", os.Getuid()), fmt.Sprintf("%x", crc32.ChecksumIEEE([]byte(root))))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, name+"-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())

	cmd := exec.Command("go", "build", "-o", tmp.Name(), pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s in %s: %w\n%s", pkg, root, err, out)
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// RepoRoot is the directory holding the repository's go.mod, found by
// walking up from the working directory (a test runs in its package's
// directory); the test fails when there is none.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := repoRoot()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return root
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// WaitFor polls ok until it holds, failing the test with what was awaited
// when within passes first.
func WaitFor(tb testing.TB, what string, within time.Duration, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
