package bitcask_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

// rssAnon returns the process's resident anonymous memory (heap, malloc) in
// bytes, from /proc/self/status. File-backed pages (the library maps its data
// files) are left out: they are cache, not leaks.
func rssAnon(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Skip("no RssAnon in /proc/self/status")
	return 0
}

func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// A few hundred thousand calls through every allocating path (values copied
// out of C buffers, error messages copied out of C strings, iterators, value
// readers, batches) must not grow the process's memory: each path frees its C
// memory. A leak of the 4 KiB value buffers alone would add ~1.2 GiB.
func TestNoLeaks(t *testing.T) {
	iterations := 150_000
	if testing.Short() {
		iterations = 30_000
	}
	db, _ := openTemp(t, bitcask.WithMaxFileSize(8<<20))
	const keys = 512
	val := bytes.Repeat([]byte("0123456789abcdef"), 256) // 4 KiB
	small := []byte("small value")
	keyOf := func(p string, i int) []byte { return []byte(fmt.Sprintf("%s%04d", p, i%keys)) }
	for i := 0; i < keys; i++ {
		if err := db.Put(keyOf("r", i), val); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 8192)
	round := func(i int) {
		if err := db.Put(keyOf("w", i), small); err != nil {
			t.Fatal(err)
		}
		v, err := db.Get(keyOf("r", i))
		if err != nil || len(v) != len(val) {
			t.Fatalf("Get: %d bytes, %v", len(v), err)
		}
		if _, err := db.GetInto(keyOf("r", i), buf); err != nil {
			t.Fatal(err)
		}
		// Error paths: a malloc'd message copied and freed; a not-found.
		if err := db.Put(nil, small); !errors.Is(err, bitcask.ErrInvalidArgument) {
			t.Fatal(err)
		}
		if _, err := db.Get(keyOf("missing", i)); !errors.Is(err, bitcask.ErrNotFound) {
			t.Fatal(err)
		}
		if _, err := db.GetInto(keyOf("r", i), buf[:10]); !errors.Is(err, bitcask.ErrBufferTooSmall) {
			t.Fatal(err)
		}
		if i%100 == 0 {
			r, err := db.OpenValue(keyOf("r", i))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.ReadAt(buf[:4096], 0); err != nil {
				t.Fatal(err)
			}
			r.Close()
			b := db.Batch()
			b.Put(keyOf("b", i), small)
			b.Delete(keyOf("b", i+1))
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			b.Close()
		}
		if i%5000 == 0 {
			n := 0
			for range db.All() {
				n++
			}
			if _, err := db.Stats(); err != nil {
				t.Fatal(err)
			}
		}
	}
	warm := iterations / 5
	for i := 0; i < warm; i++ {
		round(i)
	}
	settle()
	before := rssAnon(t)
	for i := warm; i < iterations; i++ {
		round(i)
	}
	settle()
	after := rssAnon(t)
	growth := after - before
	t.Logf("RssAnon after warm-up %d KiB, after %d more rounds %d KiB (growth %d KiB)",
		before>>10, iterations-warm, after>>10, growth>>10)
	const slack = 48 << 20
	if growth > slack {
		t.Fatalf("RssAnon grew by %d KiB over %d rounds: a leak?", growth>>10, iterations-warm)
	}
}
