package bitcask_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

func TestVersion(t *testing.T) {
	if got := bitcask.Version(); got != bitcask.HeaderVersion {
		t.Fatalf("library version %q, header version %q", got, bitcask.HeaderVersion)
	}
}

func TestPutGetDelete(t *testing.T) {
	db, _ := openTemp(t)
	mustPut(t, db, "a", "1")
	mustPut(t, db, "b", "2")
	mustPut(t, db, "a", "3")
	if got := mustGet(t, db, "a"); got != "3" {
		t.Fatalf("Get(a) = %q, want 3", got)
	}
	if got := mustGet(t, db, "b"); got != "2" {
		t.Fatalf("Get(b) = %q, want 2", got)
	}
	if err := db.Delete([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get([]byte("a")); !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatalf("Get(deleted) err = %v, want ErrNotFound", err)
	}
	// Deleting a missing key succeeds.
	if err := db.Delete([]byte("never")); err != nil {
		t.Fatalf("Delete(missing) = %v", err)
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyValueAndBinary(t *testing.T) {
	db, _ := openTemp(t)
	if err := db.Put([]byte("empty"), nil); err != nil {
		t.Fatal(err)
	}
	v, err := db.Get([]byte("empty"))
	if err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Get(empty) = %v (nil=%v), %v; want non-nil empty slice", v, v == nil, err)
	}
	key := []byte{0, 1, 2, 0xff, 0}
	val := bytes.Repeat([]byte{0, 0xfe}, 5000)
	if err := db.Put(key, val); err != nil {
		t.Fatal(err)
	}
	got, err := db.Get(key)
	if err != nil || !bytes.Equal(got, val) {
		t.Fatalf("binary round trip failed: %v", err)
	}
}

func TestNotFoundError(t *testing.T) {
	db, _ := openTemp(t)
	_, err := db.Get([]byte("missing"))
	if !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if errors.Is(err, bitcask.ErrIO) || errors.Is(err, bitcask.ErrClosed) {
		t.Fatalf("err %v matches the wrong sentinels", err)
	}
	var e *bitcask.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %T is not *bitcask.Error", err)
	}
	if e.Op != "get" || e.Code != bitcask.CodeNotFound || e.Msg != "key not found" {
		t.Fatalf("error = %+v", *e)
	}
	// Wrapped errors still match.
	wrapped := fmt.Errorf("loading: %w", err)
	if !errors.Is(wrapped, bitcask.ErrNotFound) {
		t.Fatal("wrapped error does not match ErrNotFound")
	}
}

func TestInvalidArguments(t *testing.T) {
	db, _ := openTemp(t)
	cases := []struct {
		name string
		err  error
		msg  string
	}{
		{"empty key put", db.Put(nil, []byte("v")), "empty"},
		{"empty key get", func() error { _, err := db.Get([]byte{}); return err }(), "empty"},
		{"empty key delete", db.Delete(nil), "empty"},
		{"oversized key", db.Put(make([]byte, bitcask.MaxKeyLen+1), nil), fmt.Sprint(bitcask.MaxKeyLen + 1)},
		{"zero ttl", db.PutWithTTL([]byte("k"), nil, 0), "ttl"},
	}
	for _, c := range cases {
		var e *bitcask.Error
		if !errors.As(c.err, &e) || !errors.Is(c.err, bitcask.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", c.name, c.err)
			continue
		}
		if !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%s: message %q does not mention %q", c.name, e.Msg, c.msg)
		}
	}
	// A key of exactly the maximum length is fine.
	if err := db.Put(make([]byte, bitcask.MaxKeyLen), []byte("v")); err != nil {
		t.Fatalf("max-length key: %v", err)
	}
}

// Each failing call must report its own message, even with many goroutines
// failing at once on different OS threads (the message is thread-local in C).
func TestErrorMessagesPerCall(t *testing.T) {
	db, _ := openTemp(t)
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				n := bitcask.MaxKeyLen + 1 + g*1000 + i
				err := db.Put(make([]byte, n), nil)
				var e *bitcask.Error
				if !errors.As(err, &e) || !strings.Contains(e.Msg, fmt.Sprintf("key of %d bytes", n)) {
					errc <- fmt.Errorf("goroutine %d: oversized key of %d bytes gave %v", g, n, err)
					return
				}
				// Interleave a different failure and a success on the same goroutine.
				if _, err := db.Get([]byte(fmt.Sprintf("missing-%d", i))); !errors.Is(err, bitcask.ErrNotFound) {
					errc <- fmt.Errorf("missing key gave %v", err)
					return
				}
				if err := db.Put([]byte(fmt.Sprintf("g%d-%d", g, i)), []byte("v")); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestLocked(t *testing.T) {
	_, dir := openTemp(t)
	_, err := bitcask.Open(dir)
	if !errors.Is(err, bitcask.ErrLocked) {
		t.Fatalf("second writer: err = %v, want ErrLocked", err)
	}
	var e *bitcask.Error
	if !errors.As(err, &e) || e.Op != "open" || !strings.Contains(e.Msg, filepath.Base(dir)) {
		t.Fatalf("locked error should name the directory: %v", err)
	}
}

func TestReadOnly(t *testing.T) {
	db, dir := openTemp(t)
	mustPut(t, db, "k", "v")
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	// A read-only handle can run beside the writer.
	ro, err := bitcask.Open(dir, bitcask.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got := mustGet(t, ro, "k"); got != "v" {
		t.Fatalf("read-only Get = %q", got)
	}
	for name, err := range map[string]error{
		"put":    ro.Put([]byte("x"), []byte("y")),
		"delete": ro.Delete([]byte("k")),
		"merge":  ro.Merge(),
	} {
		if !errors.Is(err, bitcask.ErrReadOnly) {
			t.Errorf("%s on read-only: %v, want ErrReadOnly", name, err)
		}
	}
	b := ro.Batch()
	defer b.Close()
	if err := b.Put([]byte("x"), []byte("y")); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); !errors.Is(err, bitcask.ErrReadOnly) {
		t.Fatalf("batch commit on read-only: %v", err)
	}
	if b.Len() != 1 {
		t.Fatalf("failed commit changed the batch: Len = %d", b.Len())
	}
	if need, err := ro.NeedsMerge(); err != nil || need {
		t.Fatalf("NeedsMerge on read-only = %v, %v", need, err)
	}
}

func TestCreateIfMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	_, err := bitcask.Open(dir, bitcask.WithCreateIfMissing(false))
	if !errors.Is(err, bitcask.ErrIO) {
		t.Fatalf("missing dir without create: %v, want ErrIO", err)
	}
	db, err := bitcask.Open(dir, bitcask.WithCreateIfMissing(true))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}

func TestOpenInvalid(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		path string
		opts []bitcask.Option
	}{
		"empty path":          {"", nil},
		"NUL in path":         {"a\x00b", nil},
		"not a directory":     {file, nil},
		"tiny max file size":  {t.TempDir(), []bitcask.Option{bitcask.WithMaxFileSize(10)}},
		"negative file size":  {t.TempDir(), []bitcask.Option{bitcask.WithMaxFileSize(-1)}},
		"unknown sync mode":   {t.TempDir(), []bitcask.Option{bitcask.WithSync(bitcask.SyncMode(9))}},
		"zero sync interval":  {t.TempDir(), []bitcask.Option{bitcask.WithSyncInterval(0)}},
		"huge sync interval":  {t.TempDir(), []bitcask.Option{bitcask.WithSyncInterval(1 << 62)}},
		"frag trigger > 100":  {t.TempDir(), []bitcask.Option{bitcask.WithFragMergeTrigger(101)}},
		"frag threshold < 0":  {t.TempDir(), []bitcask.Option{bitcask.WithFragThreshold(-1)}},
		"merge window hour":   {t.TempDir(), []bitcask.Option{bitcask.WithMergeWindow(0, 24)}},
		"zero check interval": {t.TempDir(), []bitcask.Option{bitcask.WithMergeCheckInterval(0)}},
	}
	for name, c := range cases {
		db, err := bitcask.Open(c.path, c.opts...)
		if err == nil {
			db.Close()
			t.Errorf("%s: Open succeeded", name)
			continue
		}
		var e *bitcask.Error
		if !errors.Is(err, bitcask.ErrInvalidArgument) || !errors.As(err, &e) || e.Msg == "" {
			t.Errorf("%s: err = %v, want ErrInvalidArgument with a message", name, err)
		}
	}
}

func TestAllOptions(t *testing.T) {
	for _, mode := range []bitcask.SyncMode{bitcask.SyncNone, bitcask.SyncAlways, bitcask.SyncInterval} {
		t.Run(mode.String(), func(t *testing.T) {
			db, dir := openTemp(t,
				bitcask.WithSync(mode),
				bitcask.WithSyncInterval(5*time.Millisecond),
				bitcask.WithMaxFileSize(4096),
				bitcask.WithCreateIfMissing(true),
				bitcask.WithFragMergeTrigger(50),
				bitcask.WithDeadBytesMergeTrigger(1<<20),
				bitcask.WithFragThreshold(30),
				bitcask.WithDeadBytesThreshold(1<<20),
				bitcask.WithSmallFileThreshold(1<<20),
				bitcask.WithAutoMerge(false),
				bitcask.WithMergeWindow(22, 6),
				bitcask.WithMergeCheckInterval(time.Second),
			)
			for i := 0; i < 200; i++ {
				mustPut(t, db, fmt.Sprintf("k%03d", i), strings.Repeat("x", 100))
			}
			st, err := db.Stats()
			if err != nil {
				t.Fatal(err)
			}
			// 200 records of >100 bytes in files of 4 KiB: several files.
			if st.DataFiles < 2 || st.LiveKeys != 200 {
				t.Fatalf("stats %+v: want >= 2 files and 200 keys", st)
			}
			_ = dir
		})
	}
	for _, s := range []string{"none", "always", "interval"} {
		m, err := bitcask.ParseSyncMode(s)
		if err != nil || m.String() != s {
			t.Fatalf("ParseSyncMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := bitcask.ParseSyncMode("sometimes"); !errors.Is(err, bitcask.ErrInvalidArgument) {
		t.Fatal(err)
	}
}

func TestTTLAndExpiry(t *testing.T) {
	db, _ := openTemp(t)
	k := []byte("k")
	if err := db.PutWithTTL(k, []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, db, "k"); got != "v" {
		t.Fatal(got)
	}
	// An expiry in the past: stored, but reads as missing.
	if err := db.PutExpiring(k, []byte("old"), time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get(k); !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatalf("expired key: %v", err)
	}
	// Before the epoch is "already expired", not "never".
	if err := db.PutExpiring(k, []byte("older"), time.Unix(-100, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get(k); !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatalf("pre-epoch expiry: %v", err)
	}
	// The zero Time means never.
	if err := db.PutExpiring(k, []byte("forever"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, db, "k"); got != "forever" {
		t.Fatal(got)
	}
	// A 1 ms TTL has certainly passed after sleeping 20 ms.
	if err := db.PutWithTTL([]byte("short"), []byte("v"), time.Microsecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := db.Get([]byte("short")); !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatalf("short TTL key: %v", err)
	}
}

func TestGetInto(t *testing.T) {
	db, _ := openTemp(t)
	mustPut(t, db, "k", "hello")
	buf := make([]byte, 16)
	n, err := db.GetInto([]byte("k"), buf)
	if err != nil || n != 5 || string(buf[:n]) != "hello" {
		t.Fatalf("GetInto = %d, %v, %q", n, err, buf[:n])
	}
	exact := make([]byte, 5)
	if n, err := db.GetInto([]byte("k"), exact); err != nil || n != 5 || string(exact) != "hello" {
		t.Fatalf("exact buffer: %d, %v", n, err)
	}
	small := []byte("abc")
	n, err = db.GetInto([]byte("k"), small)
	if !errors.Is(err, bitcask.ErrBufferTooSmall) || n != 5 {
		t.Fatalf("small buffer: %d, %v; want 5, ErrBufferTooSmall", n, err)
	}
	var e *bitcask.Error
	if !errors.As(err, &e) || e.Needed != 5 || e.Msg == "" {
		t.Fatalf("small buffer error: %+v", e)
	}
	if string(small) != "abc" {
		t.Fatalf("buffer written on ErrBufferTooSmall: %q", small)
	}
	if n, err := db.GetInto([]byte("k"), nil); !errors.Is(err, bitcask.ErrBufferTooSmall) || n != 5 {
		t.Fatalf("nil buffer: %d, %v", n, err)
	}
	if n, err := db.GetInto([]byte("missing"), buf); !errors.Is(err, bitcask.ErrNotFound) || n != 0 {
		t.Fatalf("missing: %d, %v", n, err)
	}
	mustPut(t, db, "empty", "")
	if n, err := db.GetInto([]byte("empty"), nil); err != nil || n != 0 {
		t.Fatalf("empty value into nil buffer: %d, %v", n, err)
	}
	for k, want := range map[string]bool{"k": true, "empty": true, "missing": false} {
		if has, err := db.Has([]byte(k)); err != nil || has != want {
			t.Fatalf("Has(%q) = %v, %v", k, has, err)
		}
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	db, err := bitcask.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "k", "v")
	it := db.Iter() // made before Close: stays usable
	v, err := db.OpenValue([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	b := db.Batch()
	defer b.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	checks := map[string]error{
		"put":         db.Put([]byte("k"), nil),
		"put_ttl":     db.PutWithTTL([]byte("k"), nil, time.Hour),
		"put_exp":     db.PutExpiring([]byte("k"), nil, time.Time{}),
		"delete":      db.Delete([]byte("k")),
		"sync":        db.Sync(),
		"merge":       db.Merge(),
		"iter":        db.Iter().Err(),
		"batchCommit": b.Commit(),
	}
	_, checks["get"] = db.Get([]byte("k"))
	_, checks["get_into"] = db.GetInto([]byte("k"), nil)
	_, checks["value"] = db.OpenValue([]byte("k"))
	_, checks["stats"] = db.Stats()
	_, checks["needs_merge"] = db.NeedsMerge()
	for name, err := range checks {
		if !errors.Is(err, bitcask.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	for range db.Keys() {
		t.Fatal("Keys on a closed DB yielded a key")
	}
	// Snapshot and reader made before Close still work.
	n := 0
	for k := range it.Keys() {
		if string(k) != "k" {
			t.Fatalf("key %q", k)
		}
		n++
	}
	if n != 1 || it.Err() != nil {
		t.Fatalf("iterator after Close: %d keys, %v", n, it.Err())
	}
	buf := make([]byte, 8)
	if n, err := v.ReadAt(buf, 0); n != 1 || string(buf[:1]) != "v" {
		t.Fatalf("value after Close: %d, %v", n, err)
	}
	v.Close()
	// The lock was released.
	db2, err := bitcask.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, db2, "k"); got != "v" {
		t.Fatal(got)
	}
	db2.Close()
}

// Close while other goroutines are using the DB: every call either works or
// returns ErrClosed, and the race detector sees no race.
func TestCloseDuringUse(t *testing.T) {
	db, err := bitcask.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errc := make(chan error, 32)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; ; i++ {
				key := []byte(fmt.Sprintf("g%d-%d", g, i%50))
				err := db.Put(key, key)
				if err == nil {
					_, err = db.Get(key)
				}
				if errors.Is(err, bitcask.ErrClosed) {
					return
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	close(start)
	for i := 0; i < 100; i++ {
		mustPut(t, db, "x", "y") // let the workers run a little
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestConcurrentReadersWriters(t *testing.T) {
	db, _ := openTemp(t)
	const goroutines, ops = 8, 2000
	var wg sync.WaitGroup
	errc := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for i := 0; i < ops; i++ {
				k := []byte(fmt.Sprintf("g%d-k%d", g, i%100))
				v := []byte(fmt.Sprintf("value-%d-%d", g, i))
				if err := db.Put(k, v); err != nil {
					errc <- err
					return
				}
				got, err := db.Get(k)
				if err != nil || !bytes.Equal(got, v) {
					errc <- fmt.Errorf("Get(%s) = %q, %v; want %q", k, got, err, v)
					return
				}
				n, err := db.GetInto(k, buf)
				if err != nil || !bytes.Equal(buf[:n], v) {
					errc <- fmt.Errorf("GetInto(%s) = %q, %v", k, buf[:n], err)
					return
				}
				if i%500 == 0 {
					for range db.Keys() {
					}
					if _, err := db.Stats(); err != nil {
						errc <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	st, err := db.Stats()
	if err != nil || st.LiveKeys != goroutines*100 {
		t.Fatalf("stats %+v, %v", st, err)
	}
}

func TestStats(t *testing.T) {
	db, _ := openTemp(t)
	for i := 0; i < 10; i++ {
		mustPut(t, db, fmt.Sprint(i), "v")
	}
	mustPut(t, db, "0", "again")
	st, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.LiveKeys != 10 || st.DataFiles != 1 || len(st.Files) != 1 || st.TotalBytes == 0 ||
		st.DeadBytes == 0 || st.KeydirBytes == 0 || st.Files[0].TotalBytes != st.TotalBytes {
		t.Fatalf("unexpected stats %+v", st)
	}
	raw, err := db.StatsJSON()
	if err != nil || !bytes.HasPrefix(raw, []byte("{")) || !bytes.Contains(raw, []byte(`"live_keys":10`)) {
		t.Fatalf("StatsJSON = %s, %v", raw, err)
	}
}

func TestMerge(t *testing.T) {
	db, _ := openTemp(t, bitcask.WithMaxFileSize(4096), bitcask.WithFragMergeTrigger(10))
	val := strings.Repeat("v", 200)
	for round := 0; round < 5; round++ {
		for i := 0; i < 50; i++ {
			mustPut(t, db, fmt.Sprintf("k%02d", i), fmt.Sprint(round, val))
		}
	}
	for i := 0; i < 25; i++ {
		if err := db.Delete([]byte(fmt.Sprintf("k%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	need, err := db.NeedsMerge()
	if err != nil || !need {
		t.Fatalf("NeedsMerge = %v, %v; want true", need, err)
	}
	before, _ := db.Stats()
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	after, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if after.TotalBytes >= before.TotalBytes || after.MergesCompleted != before.MergesCompleted+1 {
		t.Fatalf("merge did not compact: before %+v after %+v", before, after)
	}
	for i := 0; i < 50; i++ {
		k := fmt.Sprintf("k%02d", i)
		v, err := db.Get([]byte(k))
		if i < 25 {
			if !errors.Is(err, bitcask.ErrNotFound) {
				t.Fatalf("deleted %s after merge: %v", k, err)
			}
		} else if err != nil || string(v) != fmt.Sprint(4, val) {
			t.Fatalf("%s after merge: %v", k, err)
		}
	}
}

// Both keydir modes read the same directory; the hashed one holds no key bytes and says
// so in its stats.
func TestKeydirModesShareTheDirectory(t *testing.T) {
	dir := t.TempDir()
	key := func(i int) []byte { return []byte(fmt.Sprintf("a-rather-long-key-of-forty-bytes-%07d", i)) }
	db, err := bitcask.Open(dir, bitcask.WithKeydir(bitcask.KeydirKeys))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20000; i++ {
		if err := db.Put(key(i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	keysStats, _ := db.Stats()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = bitcask.Open(dir, bitcask.WithKeydir(bitcask.KeydirHashed))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Keydir != "hashed" || keysStats.Keydir != "keys" || st.LiveKeys != 20000 {
		t.Fatalf("stats: hashed %+v, keys %+v", st, keysStats)
	}
	if perKey := float64(st.KeydirBytes) / 20000; perKey >= float64(keysStats.KeydirBytes)/20000/2 {
		t.Fatalf("hashed keydir %.1f B/key, keys keydir %.1f B/key", perKey, float64(keysStats.KeydirBytes)/20000)
	}
	for _, i := range []int{0, 777, 19999} {
		v, err := db.Get(key(i))
		if err != nil || len(v) != 1 || v[0] != byte(i) {
			t.Fatalf("get %d: %v %v", i, v, err)
		}
	}
	if err := db.Delete(key(5)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get(key(5)); !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	if _, err := bitcask.ParseKeydirMode("bogus"); !errors.Is(err, bitcask.ErrInvalidArgument) {
		t.Fatalf("ParseKeydirMode: %v", err)
	}
	if _, err := bitcask.Open(t.TempDir(), bitcask.WithKeydir(bitcask.KeydirMode(7))); !errors.Is(err, bitcask.ErrInvalidArgument) {
		t.Fatalf("open with keydir mode 7: %v", err)
	}
}
