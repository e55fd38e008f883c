package raftstore

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func testStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func testLog(idx uint64, data string) *raft.Log {
	return &raft.Log{
		Index: idx, Term: idx / 3, Type: raft.LogCommand, Data: []byte(data),
		Extensions: []byte("ext-" + data), AppendedAt: time.Unix(1700000000, int64(idx)),
	}
}

func storeRange(t *testing.T, s *Store, lo, hi uint64) {
	t.Helper()
	var logs []*raft.Log
	for i := lo; i <= hi; i++ {
		logs = append(logs, testLog(i, "log"+string(rune('a'+i%26))))
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
}

func bounds(t *testing.T, s *Store) (uint64, uint64) {
	t.Helper()
	f, err := s.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	return f, l
}

func TestFirstLastIndex(t *testing.T) {
	s, _ := testStore(t)
	if f, l := bounds(t, s); f != 0 || l != 0 {
		t.Fatalf("empty store: first %d last %d, want 0 0", f, l)
	}
	storeRange(t, s, 1, 3)
	if f, l := bounds(t, s); f != 1 || l != 3 {
		t.Fatalf("first %d last %d, want 1 3", f, l)
	}
	if err := s.StoreLog(testLog(4, "d")); err != nil {
		t.Fatal(err)
	}
	if f, l := bounds(t, s); f != 1 || l != 4 {
		t.Fatalf("after StoreLog: first %d last %d, want 1 4", f, l)
	}
}

func TestGetLogRoundTrip(t *testing.T) {
	s, _ := testStore(t)
	var got raft.Log
	if err := s.GetLog(1, &got); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("missing entry: %v, want ErrLogNotFound", err)
	}
	want := testLog(7, "hello")
	empty := &raft.Log{Index: 8, Term: 2, Type: raft.LogNoop}
	if err := s.StoreLogs([]*raft.Log{want, empty}); err != nil {
		t.Fatal(err)
	}
	if err := s.GetLog(7, &got); err != nil {
		t.Fatal(err)
	}
	if got.Index != 7 || got.Term != want.Term || got.Type != want.Type || !bytes.Equal(got.Data, want.Data) ||
		!bytes.Equal(got.Extensions, want.Extensions) || !got.AppendedAt.Equal(want.AppendedAt) {
		t.Fatalf("got %+v, want %+v", got, *want)
	}
	if err := s.GetLog(8, &got); err != nil {
		t.Fatal(err)
	}
	if got.Index != 8 || got.Type != raft.LogNoop || got.Data != nil || !got.AppendedAt.IsZero() {
		t.Fatalf("got %+v, want an empty noop at 8", got)
	}
}

func TestDeleteRange(t *testing.T) {
	s, _ := testStore(t)
	storeRange(t, s, 1, 10)
	// head truncation, as after a snapshot
	if err := s.DeleteRange(0, 4); err != nil {
		t.Fatal(err)
	}
	if f, l := bounds(t, s); f != 5 || l != 10 {
		t.Fatalf("after head delete: first %d last %d, want 5 10", f, l)
	}
	var got raft.Log
	for i := uint64(1); i <= 10; i++ {
		err := s.GetLog(i, &got)
		if (i < 5) != errors.Is(err, raft.ErrLogNotFound) {
			t.Fatalf("GetLog(%d): %v", i, err)
		}
	}
	// tail truncation, as after a conflict
	if err := s.DeleteRange(8, 10); err != nil {
		t.Fatal(err)
	}
	if f, l := bounds(t, s); f != 5 || l != 7 {
		t.Fatalf("after tail delete: first %d last %d, want 5 7", f, l)
	}
	// everything
	if err := s.DeleteRange(0, ^uint64(0)); err != nil {
		t.Fatal(err)
	}
	if f, l := bounds(t, s); f != 0 || l != 0 {
		t.Fatalf("after deleting all: first %d last %d, want 0 0", f, l)
	}
	storeRange(t, s, 20, 21)
	if f, l := bounds(t, s); f != 20 || l != 21 {
		t.Fatalf("after refill: first %d last %d, want 20 21", f, l)
	}
}

// A range bigger than one delete batch, and the indexes recovered from the
// keys when the store is reopened.
func TestDeleteRangeLargeAndReopen(t *testing.T) {
	s, dir := testStore(t)
	const n = 3*deleteChunk + 17
	storeRange(t, s, 1, n)
	if err := s.DeleteRange(1, n-5); err != nil {
		t.Fatal(err)
	}
	if f, l := bounds(t, s); f != n-4 || l != n {
		t.Fatalf("first %d last %d, want %d %d", f, l, n-4, n)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 42); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if f, l := bounds(t, s2); f != n-4 || l != n {
		t.Fatalf("reopened: first %d last %d, want %d %d", f, l, n-4, n)
	}
	if v, err := s2.GetUint64([]byte("CurrentTerm")); err != nil || v != 42 {
		t.Fatalf("reopened stable value: %d %v", v, err)
	}
	var got raft.Log
	if err := s2.GetLog(n, &got); err != nil || got.Index != n {
		t.Fatalf("reopened GetLog: %+v %v", got, err)
	}
	// Stable keys never count as log entries, even one 8 bytes long.
	if err := s2.Set([]byte("12345678"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	s3, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if f, l := bounds(t, s3); f != n-4 || l != n {
		t.Fatalf("reopened again: first %d last %d", f, l)
	}
}

func TestStable(t *testing.T) {
	s, _ := testStore(t)
	v, err := s.Get([]byte("missing"))
	if err != nil || v == nil || len(v) != 0 {
		t.Fatalf("missing key: %q %v, want an empty slice", v, err)
	}
	if err := s.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get: %q %v", v, err)
	}
	if n, err := s.GetUint64([]byte("n")); err != nil || n != 0 {
		t.Fatalf("missing uint64: %d %v", n, err)
	}
	if err := s.SetUint64([]byte("n"), 1<<40+3); err != nil {
		t.Fatal(err)
	}
	if n, err := s.GetUint64([]byte("n")); err != nil || n != 1<<40+3 {
		t.Fatalf("GetUint64: %d %v", n, err)
	}
	if _, err := s.GetUint64([]byte("k")); err == nil {
		t.Fatal("GetUint64 of a 1-byte value: no error")
	}
}

func TestDecodeRejectsBadEntries(t *testing.T) {
	good := encodeLog(nil, testLog(3, "x"))
	var l raft.Log
	if err := decodeLog(good, &l); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(good); i++ {
		if err := decodeLog(good[:i], &l); err == nil {
			t.Fatalf("truncated to %d bytes: no error", i)
		}
	}
	bad := append([]byte{}, good...)
	bad[0] = 9
	if err := decodeLog(bad, &l); err == nil {
		t.Fatal("unknown version: no error")
	}
	if err := decodeLog(append(good, 0), &l); err == nil {
		t.Fatal("trailing byte: no error")
	}
	if !reflect.DeepEqual(l.Data, []byte("x")) {
		t.Fatalf("data %q", l.Data)
	}
}
