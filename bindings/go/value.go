package bitcask

/*
#cgo noescape bcgo_value_open
#cgo nocallback bcgo_value_open
#cgo noescape bcgo_value_read_full
#cgo nocallback bcgo_value_read_full
#cgo nocallback bc_value_close
#include "bcgo.h"
*/
import "C"

import (
	"errors"
	"io"
	"runtime"
	"sync"
	"unsafe"
)

// Value reads one version of one value in pieces, for values too large to
// hold in memory at once. It implements [io.Reader], [io.ReaderAt],
// [io.Seeker], [io.WriterTo] and [io.Closer], so io.Copy(w, v) streams it
// through one small buffer.
//
// The whole record's checksum is verified by [DB.OpenValue] before any byte is
// handed out. The reader keeps reading the version current at OpenValue even if
// the key is then overwritten, deleted or merged away, and stays usable after
// its DB is closed.
//
// ReadAt and Size may be called from many goroutines at once; Read, Seek and
// WriteTo share an offset (guarded, but interleaving them from several
// goroutines makes little sense). Close it when done.
type Value struct {
	h       *valueHandle
	size    int64
	cleanup runtime.Cleanup

	offMu sync.Mutex
	off   int64
}

type valueHandle struct {
	mu sync.RWMutex // guards p: readers hold it for reading, close for writing
	p  *C.bc_value
}

func (h *valueHandle) close() bool {
	h.mu.Lock()
	p := h.p
	h.p = nil
	h.mu.Unlock()
	if p != nil {
		C.bc_value_close(p)
	}
	return p != nil
}

// OpenValue opens a reader on key's current value. A missing key gives an error
// matching [ErrNotFound]; a damaged record [ErrCorrupt].
func (db *DB) OpenValue(key []byte) (*Value, error) {
	h, rl := db.rlock()
	if h == nil {
		return nil, ErrClosed
	}
	r := C.bcgo_value_open(h, cbytes(key), C.size_t(len(key)))
	db.runlock(rl)
	if r.rc != C.BC_OK {
		return nil, newError("value_open", r.rc, r.msg)
	}
	v := &Value{h: &valueHandle{p: r.value}, size: int64(r.len)}
	v.cleanup = runtime.AddCleanup(v, func(h *valueHandle) { h.close() }, v.h)
	return v, nil
}

// Size returns the value's length in bytes.
func (v *Value) Size() int64 { return v.size }

var errNegativeOffset = errors.New("bitcask: negative offset")

// ReadAt reads len(p) bytes starting at off, per [io.ReaderAt]: fewer only
// with an error, io.EOF at the end of the value.
func (v *Value) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errNegativeOffset
	}
	v.h.mu.RLock()
	defer v.h.mu.RUnlock()
	if v.h.p == nil {
		return 0, ErrClosed
	}
	if off >= v.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	r := C.bcgo_value_read_full(v.h.p, C.uint64_t(off), (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(p))), C.size_t(len(p)))
	n := int(r.len)
	if r.rc != C.BC_OK {
		return n, newError("value_read", r.rc, r.msg)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Read reads from the current offset, per [io.Reader].
func (v *Value) Read(p []byte) (int, error) {
	v.offMu.Lock()
	defer v.offMu.Unlock()
	if v.off >= v.size {
		if v.isClosed() {
			return 0, ErrClosed
		}
		return 0, io.EOF
	}
	if rest := v.size - v.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := v.ReadAt(p, v.off)
	v.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (v *Value) isClosed() bool {
	v.h.mu.RLock()
	defer v.h.mu.RUnlock()
	return v.h.p == nil
}

// Seek sets the offset for the next Read or WriteTo, per [io.Seeker].
func (v *Value) Seek(offset int64, whence int) (int64, error) {
	v.offMu.Lock()
	defer v.offMu.Unlock()
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = v.off + offset
	case io.SeekEnd:
		abs = v.size + offset
	default:
		return 0, errors.New("bitcask: invalid whence")
	}
	if abs < 0 {
		return 0, errNegativeOffset
	}
	v.off = abs
	return abs, nil
}

// copyBufSize is the chunk WriteTo reads per cgo call.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// WriteTo writes the value from the current offset to w through one pooled
// 256 KiB buffer, per [io.WriterTo] (io.Copy uses it), so a large value is
// never held in memory whole.
func (v *Value) WriteTo(w io.Writer) (int64, error) {
	v.offMu.Lock()
	defer v.offMu.Unlock()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var total int64
	for v.off < v.size {
		chunk := buf
		if rest := v.size - v.off; int64(len(chunk)) > rest {
			chunk = chunk[:rest]
		}
		n, err := v.ReadAt(chunk, v.off)
		if n > 0 {
			v.off += int64(n)
			m, werr := w.Write(chunk[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
			if m < n {
				return total, io.ErrShortWrite
			}
		}
		if err != nil {
			if err == io.EOF {
				break
			}
			return total, err
		}
	}
	return total, nil
}

// Close frees the reader. It waits for ReadAt calls in flight; later reads
// return [ErrClosed]. Closing twice is a no-op. It always returns nil.
func (v *Value) Close() error {
	if v.h.close() {
		v.cleanup.Stop()
	}
	return nil
}
