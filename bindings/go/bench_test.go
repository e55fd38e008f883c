package bitcask_test

import (
	"bytes"
	"fmt"
	"testing"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
	"github.com/libbitcask/libbitcask/bindings/go/internal/cbench"
)

// The benchmarks come in pairs: BenchmarkGet/go through the binding and
// BenchmarkGet/c the same calls made from a loop in C (one cgo call for all
// b.N operations), so the difference is the cost of cgo plus the binding.
// Same store options, key set and value size on both sides.

const (
	benchKeys   = 10_000
	benchKeyLen = 16
	benchValLen = 100
)

func benchKeySet() ([][]byte, []byte) {
	flat := make([]byte, 0, benchKeys*benchKeyLen)
	keys := make([][]byte, benchKeys)
	for i := range keys {
		k := fmt.Appendf(nil, "bench-key-%06d", i)
		if len(k) != benchKeyLen {
			panic("key length")
		}
		keys[i] = k
		flat = append(flat, k...)
	}
	return keys, flat
}

var benchVal = bytes.Repeat([]byte("v"), benchValLen)

func benchOpen(b *testing.B) (*bitcask.DB, *cbench.DB, [][]byte) {
	b.Helper()
	keys, flat := benchKeySet()
	db, err := bitcask.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	cdb, err := cbench.Open(b.TempDir(), flat, benchKeyLen)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cdb.Close)
	for _, k := range keys {
		if err := db.Put(k, benchVal); err != nil {
			b.Fatal(err)
		}
	}
	if err := cdb.Put(benchVal, benchKeys); err != nil {
		b.Fatal(err)
	}
	return db, cdb, keys
}

func BenchmarkGet(b *testing.B) {
	db, cdb, keys := benchOpen(b)
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := db.Get(keys[i%benchKeys]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("c", func(b *testing.B) {
		if err := cdb.Get(b.N); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkGetInto(b *testing.B) {
	db, cdb, keys := benchOpen(b)
	buf := make([]byte, 4096)
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := db.GetInto(keys[i%benchKeys], buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("c", func(b *testing.B) {
		if err := cdb.GetInto(b.N); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkGetParallel(b *testing.B) {
	db, _, keys := benchOpen(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := db.Get(keys[i%benchKeys]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkPut(b *testing.B) {
	db, cdb, keys := benchOpen(b)
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := db.Put(keys[i%benchKeys], benchVal); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("c", func(b *testing.B) {
		if err := cdb.Put(benchVal, b.N); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkBatchPut: one op is one committed batch of size puts; the
// ns/put metric divides by the batch size.
func BenchmarkBatchPut(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			db, cdb, keys := benchOpen(b)
			b.Run("go", func(b *testing.B) {
				batch := db.Batch()
				defer batch.Close()
				k := 0
				for b.Loop() {
					for j := 0; j < size; j++ {
						if err := batch.Put(keys[k%benchKeys], benchVal); err != nil {
							b.Fatal(err)
						}
						k++
					}
					if err := batch.Commit(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/put")
			})
			b.Run("c", func(b *testing.B) {
				if err := cdb.Batch(benchVal, size, b.N); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/put")
			})
		})
	}
}
