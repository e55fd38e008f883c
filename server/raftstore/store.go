// Package raftstore is a hashicorp/raft LogStore and StableStore on
// libbitcask (through its Go binding), as raft-boltdb is one on bbolt.
//
// One store (a directory of its own) holds both: log entries under the key
// 'l' + the index as a big-endian uint64, stable values under 's' + their
// key. StoreLogs is one libbitcask batch: one write and, under the default
// sync=always, one fsync for all the entries raft hands over at once.
// FirstIndex and LastIndex are answered from two cached numbers, found at
// Open by a walk over the keys (values are not read) and kept up to date by
// every write. DeleteRange, which raft calls to drop the head of the log
// after a snapshot, writes one tombstone per index in a batch and reads
// nothing; the space is reclaimed by the library's merge.
package raftstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

const (
	logPrefix    = 'l'
	stablePrefix = 's'
	// deleteChunk bounds the tombstones of one DeleteRange batch, so a
	// huge range does not build one huge batch in memory.
	deleteChunk = 4096
)

// Store is a raft.LogStore, raft.StableStore and raft.MonotonicLogStore
// (see IsMonotonic). It is safe for concurrent use.
type Store struct {
	db *bitcask.DB

	mu          sync.Mutex // guards first and last, and orders writes to them
	first, last uint64     // 0, 0 when the log is empty
}

var (
	_ raft.LogStore          = (*Store)(nil)
	_ raft.StableStore       = (*Store)(nil)
	_ raft.MonotonicLogStore = (*Store)(nil)
)

// Open opens (creating it if missing) the store in directory dir. Without
// options the store fsyncs every write before returning (bitcask.SyncAlways),
// which raft's log needs: an entry acknowledged to the leader must survive a
// power cut. Options are passed to bitcask.Open after that default.
func Open(dir string, opts ...bitcask.Option) (*Store, error) {
	o := append([]bitcask.Option{bitcask.WithSync(bitcask.SyncAlways)}, opts...)
	db, err := bitcask.Open(dir, o...)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db}
	if err := s.recover(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// recover finds the first and last index from the keys alone.
func (s *Store) recover() error {
	it := s.db.Iter()
	defer it.Close()
	for k := range it.Keys() {
		if len(k) != 9 || k[0] != logPrefix {
			continue
		}
		idx := binary.BigEndian.Uint64(k[1:])
		if s.first == 0 || idx < s.first {
			s.first = idx
		}
		if idx > s.last {
			s.last = idx
		}
	}
	return it.Err()
}

// DB is the underlying store, for stats, merges and syncs.
func (s *Store) DB() *bitcask.DB { return s.db }

// Close closes the underlying store.
func (s *Store) Close() error { return s.db.Close() }

// IsMonotonic tells raft to delete the whole log after installing a
// snapshot, rather than leave a gap in the indexes: the cached first index
// then stays exact.
func (s *Store) IsMonotonic() bool { return true }

func logKey(idx uint64) []byte {
	var k [9]byte
	k[0] = logPrefix
	binary.BigEndian.PutUint64(k[1:], idx)
	return k[:]
}

// FirstIndex returns the first index written, 0 for an empty log.
func (s *Store) FirstIndex() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first, nil
}

// LastIndex returns the last index written, 0 for an empty log.
func (s *Store) LastIndex() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, nil
}

// GetLog reads the entry at index; raft.ErrLogNotFound if there is none.
func (s *Store) GetLog(index uint64, log *raft.Log) error {
	v, err := s.db.Get(logKey(index))
	if errors.Is(err, bitcask.ErrNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return err
	}
	if err := decodeLog(v, log); err != nil {
		return fmt.Errorf("raftstore: log entry %d: %w", index, err)
	}
	log.Index = index
	return nil
}

// StoreLog stores one entry.
func (s *Store) StoreLog(log *raft.Log) error {
	return s.StoreLogs([]*raft.Log{log})
}

// StoreLogs stores entries as one batch: all of them or, after a crash,
// none.
func (s *Store) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	b := s.db.Batch()
	defer b.Close()
	lo, hi := logs[0].Index, logs[0].Index
	var buf []byte
	for _, l := range logs {
		buf = encodeLog(buf[:0], l)
		if err := b.Put(logKey(l.Index), buf); err != nil {
			return err
		}
		lo, hi = min(lo, l.Index), max(hi, l.Index)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := b.Commit(); err != nil {
		return err
	}
	if s.first == 0 || lo < s.first {
		s.first = lo
	}
	if hi > s.last {
		s.last = hi
	}
	return nil
}

// DeleteRange deletes the entries min..max (inclusive) with tombstones,
// without reading them. Only the part of the range inside the log is
// written, so raft's "delete everything up to N" costs what the log holds.
func (s *Store) DeleteRange(lo, hi uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == 0 || lo > hi {
		return nil
	}
	from, to := max(lo, s.first), min(hi, s.last)
	b := s.db.Batch()
	defer b.Close()
	for i := from; i <= to && from <= to; i++ {
		if err := b.Delete(logKey(i)); err != nil {
			return err
		}
		if b.Len() >= deleteChunk || i == to {
			if err := b.Commit(); err != nil {
				return err
			}
			b.Reset()
			// Keep the cache exact after each chunk, so an error midway
			// leaves it describing what is on disk.
			s.trim(lo, i)
		}
		if i == to {
			break // i+1 would wrap at the top of the range
		}
	}
	s.trim(lo, hi)
	return nil
}

// trim updates first and last after lo..hi was deleted.
func (s *Store) trim(lo, hi uint64) {
	switch {
	case lo <= s.first && hi >= s.last:
		s.first, s.last = 0, 0
	case lo <= s.first && hi >= s.first:
		s.first = hi + 1
	case hi >= s.last && lo <= s.last:
		s.last = lo - 1
	}
}

func stableKey(k []byte) []byte {
	return append([]byte{stablePrefix}, k...)
}

// Set stores a stable value.
func (s *Store) Set(key, val []byte) error {
	return s.db.Put(stableKey(key), val)
}

// Get reads a stable value; an empty slice (and no error) if it is missing,
// as raft's contract asks.
func (s *Store) Get(key []byte) ([]byte, error) {
	v, err := s.db.Get(stableKey(key))
	if errors.Is(err, bitcask.ErrNotFound) {
		return []byte{}, nil
	}
	return v, err
}

// SetUint64 stores a stable number (8 bytes, big-endian).
func (s *Store) SetUint64(key []byte, val uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], val)
	return s.Set(key, b[:])
}

// GetUint64 reads a stable number; 0 if it is missing.
func (s *Store) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil || len(v) == 0 {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("raftstore: stable key %q holds %d bytes, not a uint64", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// An entry's value: version byte 1, term (8 bytes), type (1 byte),
// appended-at (unix ns, 8 bytes), then data and extensions, each as a
// uvarint length and its bytes. Big-endian throughout. The index is the key.
const encVersion = 1

func encodeLog(buf []byte, l *raft.Log) []byte {
	buf = append(buf, encVersion)
	buf = binary.BigEndian.AppendUint64(buf, l.Term)
	buf = append(buf, byte(l.Type))
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	buf = binary.BigEndian.AppendUint64(buf, uint64(at))
	buf = binary.AppendUvarint(buf, uint64(len(l.Data)))
	buf = append(buf, l.Data...)
	buf = binary.AppendUvarint(buf, uint64(len(l.Extensions)))
	buf = append(buf, l.Extensions...)
	return buf
}

var errCorrupt = errors.New("malformed entry")

func decodeLog(b []byte, l *raft.Log) error {
	if len(b) < 18 || b[0] != encVersion {
		return errCorrupt
	}
	l.Term = binary.BigEndian.Uint64(b[1:])
	l.Type = raft.LogType(b[9])
	l.AppendedAt = time.Time{}
	if at := int64(binary.BigEndian.Uint64(b[10:])); at != 0 {
		l.AppendedAt = time.Unix(0, at)
	}
	b = b[18:]
	var err error
	if l.Data, b, err = bytesField(b); err != nil {
		return err
	}
	if l.Extensions, b, err = bytesField(b); err != nil {
		return err
	}
	if len(b) != 0 {
		return errCorrupt
	}
	return nil
}

func bytesField(b []byte) ([]byte, []byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, nil, errCorrupt
	}
	b = b[w:]
	if n == 0 {
		return nil, b, nil
	}
	return b[:n:n], b[n:], nil
}
