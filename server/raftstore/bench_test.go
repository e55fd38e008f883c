package raftstore

import (
	"testing"

	raftbench "github.com/hashicorp/raft/bench"
)

// hashicorp/raft's LogStore and StableStore benchmarks, the ones
// raft-boltdb runs on its store.
func benchStore(b *testing.B, fn func(*testing.B, *Store)) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fn(b, s)
}

func BenchmarkFirstIndex(b *testing.B) {
	benchStore(b, func(b *testing.B, s *Store) { raftbench.FirstIndex(b, s) })
}
func BenchmarkLastIndex(b *testing.B) {
	benchStore(b, func(b *testing.B, s *Store) { raftbench.LastIndex(b, s) })
}
func BenchmarkGetLog(b *testing.B) {
	benchStore(b, func(b *testing.B, s *Store) { raftbench.GetLog(b, s) })
}
func BenchmarkStoreLog(b *testing.B) {
	benchStore(b, func(b *testing.B, s *Store) { raftbench.StoreLog(b, s) })
}
func BenchmarkStoreLogs(b *testing.B) {
	benchStore(b, func(b *testing.B, s *Store) { raftbench.StoreLogs(b, s) })
}
func BenchmarkDeleteRange(b *testing.B) {
	benchStore(b, func(b *testing.B, s *Store) { raftbench.DeleteRange(b, s) })
}
func BenchmarkSet(b *testing.B) { benchStore(b, func(b *testing.B, s *Store) { raftbench.Set(b, s) }) }
func BenchmarkGet(b *testing.B) { benchStore(b, func(b *testing.B, s *Store) { raftbench.Get(b, s) }) }
func BenchmarkSetUint64(b *testing.B) {
	benchStore(b, func(b *testing.B, s *Store) { raftbench.SetUint64(b, s) })
}
func BenchmarkGetUint64(b *testing.B) {
	benchStore(b, func(b *testing.B, s *Store) { raftbench.GetUint64(b, s) })
}
