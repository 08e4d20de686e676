package landscape

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Exclusive waits until no other test suite of this machine runs a landscape, and returns
// the function that lets the next one go. The end-to-end suite and the reliability suite
// each start a landscape, and `go test ./...` runs packages at the same time; the two
// would share one Jaeger, and the first to stop would stop it under the other. The lock is
// a file in the temporary directory, released by the kernel even when the test process
// dies, so a crashed run never leaves the next one waiting.
func Exclusive() (unlock func(), err error) {
	path := filepath.Join(os.TempDir(), "tracelab-landscape-tests.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}
