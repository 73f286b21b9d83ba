package relay

import (
	"sync"

	"github.com/pion/logging"
)

// sharedLoggers hands every peer connection the same logger per scope.
// pion asks its factory for a dozen scoped loggers per peer connection,
// and the default factory makes each anew (five log.Loggers apiece): at
// 100 viewers that was 0.6 MB kept and more made at every join, for
// loggers that differ only by scope.
type sharedLoggers struct {
	base    *logging.DefaultLoggerFactory
	mu      sync.Mutex
	byScope map[string]logging.LeveledLogger
}

func newSharedLoggers(base *logging.DefaultLoggerFactory) *sharedLoggers {
	return &sharedLoggers{base: base, byScope: map[string]logging.LeveledLogger{}}
}

// NewLogger returns the logger of scope, made once.
func (f *sharedLoggers) NewLogger(scope string) logging.LeveledLogger {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.byScope[scope]
	if l == nil {
		l = f.base.NewLogger(scope)
		f.byScope[scope] = l
	}
	return l
}
