package bitcask_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

func TestIter(t *testing.T) {
	db, _ := openTemp(t)
	want := map[string]string{}
	for i := 0; i < 100; i++ {
		k, v := fmt.Sprintf("key%03d", i), fmt.Sprintf("val%d", i)
		mustPut(t, db, k, v)
		want[k] = v
	}
	mustPut(t, db, "gone", "x")
	if err := db.Delete([]byte("gone")); err != nil {
		t.Fatal(err)
	}
	if err := db.PutExpiring([]byte("expired"), []byte("x"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}

	it := db.Iter()
	// Writes after the snapshot are not seen.
	mustPut(t, db, "later", "x")
	mustPut(t, db, "key000", "changed")
	got := map[string]string{}
	for k, v := range it.All() {
		got[string(k)] = string(v)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("All yielded %d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("All: %s = %q, want %q", k, got[k], v)
		}
	}
	// A used iterator yields nothing more.
	for range it.All() {
		t.Fatal("exhausted iterator yielded again")
	}

	var keys []string
	for k := range db.Keys() {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	if len(keys) != 101 || keys[0] != "key000" || keys[100] != "later" {
		t.Fatalf("Keys = %d keys: %v...", len(keys), keys[:3])
	}
	n := 0
	for k, v := range db.All() {
		if string(k) == "key000" && string(v) != "changed" {
			t.Fatalf("db.All sees old value %q", v)
		}
		n++
	}
	if n != 101 {
		t.Fatalf("db.All yielded %d", n)
	}

	// Breaking out early frees the iterator; Err stays nil.
	it = db.Iter()
	for range it.Keys() {
		break
	}
	if it.Err() != nil {
		t.Fatal(it.Err())
	}
	it.Close() // no-op after the loop
	// An iterator that is never ranged can be closed.
	db.Iter().Close()
}

func TestIterKeysAreCopies(t *testing.T) {
	db, _ := openTemp(t)
	for i := 0; i < 10; i++ {
		mustPut(t, db, fmt.Sprint("k", i), fmt.Sprint("v", i))
	}
	var ks, vs [][]byte
	for k, v := range db.All() {
		ks, vs = append(ks, k), append(vs, v)
	}
	for i := range ks {
		if "v"+strings.TrimPrefix(string(ks[i]), "k") != string(vs[i]) {
			t.Fatalf("pair %q=%q corrupted after iteration", ks[i], vs[i])
		}
	}
}

func TestBatch(t *testing.T) {
	db, _ := openTemp(t)
	mustPut(t, db, "old", "1")
	b := db.Batch()
	defer b.Close()
	for i := 0; i < 100; i++ {
		if err := b.Put([]byte(fmt.Sprint("b", i)), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Delete([]byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := b.PutWithTTL([]byte("ttl"), []byte("t"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 102 {
		t.Fatalf("Len = %d", b.Len())
	}
	// Nothing is visible before Commit.
	if _, err := db.Get([]byte("b0")); !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatalf("uncommitted put visible: %v", err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Fatalf("Len after Commit = %d", b.Len())
	}
	if got := mustGet(t, db, "b99"); got != "99" {
		t.Fatal(got)
	}
	if got := mustGet(t, db, "ttl"); got != "t" {
		t.Fatal(got)
	}
	if _, err := db.Get([]byte("old")); !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatalf("batch delete: %v", err)
	}
	// Invalid operations are rejected when added.
	if err := b.Put(nil, []byte("v")); !errors.Is(err, bitcask.ErrInvalidArgument) {
		t.Fatalf("batch Put(empty key) = %v", err)
	}
	if err := b.PutWithTTL([]byte("k"), nil, -time.Second); !errors.Is(err, bitcask.ErrInvalidArgument) {
		t.Fatalf("batch negative ttl = %v", err)
	}
	// Reuse, Reset, empty commit.
	b.Put([]byte("x"), []byte("y"))
	b.Reset()
	if b.Len() != 0 {
		t.Fatal("Reset left operations")
	}
	if err := b.Commit(); err != nil {
		t.Fatalf("empty commit: %v", err)
	}
	if _, err := db.Get([]byte("x")); !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatal("reset operation was committed")
	}
	b.Close()
	b.Close()
	if err := b.Put([]byte("k"), nil); !errors.Is(err, bitcask.ErrClosed) {
		t.Fatalf("Put on closed batch: %v", err)
	}
	if err := b.Commit(); !errors.Is(err, bitcask.ErrClosed) {
		t.Fatalf("Commit on closed batch: %v", err)
	}
	if b.Len() != 0 {
		t.Fatal("Len of closed batch")
	}
}

// Readers never observe half a batch.
func TestBatchAtomicVisibility(t *testing.T) {
	db, _ := openTemp(t)
	const n = 50
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte(fmt.Sprint("acct", i))
	}
	write := func(gen int) error {
		b := db.Batch()
		defer b.Close()
		for _, k := range keys {
			if err := b.Put(k, []byte(fmt.Sprint(gen))); err != nil {
				return err
			}
		}
		return b.Commit()
	}
	if err := write(0); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// An iterator snapshot sees one generation for all keys.
				seen := map[string]bool{}
				it := db.Iter()
				for _, v := range it.All() {
					seen[string(v)] = true
				}
				if it.Err() != nil || len(seen) != 1 {
					errc <- fmt.Errorf("snapshot saw generations %v (err %v)", seen, it.Err())
					return
				}
			}
		}()
	}
	for gen := 1; gen <= 200; gen++ {
		if err := write(gen); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestValueReader(t *testing.T) {
	db, _ := openTemp(t)
	big := make([]byte, 3<<20+123)
	for i := range big {
		big[i] = byte(i * 7 >> 3)
	}
	if err := db.Put([]byte("big"), big); err != nil {
		t.Fatal(err)
	}
	v, err := db.OpenValue([]byte("big"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Size() != int64(len(big)) {
		t.Fatalf("Size = %d", v.Size())
	}
	// The standard library's checks of Read, ReadAt and Seek (on a smaller
	// value: it reads in tiny pieces).
	mid := big[:100_000]
	if err := db.Put([]byte("mid"), mid); err != nil {
		t.Fatal(err)
	}
	mv, err := db.OpenValue([]byte("mid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := iotest.TestReader(mv, mid); err != nil {
		t.Fatal(err)
	}
	mv.Close()
	// The reader keeps its version across an overwrite, a delete and a merge.
	if err := db.Put([]byte("big"), []byte("small now")); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete([]byte("big")); err != nil {
		t.Fatal(err)
	}
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if n, err := io.Copy(&out, v); err != nil || n != int64(len(big)) || !bytes.Equal(out.Bytes(), big) {
		t.Fatalf("io.Copy after overwrite+delete+merge: %d, %v", n, err)
	}
	// ReadAt past the end, negative offsets.
	buf := make([]byte, 10)
	if n, err := v.ReadAt(buf, v.Size()); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt(end) = %d, %v", n, err)
	}
	if n, err := v.ReadAt(buf, v.Size()-4); n != 4 || err != io.EOF || !bytes.Equal(buf[:4], big[len(big)-4:]) {
		t.Fatalf("ReadAt(end-4) = %d, %v", n, err)
	}
	if _, err := v.ReadAt(buf, -1); err == nil {
		t.Fatal("ReadAt(-1) succeeded")
	}
	if _, err := v.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("Seek(-1) succeeded")
	}
	// Concurrent ReadAt.
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, 4096)
			off := int64(g * 100_000)
			if n, err := v.ReadAt(p, off); err != nil || n != len(p) || !bytes.Equal(p, big[off:off+4096]) {
				t.Errorf("concurrent ReadAt(%d): %d, %v", off, n, err)
			}
		}()
	}
	wg.Wait()
	v.Close()
	v.Close()
	if _, err := v.ReadAt(buf, 0); !errors.Is(err, bitcask.ErrClosed) {
		t.Fatalf("ReadAt after Close: %v", err)
	}
	if _, err := v.Read(buf); !errors.Is(err, bitcask.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if _, err := db.OpenValue([]byte("big")); !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatalf("OpenValue(deleted): %v", err)
	}
}

func TestValueEmpty(t *testing.T) {
	db, _ := openTemp(t)
	mustPut(t, db, "e", "")
	v, err := db.OpenValue([]byte("e"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	b, err := io.ReadAll(v)
	if err != nil || len(b) != 0 || v.Size() != 0 {
		t.Fatalf("empty value: %q, %v", b, err)
	}
}
