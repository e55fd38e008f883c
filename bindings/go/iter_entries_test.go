package bitcask_test

import (
	"errors"
	"testing"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

// Entries gives each key's value and expiry as of the snapshot, even after
// the key is rewritten with another expiry.
func TestIterEntries(t *testing.T) {
	db, dir := openTemp(t)
	at := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	mustPut(t, db, "plain", "p")
	if err := db.PutExpiring([]byte("exp"), []byte("e"), at); err != nil {
		t.Fatal(err)
	}
	it := db.Iter()
	if err := db.PutExpiring([]byte("exp"), []byte("later"), at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "new", "n")
	got := map[string]bitcask.Entry{}
	for e := range it.Entries() {
		got[string(e.Key)] = e
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("entries %v, want plain and exp", got)
	}
	if e := got["plain"]; string(e.Value) != "p" || !e.ExpiresAt.IsZero() {
		t.Fatalf("plain: %+v", e)
	}
	if e := got["exp"]; string(e.Value) != "e" || !e.ExpiresAt.Equal(at) {
		t.Fatalf("exp: %+v, want value e expiring at %v", e, at)
	}
	// An iterator of a closed store yields nothing and says why.
	db2, err := bitcask.Open(dir + "-2")
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
	it = db2.Iter()
	for range it.Entries() {
		t.Fatal("an entry from a closed store")
	}
	if !errors.Is(it.Err(), bitcask.ErrClosed) {
		t.Fatalf("Err = %v, want ErrClosed", it.Err())
	}
}
