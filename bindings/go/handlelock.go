package bitcask

import (
	"math/rand/v2"
	"sync"
	"unsafe"
)

// lockShards is the number of read locks a handle's close lock is split into:
// a power of two, well above the number of cores that call at once.
const lockShards = 32

// handleLock keeps bc_close from running beside another call on the same
// handle: every call holds one shard for reading while it uses the handle, and
// Close holds all of them for writing.
//
// One sync.RWMutex would do the same, but then every call of every goroutine
// writes the same cache line (the reader count) twice, and two goroutines
// reading at once on two cores ran no faster than one. A call takes a shard
// chosen at random (math/rand/v2's generator has per-thread state, so choosing
// shares nothing), so concurrent calls almost always write different lines.
type handleLock struct {
	shards [lockShards]paddedRWMutex
}

// paddedRWMutex fills two cache lines, so neighbouring shards never share one
// (the adjacent-line prefetcher pairs lines).
type paddedRWMutex struct {
	sync.RWMutex
	_ [128 - unsafe.Sizeof(sync.RWMutex{})]byte
}

// rlock takes one shard for reading and returns which, for runlock.
func (l *handleLock) rlock() uint32 {
	i := rand.Uint32() & (lockShards - 1)
	l.shards[i].RLock()
	return i
}

func (l *handleLock) runlock(i uint32) { l.shards[i].RUnlock() }

// lock takes every shard for writing, in order (so two writers cannot deadlock).
func (l *handleLock) lock() {
	for i := range l.shards {
		l.shards[i].Lock()
	}
}

func (l *handleLock) unlock() {
	for i := range l.shards {
		l.shards[i].Unlock()
	}
}
