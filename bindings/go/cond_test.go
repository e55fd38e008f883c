package bitcask_test

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

func TestConditionalWrites(t *testing.T) {
	db, _ := openTemp(t)
	k := []byte("k")
	if v, err := db.Version(k); err != nil || v != bitcask.VersionAbsent {
		t.Fatalf("Version(missing) = %d, %v", v, err)
	}
	if _, err := db.GetVersioned(k); !errors.Is(err, bitcask.ErrNotFound) {
		t.Fatalf("GetVersioned(missing): %v", err)
	}
	b := db.Batch()
	defer b.Close()
	absent := bitcask.Condition{Key: k, Version: bitcask.VersionAbsent}
	if err := b.Put(k, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitIf(absent); err != nil {
		t.Fatalf("CommitIf(absent) on a missing key: %v", err)
	}
	_ = b.Put(k, []byte("two"))
	err := b.CommitIf(absent)
	var e *bitcask.Error
	if !errors.Is(err, bitcask.ErrConditionFailed) || !errors.As(err, &e) || e.Code != bitcask.CodeConditionFailed {
		t.Fatalf("CommitIf(absent) on a live key: %v", err)
	}
	if b.Len() != 1 || mustGet(t, db, "k") != "one" {
		t.Fatalf("failed CommitIf: batch len %d, value %q", b.Len(), mustGet(t, db, "k"))
	}
	b.Reset()

	got, err := db.GetVersioned(k)
	if err != nil || string(got.Value) != "one" || !got.ExpiresAt.IsZero() || got.Version == bitcask.VersionAbsent {
		t.Fatalf("GetVersioned = %+v, %v", got, err)
	}
	if info, err := db.GetExpiry(k); err != nil || info.Value != nil || info.Version != got.Version {
		t.Fatalf("GetExpiry = %+v, %v", info, err)
	}
	at := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	_ = b.PutExpiring(k, []byte("three"), at)
	_ = b.Put([]byte("other"), []byte("x"))
	if err := b.CommitIf(bitcask.Condition{Key: k, Version: got.Version}, bitcask.Condition{Key: []byte("other"), Version: bitcask.VersionAbsent}); err != nil {
		t.Fatalf("CommitIf(current version): %v", err)
	}
	now, err := db.GetVersioned(k)
	if err != nil || string(now.Value) != "three" || !now.ExpiresAt.Equal(at) || now.Version == got.Version {
		t.Fatalf("after CAS: %+v, %v (want expiry %v)", now, err, at)
	}
	_ = b.Put(k, []byte("four"))
	if err := b.CommitIf(bitcask.Condition{Key: k, Version: got.Version}); !errors.Is(err, bitcask.ErrConditionFailed) {
		t.Fatalf("stale CommitIf: %v", err)
	}
	b.Reset()
	// Expired counts as absent; an empty batch is just a check.
	if err := db.PutExpiring([]byte("gone"), []byte("x"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitIf(bitcask.Condition{Key: []byte("gone")}); err != nil {
		t.Fatalf("CommitIf(expired is absent): %v", err)
	}
	if err := b.CommitIf(bitcask.Condition{}); !errors.Is(err, bitcask.ErrInvalidArgument) {
		t.Fatalf("CommitIf(empty key): %v", err)
	}
	if err := b.CommitIf(); err != nil {
		t.Fatalf("CommitIf() with nothing: %v", err)
	}
}

func TestConditionalIncrementsAreExact(t *testing.T) {
	db, _ := openTemp(t)
	key := []byte("n")
	const workers, rounds = 16, 100
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := db.Batch()
			defer b.Close()
			for i := 0; i < rounds; i++ {
				for {
					cur, err := db.GetVersioned(key)
					n := 0
					if err == nil {
						n, _ = strconv.Atoi(string(cur.Value))
					} else if !errors.Is(err, bitcask.ErrNotFound) {
						t.Error(err)
						return
					}
					_ = b.Put(key, []byte(strconv.Itoa(n+1)))
					err = b.CommitIf(bitcask.Condition{Key: key, Version: cur.Version})
					if err == nil {
						break
					}
					if !errors.Is(err, bitcask.ErrConditionFailed) {
						t.Error(err)
						return
					}
					b.Reset()
				}
			}
		}()
	}
	wg.Wait()
	if got := mustGet(t, db, "n"); got != strconv.Itoa(workers*rounds) {
		t.Fatalf("counter = %s, want %d", got, workers*rounds)
	}
}
