package bitcask

/*
#cgo nocallback bcgo_stats_json
#include "bcgo.h"
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// Stats are store-wide counters, from the library's bc_stats_json.
type Stats struct {
	// LiveKeys: keys with a live value (expired keys not yet overwritten are
	// counted until a merge or reopen drops them).
	LiveKeys uint64 `json:"live_keys"`
	// DataFiles: data files in the store.
	DataFiles uint64 `json:"data_files"`
	// TotalBytes: bytes of records in all data files.
	TotalBytes uint64 `json:"total_bytes"`
	// DeadBytes: bytes of records no live key needs (reclaimable by merge).
	DeadBytes uint64 `json:"dead_bytes"`
	// KeydirBytes: RAM held by the index.
	KeydirBytes uint64 `json:"keydir_bytes"`
	// Keydir: the index's mode, "keys" or "hashed" (see [WithKeydir]).
	Keydir string `json:"keydir"`
	// DamagedRanges: damaged byte ranges skipped when the store was opened.
	DamagedRanges uint64 `json:"damaged_ranges"`
	// DamagedBytes: bytes in those ranges.
	DamagedBytes uint64 `json:"damaged_bytes"`
	// DroppedBatchRecords: records of incomplete batches dropped at open.
	DroppedBatchRecords uint64 `json:"dropped_batch_records"`
	// TruncatedBytes: bytes of an interrupted write cut from the newest file
	// at open.
	TruncatedBytes uint64 `json:"truncated_bytes"`
	// HintFallbacks: hint files found damaged or stale at open (their data
	// files were scanned instead).
	HintFallbacks uint64 `json:"hint_fallbacks"`
	// MergesCompleted: merges completed by this handle (explicit and
	// automatic).
	MergesCompleted uint64 `json:"merges_completed"`
	// NeedsMerge: whether the merge triggers say a merge is due (see
	// [DB.NeedsMerge]).
	NeedsMerge bool `json:"needs_merge"`
	// Files: per data file counters, oldest first.
	Files []FileStats `json:"files"`
}

// FileStats are one data file's counters.
type FileStats struct {
	// FileID is the NNNNNN of NNNNNN.data.
	FileID uint32 `json:"file_id"`
	// TotalBytes: bytes of records in the file.
	TotalBytes uint64 `json:"total_bytes"`
	// DeadBytes: bytes of records no live key needs.
	DeadBytes uint64 `json:"dead_bytes"`
	// Fragmentation is DeadBytes / TotalBytes (0 for an empty file).
	Fragmentation float64 `json:"fragmentation"`
}

// StatsJSON returns the library's counters as the JSON object bc_stats_json
// produces (it may hold fields newer than [Stats] knows).
func (db *DB) StatsJSON() ([]byte, error) {
	h, rl := db.rlock()
	if h == nil {
		return nil, ErrClosed
	}
	r := C.bcgo_stats_json(h)
	db.runlock(rl)
	if r.rc != C.BC_OK {
		return nil, newError("stats", r.rc, r.msg)
	}
	b := C.GoBytes(unsafe.Pointer(r.json), C.int(C.strlen(r.json)))
	C.bc_free(unsafe.Pointer(r.json))
	return b, nil
}

// Stats returns the store's counters.
func (db *DB) Stats() (Stats, error) {
	b, err := db.StatsJSON()
	if err != nil {
		return Stats{}, err
	}
	var s Stats
	if err := json.Unmarshal(b, &s); err != nil {
		return Stats{}, &Error{Op: "stats", Code: CodeInternal, Msg: "parsing bc_stats_json: " + err.Error()}
	}
	return s, nil
}
