package bitcask_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

// A checkpoint taken while goroutines write holds every write acknowledged
// before it and opens as a store of its own.
func TestCheckpoint(t *testing.T) {
	db, dir := openTemp(t, bitcask.WithMaxFileSize(4096))
	for i := 0; i < 500; i++ {
		mustPut(t, db, fmt.Sprintf("k%03d", i), fmt.Sprintf("v%03d", i))
	}
	if err := db.Delete([]byte("k007")); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if err := db.Put([]byte(fmt.Sprintf("live-%d-%d", w, i%200)), []byte("during")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	dest := filepath.Join(t.TempDir(), "ckpt")
	err := db.Checkpoint(dest)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "after", "x")

	c, err := bitcask.Open(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 500; i++ {
		k := fmt.Sprintf("k%03d", i)
		v, err := c.Get([]byte(k))
		if i == 7 {
			if !errors.Is(err, bitcask.ErrNotFound) {
				t.Fatalf("deleted %s: %q, %v", k, v, err)
			}
			continue
		}
		if err != nil || string(v) != fmt.Sprintf("v%03d", i) {
			t.Fatalf("%s: %q, %v", k, v, err)
		}
	}
	if _, err := c.Get([]byte("after")); !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatalf("a write after the checkpoint is in it: %v", err)
	}

	// Existing destinations, empty or not, and the store itself are refused by name.
	empty := t.TempDir()
	for _, d := range []string{dest, empty, dir} {
		err := db.Checkpoint(d)
		var e *bitcask.Error
		if !errors.Is(err, bitcask.ErrInvalidArgument) || !errors.As(err, &e) ||
			!strings.Contains(e.Msg, d) || e.Op != "checkpoint" {
			t.Fatalf("Checkpoint(%s) = %v", d, err)
		}
	}
	if err := db.Checkpoint(""); !errors.Is(err, bitcask.ErrInvalidArgument) {
		t.Fatalf("Checkpoint(\"\") = %v", err)
	}
	if err := db.Checkpoint("a\x00b"); !errors.Is(err, bitcask.ErrInvalidArgument) {
		t.Fatalf("Checkpoint(NUL) = %v", err)
	}
	if err := db.Checkpoint(filepath.Join(empty, "no", "parent")); !errors.Is(err, bitcask.ErrIO) {
		t.Fatalf("Checkpoint(missing parent) = %v", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("a refused checkpoint left %v", entries)
	}
}

func TestCheckpointReadOnlyAndClosed(t *testing.T) {
	dir := t.TempDir()
	db, err := bitcask.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "a", "1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Checkpoint(filepath.Join(t.TempDir(), "c")); !errors.Is(err, bitcask.ErrClosed) {
		t.Fatalf("Checkpoint on a closed DB = %v", err)
	}
	ro, err := bitcask.Open(dir, bitcask.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	dest := filepath.Join(t.TempDir(), "c")
	if err := ro.Checkpoint(dest); err != nil {
		t.Fatal(err)
	}
	c, err := bitcask.Open(dest, bitcask.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := mustGet(t, c, "a"); got != "1" {
		t.Fatalf("a = %q", got)
	}
}

func TestCaptureCheckpointWrittenLater(t *testing.T) {
	dir := t.TempDir()
	db, err := bitcask.Open(filepath.Join(dir, "store"), bitcask.WithMaxFileSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		if err := db.Put([]byte(fmt.Sprintf("k%d", i)), []byte("before")); err != nil {
			t.Fatal(err)
		}
	}
	c, err := db.CaptureCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		if err := db.Put([]byte(fmt.Sprintf("k%d", i)), []byte("after")); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "ckpt")
	if err := c.Write(dest); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(dest); !errors.Is(err, bitcask.ErrInvalidArgument) {
		t.Fatalf("second write to the same dir: %v", err)
	}
	if err := c.Write(""); !errors.Is(err, bitcask.ErrInvalidArgument) {
		t.Fatalf("empty dir: %v", err)
	}
	c.Close()
	c.Close()
	if err := c.Write(filepath.Join(dir, "later")); !errors.Is(err, bitcask.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	ck, err := bitcask.Open(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	for i := 0; i < 500; i++ {
		v, err := ck.Get([]byte(fmt.Sprintf("k%d", i)))
		if err != nil || string(v) != "before" {
			t.Fatalf("k%d = %q, %v", i, v, err)
		}
	}
	if _, err := db.CaptureCheckpoint(); !errors.Is(err, bitcask.ErrClosed) {
		t.Fatalf("capture on a closed DB: %v", err)
	}
}
