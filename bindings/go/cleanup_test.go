package bitcask_test

import (
	"errors"
	"runtime"
	"testing"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

// A DB dropped without Close is closed by the runtime.AddCleanup safety net:
// its write lock is released once the garbage collector has run the cleanup.
func TestCleanupClosesForgottenDB(t *testing.T) {
	dir := t.TempDir()
	func() {
		db, err := bitcask.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Put([]byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		// Forgotten: iterators, readers and batches too.
		db.Iter()
		if _, err := db.OpenValue([]byte("k")); err != nil {
			t.Fatal(err)
		}
		db.Batch()
	}()
	// Cleanups run on a runtime goroutine after a GC cycle: retry a bounded
	// number of times rather than assume when.
	var db *bitcask.DB
	var err error
	for i := 0; i < 200; i++ {
		runtime.GC()
		db, err = bitcask.Open(dir)
		if !errors.Is(err, bitcask.ErrLocked) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the forgotten DB's lock was never released: %v", err)
	}
	defer db.Close()
	if got := mustGet(t, db, "k"); got != "v" {
		t.Fatal(got)
	}
}
