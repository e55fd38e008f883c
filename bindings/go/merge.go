package bitcask

/*
#cgo nocallback bcgo_merge
#cgo nocallback bcgo_needs_merge
#include "bcgo.h"
*/
import "C"

import (
	"math"
	"strconv"
	"time"
)

// Merge compacts the store on the calling goroutine's thread (it may take a
// while): it seals the active file, rewrites the live records of every data
// file into new files with hint files, and deletes the old files. Dead
// versions, deleted keys and expired records are dropped.
//
// Other goroutines keep reading and writing meanwhile. A second merge on the
// same DB while one runs fails with an error matching [ErrBusy]; a read-only
// DB gives [ErrReadOnly]. Close waits for a running merge to return.
func (db *DB) Merge() error {
	h, rl := db.rlock()
	if h == nil {
		return ErrClosed
	}
	defer db.runlock(rl)
	return check("merge", C.bcgo_merge(h))
}

// NeedsMerge reports whether the merge triggers ([WithFragMergeTrigger],
// [WithDeadBytesMergeTrigger]) say a merge is due. It reads no file; it is
// always false on a read-only DB.
func (db *DB) NeedsMerge() (bool, error) {
	h, rl := db.rlock()
	if h == nil {
		return false, ErrClosed
	}
	r := C.bcgo_needs_merge(h)
	db.runlock(rl)
	if r.rc != C.BC_OK {
		return false, newError("needs_merge", r.rc, r.msg)
	}
	return bool(r.needed), nil
}

func percentOption(name string, percent int, set func(o *options, p C.uint32_t)) Option {
	return func(o *options) {
		if percent < 0 || percent > math.MaxUint32 {
			o.err = argError("open", name+" must be a percentage 0..100, got "+strconv.Itoa(percent))
			return
		}
		set(o, C.uint32_t(percent)) // over 100: rejected by the library
	}
}

func bytesOption(name string, bytes int64, set func(o *options, b C.uint64_t)) Option {
	return func(o *options) {
		if bytes < 0 {
			o.err = argError("open", name+" must not be negative, got "+strconv.FormatInt(bytes, 10))
			return
		}
		set(o, C.uint64_t(bytes))
	}
}

// WithFragMergeTrigger: a merge is needed once any sealed data file has at
// least this percentage (0..100) of dead bytes. Default 60.
func WithFragMergeTrigger(percent int) Option {
	return percentOption("frag merge trigger", percent, func(o *options, p C.uint32_t) {
		o.c.set_frag_merge_trigger, o.c.frag_merge_trigger = 1, p
	})
}

// WithDeadBytesMergeTrigger: a merge is needed once any sealed data file
// holds at least this many dead bytes. Default 512 MiB.
func WithDeadBytesMergeTrigger(bytes int64) Option {
	return bytesOption("dead bytes merge trigger", bytes, func(o *options, b C.uint64_t) {
		o.c.set_dead_bytes_merge_trigger, o.c.dead_bytes_merge_trigger = 1, b
	})
}

// WithFragThreshold: a triggered merge takes every sealed file with at least
// this percentage (0..100) of dead bytes. Default 40.
func WithFragThreshold(percent int) Option {
	return percentOption("frag threshold", percent, func(o *options, p C.uint32_t) {
		o.c.set_frag_threshold, o.c.frag_threshold = 1, p
	})
}

// WithDeadBytesThreshold: a triggered merge takes every sealed file holding at
// least this many dead bytes. Default 128 MiB.
func WithDeadBytesThreshold(bytes int64) Option {
	return bytesOption("dead bytes threshold", bytes, func(o *options, b C.uint64_t) {
		o.c.set_dead_bytes_threshold, o.c.dead_bytes_threshold = 1, b
	})
}

// WithSmallFileThreshold: a triggered merge also takes every sealed file
// smaller than this, folding small files together. Default 10 MiB.
func WithSmallFileThreshold(bytes int64) Option {
	return bytesOption("small file threshold", bytes, func(o *options, b C.uint64_t) {
		o.c.set_small_file_threshold, o.c.small_file_threshold = 1, b
	})
}

// WithAutoMerge enables the background merge (default off): a library thread
// checks the triggers every merge check interval and, inside the merge window,
// merges the files the thresholds select, without blocking callers.
func WithAutoMerge(enabled bool) Option {
	return func(o *options) {
		o.c.set_auto_merge, o.c.auto_merge = 1, C.bool(enabled)
	}
}

// WithMergeWindow restricts automatic merges to start between startHour
// (inclusive) and endHour (exclusive) of the local day, 0..23 each; the window
// may wrap midnight (22, 6). Equal values (the default 0, 0) mean any time.
func WithMergeWindow(startHour, endHour int) Option {
	return func(o *options) {
		if startHour < 0 || endHour < 0 || startHour > math.MaxUint32 || endHour > math.MaxUint32 {
			o.err = argError("open", "merge window hours must be 0..23, got "+
				strconv.Itoa(startHour)+", "+strconv.Itoa(endHour))
			return
		}
		o.c.set_merge_window = 1
		o.c.merge_window_start = C.uint32_t(startHour) // over 23: rejected by the library
		o.c.merge_window_end = C.uint32_t(endHour)
	}
}

// WithMergeCheckInterval sets how often the background merge checks its
// triggers, rounded up to whole milliseconds (at least 1 ms; default 1 min).
func WithMergeCheckInterval(d time.Duration) Option {
	return func(o *options) {
		ms := durationMs(d)
		if ms > math.MaxUint32 {
			o.err = argError("open", "merge check interval "+d.String()+" is too long")
			return
		}
		o.c.set_merge_check_interval = 1
		o.c.merge_check_interval_ms = C.uint32_t(ms) // 0 for d <= 0: rejected by the library
	}
}
