package bitcask_test

import (
	"testing"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

func openTemp(t testing.TB, opts ...bitcask.Option) (*bitcask.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := bitcask.Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db, dir
}

func mustPut(t testing.TB, db *bitcask.DB, k, v string) {
	t.Helper()
	if err := db.Put([]byte(k), []byte(v)); err != nil {
		t.Fatalf("Put(%q): %v", k, err)
	}
}

func mustGet(t testing.TB, db *bitcask.DB, k string) string {
	t.Helper()
	v, err := db.Get([]byte(k))
	if err != nil {
		t.Fatalf("Get(%q): %v", k, err)
	}
	return string(v)
}
