package bitcask

/*
#include "bcgo.h"
*/
import "C"

import (
	"errors"
	"strconv"
	"unsafe"
)

// Status codes of the C library (the BC_* constants of bitcask.h), as found in
// [Error.Code].
const (
	CodeOK              = 0  // BC_OK
	CodeNotFound        = 1  // BC_NOT_FOUND
	CodeInvalidArgument = 2  // BC_INVALID_ARGUMENT
	CodeIO              = 3  // BC_IO
	CodeCorruption      = 4  // BC_CORRUPTION
	CodeLocked          = 5  // BC_LOCKED
	CodeReadOnly        = 6  // BC_READ_ONLY
	CodeInternal        = 7  // BC_INTERNAL
	CodeBufferTooSmall  = 8  // BC_BUFFER_TOO_SMALL
	CodeBusy            = 9  // BC_BUSY
	codeDone            = 10 // BC_DONE
	CodeConditionFailed = 11 // BC_CONDITION_FAILED
	notFoundMessage     = "key not found"

	conditionFailedMessage = "a condition failed: a key's version changed"
)

// Each code must equal its C macro: a difference makes one of the two
// conversions a negative constant to uint, a compile error.
const (
	_ = uint(CodeOK-C.BC_OK) + uint(C.BC_OK-CodeOK)
	_ = uint(CodeNotFound-C.BC_NOT_FOUND) + uint(C.BC_NOT_FOUND-CodeNotFound)
	_ = uint(CodeInvalidArgument-C.BC_INVALID_ARGUMENT) + uint(C.BC_INVALID_ARGUMENT-CodeInvalidArgument)
	_ = uint(CodeIO-C.BC_IO) + uint(C.BC_IO-CodeIO)
	_ = uint(CodeCorruption-C.BC_CORRUPTION) + uint(C.BC_CORRUPTION-CodeCorruption)
	_ = uint(CodeLocked-C.BC_LOCKED) + uint(C.BC_LOCKED-CodeLocked)
	_ = uint(CodeReadOnly-C.BC_READ_ONLY) + uint(C.BC_READ_ONLY-CodeReadOnly)
	_ = uint(CodeInternal-C.BC_INTERNAL) + uint(C.BC_INTERNAL-CodeInternal)
	_ = uint(CodeBufferTooSmall-C.BC_BUFFER_TOO_SMALL) + uint(C.BC_BUFFER_TOO_SMALL-CodeBufferTooSmall)
	_ = uint(CodeBusy-C.BC_BUSY) + uint(C.BC_BUSY-CodeBusy)
	_ = uint(codeDone-C.BC_DONE) + uint(C.BC_DONE-codeDone)
	_ = uint(CodeConditionFailed-C.BC_CONDITION_FAILED) + uint(C.BC_CONDITION_FAILED-CodeConditionFailed)
)

// Sentinel errors, one per C status, for use with [errors.Is]. Errors returned
// by this package are *[Error] values (except [ErrClosed]) whose Is method
// matches the sentinel of their Code, so
//
//	if errors.Is(err, bitcask.ErrNotFound) { ... }
//
// works, and [errors.As] with a *bitcask.Error gives the operation, the code
// and the library's message.
var (
	// ErrNotFound: the key has no live value (never written, deleted or expired).
	ErrNotFound = errors.New("bitcask: key not found")
	// ErrInvalidArgument: an empty or oversized key, an oversized value, an
	// out-of-range option, or a directory that is not a store.
	ErrInvalidArgument = errors.New("bitcask: invalid argument")
	// ErrIO: the operating system failed an operation; the message names the
	// file and the OS error. Writes can be retried.
	ErrIO = errors.New("bitcask: I/O error")
	// ErrCorrupt: bytes on disk failed their checksum. No wrong bytes are
	// ever returned instead.
	ErrCorrupt = errors.New("bitcask: data corruption")
	// ErrLocked: another handle (in this or another process) holds the
	// directory's write lock.
	ErrLocked = errors.New("bitcask: store is locked")
	// ErrReadOnly: a write through a handle opened with [WithReadOnly].
	ErrReadOnly = errors.New("bitcask: store is read-only")
	// ErrInternal: a bug in libbitcask (for example a caught panic). The
	// handle stays usable.
	ErrInternal = errors.New("bitcask: internal error")
	// ErrBufferTooSmall: the buffer given to [DB.GetInto] cannot hold the
	// value; [Error.Needed] (and GetInto's int result) is the length needed.
	ErrBufferTooSmall = errors.New("bitcask: buffer too small")
	// ErrBusy: the operation conflicts with one already running (for
	// example a second merge).
	ErrBusy = errors.New("bitcask: busy")
	// ErrClosed is returned, as is, by every method of a [DB], [Iter],
	// [Batch] or [Value] after its Close.
	ErrClosed = errors.New("bitcask: closed")
	// ErrConditionFailed: a [Condition] of [Batch.CommitIf] did not hold (a
	// key's version changed since it was read); nothing was written.
	ErrConditionFailed = errors.New("bitcask: condition failed")
)

var sentinels = [...]error{
	CodeNotFound:        ErrNotFound,
	CodeInvalidArgument: ErrInvalidArgument,
	CodeIO:              ErrIO,
	CodeCorruption:      ErrCorrupt,
	CodeLocked:          ErrLocked,
	CodeReadOnly:        ErrReadOnly,
	CodeInternal:        ErrInternal,
	CodeBufferTooSmall:  ErrBufferTooSmall,
	CodeBusy:            ErrBusy,
	codeDone:            nil,
	CodeConditionFailed: ErrConditionFailed,
}

var codeNames = [...]string{
	CodeOK:              "BC_OK",
	CodeNotFound:        "BC_NOT_FOUND",
	CodeInvalidArgument: "BC_INVALID_ARGUMENT",
	CodeIO:              "BC_IO",
	CodeCorruption:      "BC_CORRUPTION",
	CodeLocked:          "BC_LOCKED",
	CodeReadOnly:        "BC_READ_ONLY",
	CodeInternal:        "BC_INTERNAL",
	CodeBufferTooSmall:  "BC_BUFFER_TOO_SMALL",
	CodeBusy:            "BC_BUSY",
	codeDone:            "BC_DONE",
	CodeConditionFailed: "BC_CONDITION_FAILED",
}

// CodeName returns the C name of a status code ("BC_NOT_FOUND", ...), or
// "BC_UNKNOWN(n)".
func CodeName(code int) string {
	if code >= 0 && code < len(codeNames) && codeNames[code] != "" {
		return codeNames[code]
	}
	return "BC_UNKNOWN(" + strconv.Itoa(code) + ")"
}

// Error is a failure reported by libbitcask.
type Error struct {
	// Op is the operation that failed: "open", "get", "put", "batch.commit"...
	Op string
	// Code is the C status (one of the Code* constants).
	Code int
	// Msg is libbitcask's message for the failure, read by bc_last_error on
	// the OS thread that made the call, within the same cgo call.
	Msg string
	// Needed is, for CodeBufferTooSmall, the buffer length the value needs;
	// 0 otherwise.
	Needed int
}

// Error returns "bitcask: OP: MESSAGE (BC_CODE)".
func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = "failed"
	}
	return "bitcask: " + e.Op + ": " + msg + " (" + CodeName(e.Code) + ")"
}

// Is reports whether target is the sentinel of e's Code (ErrNotFound for
// CodeNotFound, ...), so errors.Is(err, bitcask.ErrLocked) works.
func (e *Error) Is(target error) bool {
	return e.Code >= 0 && e.Code < len(sentinels) && sentinels[e.Code] != nil &&
		sentinels[e.Code] == target
}

// newError turns a failed status into an *Error, taking ownership of msg (a
// malloc'd copy of bc_last_error made by a shim, or NULL).
func newError(op string, rc C.int32_t, msg *C.char) *Error {
	e := &Error{Op: op, Code: int(rc)}
	switch {
	case msg != nil:
		e.Msg = C.GoString(msg)
		C.free(unsafe.Pointer(msg))
	case e.Code == CodeNotFound:
		// The header documents BC_NOT_FOUND's message as this constant;
		// the shims skip copying it so a miss costs no extra allocation.
		e.Msg = notFoundMessage
	default:
		e.Msg = CodeName(e.Code)
	}
	return e
}

// check converts a shim status into an error (nil for BC_OK).
func check(op string, s C.bcgo_status) error {
	if s.rc == C.BC_OK {
		return nil
	}
	return newError(op, s.rc, s.msg)
}

// argError is an invalid argument detected on the Go side, before any C call.
func argError(op, msg string) *Error {
	return &Error{Op: op, Code: CodeInvalidArgument, Msg: msg}
}
