package main

import "strconv"

// reply accumulates a connection's replies (one per command) until the
// pipeline is flushed. proto is the RESP version the client chose with HELLO
// (2 by default, as in Redis): it decides how nulls, maps and doubles look.
type reply struct {
	b     []byte
	proto int
}

func (r *reply) ok()             { r.b = append(r.b, "+OK\r\n"...) }
func (r *reply) simple(s string) { r.b = appendLine(r.b, '+', s) }
func (r *reply) err(s string)    { r.b = appendLine(r.b, '-', s) }
func (r *reply) int(n int64)     { r.b = appendPrefix(r.b, ':', n) }
func (r *reply) array(n int)     { r.b = appendPrefix(r.b, '*', int64(n)) }
func (r *reply) bool(b bool)     { r.int(boolInt(b)) }
func (r *reply) bulkInt(n int64) { var a [24]byte; r.bulk(strconv.AppendInt(a[:0], n, 10)) }

func (r *reply) bulk(v []byte) {
	r.b = append(appendPrefix(r.b, '$', int64(len(v))), v...)
	r.b = append(r.b, '\r', '\n')
}

func (r *reply) bulkStr(s string) {
	r.b = append(appendPrefix(r.b, '$', int64(len(s))), s...)
	r.b = append(r.b, '\r', '\n')
}

func (r *reply) strings(ss []string) {
	r.array(len(ss))
	for _, s := range ss {
		r.bulkStr(s)
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// null is the nil bulk string of RESP2 ($-1) or RESP3's null (_).
func (r *reply) null() {
	if r.proto >= 3 {
		r.b = append(r.b, "_\r\n"...)
	} else {
		r.b = append(r.b, "$-1\r\n"...)
	}
}

// nullArray is RESP2's nil array (*-1) or RESP3's null.
func (r *reply) nullArray() {
	if r.proto >= 3 {
		r.b = append(r.b, "_\r\n"...)
	} else {
		r.b = append(r.b, "*-1\r\n"...)
	}
}

// mapHeader starts a map of n pairs: RESP3 %n, RESP2 a flat array of 2n.
func (r *reply) mapHeader(n int) {
	if r.proto >= 3 {
		r.b = append(r.b, '%')
		r.b = strconv.AppendInt(r.b, int64(n), 10)
		r.b = append(r.b, '\r', '\n')
	} else {
		r.array(2 * n)
	}
}

// double is RESP3's double (,1.5) or, in RESP2, its bulk string.
func (r *reply) double(f float64) {
	if r.proto >= 3 {
		r.b = append(r.b, ',')
		r.b = strconv.AppendFloat(r.b, f, 'g', -1, 64)
		r.b = append(r.b, '\r', '\n')
	} else {
		r.bulkStr(strconv.FormatFloat(f, 'g', -1, 64))
	}
}

// set starts a set of n elements: RESP3 ~n, RESP2 an array.
func (r *reply) setHeader(n int) {
	if r.proto >= 3 {
		r.b = append(r.b, '~')
		r.b = strconv.AppendInt(r.b, int64(n), 10)
		r.b = append(r.b, '\r', '\n')
	} else {
		r.array(n)
	}
}

// verbatim is INFO's reply: RESP3 verbatim text (=len\r\ntxt:...), else bulk.
func (r *reply) verbatim(s string) {
	if r.proto >= 3 {
		r.b = append(r.b, '=')
		r.b = strconv.AppendInt(r.b, int64(len(s)+4), 10)
		r.b = append(r.b, "\r\ntxt:"...)
		r.b = append(r.b, s...)
		r.b = append(r.b, '\r', '\n')
	} else {
		r.bulkStr(s)
	}
}

func appendPrefix(b []byte, c byte, n int64) []byte {
	b = append(b, c)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// appendLine writes a simple string or error; CR and LF, which would end it
// early, become spaces (as Redis does for error messages).
func appendLine(b []byte, c byte, s string) []byte {
	b = append(b, c)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '\r' || ch == '\n' {
			ch = ' '
		}
		b = append(b, ch)
	}
	return append(b, '\r', '\n')
}
