package camsimproc

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind (a reader not
// closed, a child process not waited for).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
