package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Close() error  { m.closed = true; return nil }
func (m *memSink) Cancel() error { m.cancelled = true; return nil }

func testFSM(t *testing.T) (*fsm, *server) {
	t.Helper()
	f, db, err := openFSM(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(config{maxClients: 10}, db, slog.New(slog.NewTextHandler(io.Discard, nil)), newMetrics())
	f.bind(s)
	t.Cleanup(func() { s.db().Close() })
	return f, s
}

func cmds(c ...[]string) [][][]byte {
	var out [][][]byte
	for _, args := range c {
		var a [][]byte
		for _, s := range args {
			a = append(a, []byte(s))
		}
		out = append(out, a)
	}
	return out
}

// Entries are applied by the server's command code with the leader's clock;
// a snapshot holds the state as of its index, whatever is applied while it
// streams; a restore swaps in a fresh store, and a bad snapshot leaves the
// served store alone.
func TestFSMApplySnapshotRestore(t *testing.T) {
	f, s := testFSM(t)
	leaderNow := time.Now().Add(time.Hour).UnixMilli() // a clock far from this one
	r := f.Apply(&raft.Log{Index: 1, Data: encodeCommands(2, leaderNow, cmds(
		[]string{"SET", "a", "1"}, []string{"incr", "a"}, []string{"set", "e", "v", "EX", "10"}, []string{"set", "b", "x"}, []string{"GET", "a"}))})
	// GET is not a write: never proposed, refused if it ever were.
	want := "+OK\r\n:2\r\n+OK\r\n+OK\r\n-ERR unknown command 'GET', with args beginning with: 'a' \r\n"
	if string(r.([]byte)) != want {
		t.Fatalf("replies %q, want %q", r, want)
	}
	if r := f.Apply(&raft.Log{Index: 2, Data: encodeAddr("n1", "127.0.0.1:7001")}); r != nil {
		t.Fatalf("address entry: %v", r)
	}
	exp, err := s.db().GetExpiry([]byte("e"))
	if err != nil || exp.ExpiresAt.UnixMilli() != leaderNow+10000 {
		t.Fatalf("expiry %v %v, want the leader's clock + 10 s (%d)", exp.ExpiresAt.UnixMilli(), err, leaderNow+10000)
	}
	if f.applied.Load() != 2 {
		t.Fatalf("applied %d", f.applied.Load())
	}

	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Applied after the snapshot was taken: not in it.
	f.Apply(&raft.Log{Index: 3, Data: encodeCommands(3, leaderNow, cmds([]string{"set", "a", "99"}, []string{"del", "b"}, []string{"set", "c", "new"}))})
	var sink memSink
	if err := snap.Persist(&sink); err != nil || !sink.closed {
		t.Fatalf("persist: %v (closed %v)", err, sink.closed)
	}
	snap.Release()

	f2, s2 := testFSM(t)
	if err := f2.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"a": "2", "b": "x", "e": "v"} {
		if v, err := s2.db().Get([]byte(k)); err != nil || string(v) != want {
			t.Fatalf("restored %s = %q %v, want %q", k, v, err, want)
		}
	}
	if ok, _ := s2.db().Has([]byte("c")); ok {
		t.Fatal("a key written after the snapshot is in it")
	}
	if exp, err := s2.db().GetExpiry([]byte("e")); err != nil || exp.ExpiresAt.UnixMilli() != leaderNow+10000 {
		t.Fatalf("restored expiry %v %v", exp.ExpiresAt.UnixMilli(), err)
	}
	if f2.applied.Load() != 2 || f2.addrOf("n1") != "127.0.0.1:7001" {
		t.Fatalf("restored applied %d, addr %q", f2.applied.Load(), f2.addrOf("n1"))
	}
	if _, err := os.Stat(filepath.Join(f2.dir, "fsm-0")); !os.IsNotExist(err) {
		t.Fatalf("the replaced store fsm-0 is still there: %v", err)
	}
	// The served store changed; a batch from the old store's pool is not reused.
	f2.Apply(&raft.Log{Index: 3, Data: encodeCommands(2, leaderNow, cmds([]string{"set", "z", "1"}, []string{"set", "y", "2"}))})
	if v, err := s2.db().Get([]byte("y")); err != nil || string(v) != "2" {
		t.Fatalf("write after restore: %q %v", v, err)
	}

	// A truncated snapshot: an error, the served store untouched, no
	// leftover directory.
	bad := sink.Bytes()[:sink.Len()-3]
	if err := f2.Restore(io.NopCloser(bytes.NewReader(bad))); err == nil {
		t.Fatal("a truncated snapshot restored without error")
	}
	if v, err := s2.db().Get([]byte("z")); err != nil || string(v) != "1" {
		t.Fatalf("after a failed restore: %q %v", v, err)
	}
	if dirs, _ := filepath.Glob(filepath.Join(f2.dir, "fsm-*")); len(dirs) != 1 {
		t.Fatalf("store directories after a failed restore: %v", dirs)
	}
	if err := f2.Restore(io.NopCloser(bytes.NewReader([]byte("not a snapshot at all")))); err == nil {
		t.Fatal("garbage restored without error")
	}
}

func TestDecodeCommandsRejectsBadEntries(t *testing.T) {
	good := encodeCommands(3, 12345, cmds([]string{"set", "k", "v"}, []string{"del", "k"}))
	proto, now, c, err := decodeCommands(good)
	if err != nil || proto != 3 || now != 12345 || len(c) != 2 || string(c[1][0]) != "del" {
		t.Fatalf("round trip: %d %d %q %v", proto, now, c, err)
	}
	for i := 0; i < len(good); i++ {
		if _, _, _, err := decodeCommands(good[:i]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", i)
		}
	}
	if _, _, _, err := decodeCommands(append(good, 0)); err == nil {
		t.Fatal("trailing byte: no error")
	}
	f, _ := testFSM(t)
	if r, ok := f.Apply(&raft.Log{Index: 1, Data: []byte{'x'}}).(error); !ok || r == nil {
		t.Fatal("an unknown entry kind applied without error")
	}
}
