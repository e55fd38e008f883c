// Package bitcask is the Go binding of libbitcask, a Bitcask-style key-value
// store: every key lives in an in-memory index, every value in append-only
// data files, so a read is one lookup and at most one disk read.
//
// The binding calls the library's C ABI through cgo. Keys and values are
// handed to C without copying (the library copies what it keeps); values read
// back are copied into Go memory once and the C buffer freed at once.
//
//	db, err := bitcask.Open("/var/lib/app/kv", bitcask.WithSync(bitcask.SyncAlways))
//	if err != nil { ... }
//	defer db.Close()
//	err = db.Put([]byte("k"), []byte("v"))
//	v, err := db.Get([]byte("k"))
//	if errors.Is(err, bitcask.ErrNotFound) { ... }
//
// # Concurrency
//
// A [*DB] may be used by any number of goroutines at once: reads run in
// parallel, writes are serialized inside the library. [DB.Close] waits for
// calls in flight and makes every later call return [ErrClosed]. An [*Iter]
// or [*Batch] belongs to one goroutine at a time; a [*Value]'s ReadAt may be
// called concurrently. Iterators and value readers stay usable after the DB
// that made them is closed (they read a snapshot).
//
// # Errors
//
// Failures are *[Error] values carrying the operation, the C status code and
// the library's message; each matches the sentinel of its code ([ErrNotFound],
// [ErrLocked], [ErrCorrupt], ...) under [errors.Is]. The message is read on
// the OS thread that made the failing call, inside the same cgo call.
//
// # Resources
//
// A [DB], [Iter], [Batch] or [Value] that becomes unreachable without being
// closed is closed by a [runtime.AddCleanup] safety net. Do not rely on it:
// the DB's write lock is held, and its final sync is pending, until then.
//
// # Linking
//
// Inside the libbitcask repository the cgo directives point at
// target/release, so `cargo build --release` followed by `go test` works with
// no environment variables. See README.md for linking outside it.
package bitcask
