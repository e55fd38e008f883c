package main

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// protoError is a malformed or oversized request: the client gets
// "ERR Protocol error: <msg>" and is disconnected, as Redis does.
type protoError string

func (e protoError) Error() string { return "Protocol error: " + string(e) }

const (
	maxInline = 64 << 10 // Redis PROTO_INLINE_MAX_SIZE: an inline command or a header line
	minBuffer = 16 << 10
)

// limits bound what one request may make the server hold in memory.
type limits struct {
	maxBulk    int64 // longest argument (Redis proto-max-bulk-len)
	maxArgs    int   // most arguments in one command (Redis: 1024*1024)
	maxRequest int64 // largest whole command, headers included (client-query-buffer-limit)
}

// reader parses RESP2 multibulk requests and inline commands from a
// connection. Arguments are slices of its buffer, valid until the next call
// to next; nothing is copied for multibulk requests. Progress on a partial
// request is kept, so a large value arriving in many reads is scanned once.
type reader struct {
	fills uint64 // reads from r that returned data (see readGate)
	r     io.Reader
	lim   limits
	buf   []byte
	start int // first unconsumed byte
	end   int // end of data read
	args  [][]byte

	// progress of the multibulk request at start, while incomplete
	want   int   // arguments announced (0: header not parsed yet)
	pos    int   // offset (from start) of the next unparsed byte
	offs   []int // start/end offsets (from start) of parsed arguments
	reqLen int64 // bytes of the request counted so far
}

func newReader(r io.Reader, lim limits) *reader {
	return &reader{r: r, lim: lim, buf: make([]byte, minBuffer)}
}

// buffered reports whether unparsed bytes are waiting (more pipelined
// requests may be complete without reading). The --raft state machine's
// client has no reader and answers true: the commands of a log entry are
// batched as a pipeline's are.
func (rd *reader) buffered() bool { return rd == nil || rd.end > rd.start }

var errNeedMore = errors.New("need more data")

// next returns the next command's arguments (never empty), reading from the
// connection only when no complete command is buffered and flush (called
// before a read that may block) has been run.
func (rd *reader) next(flush func() error) ([][]byte, error) {
	for {
		args, err := rd.parse()
		if err == nil {
			if len(args) == 0 {
				continue // an empty command (blank line, *0): nothing to answer
			}
			return args, nil
		}
		if err != errNeedMore {
			return nil, err
		}
		if flush != nil {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		if err := rd.fill(); err != nil {
			return nil, err
		}
	}
}

// feed appends bytes received by an event loop (the gnet mode), making room
// as fill does.
func (rd *reader) feed(b []byte) {
	if rd.start == rd.end {
		rd.start, rd.end = 0, 0
		if len(rd.buf) > 1<<20 {
			rd.buf = make([]byte, minBuffer)
		}
	}
	if len(b) > len(rd.buf)-rd.end {
		n := rd.end - rd.start
		if n+len(b) <= len(rd.buf) {
			copy(rd.buf, rd.buf[rd.start:rd.end])
		} else {
			nb := make([]byte, max(2*len(rd.buf), n+len(b)))
			copy(nb, rd.buf[rd.start:rd.end])
			rd.buf = nb
		}
		rd.start, rd.end = 0, n
	}
	rd.end += copy(rd.buf[rd.end:], b)
}

// fill reads more bytes, first making room: consumed bytes are dropped and
// the buffer grows to hold the request being parsed.
func (rd *reader) fill() error {
	if rd.start == rd.end {
		rd.start, rd.end = 0, 0
		if len(rd.buf) > 1<<20 { // do not keep a huge buffer for an idle client
			rd.buf = make([]byte, minBuffer)
		}
	}
	if rd.end == len(rd.buf) {
		n := rd.end - rd.start
		if rd.start > 0 && n < len(rd.buf)/2 {
			copy(rd.buf, rd.buf[rd.start:rd.end])
		} else {
			// Grow by doubling, but not past the request's known length.
			size := 2 * len(rd.buf)
			if rd.want > 0 && rd.reqLen > int64(n) && rd.reqLen < int64(size) {
				size = int(rd.reqLen)
			}
			nb := make([]byte, size)
			copy(nb, rd.buf[rd.start:rd.end])
			rd.buf = nb
		}
		rd.start, rd.end = 0, n
	}
	m, err := rd.r.Read(rd.buf[rd.end:])
	rd.end += m
	if m > 0 {
		rd.fills++
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// parse takes one complete command from the buffer, or errNeedMore.
func (rd *reader) parse() ([][]byte, error) {
	b := rd.buf[rd.start:rd.end]
	if len(b) == 0 {
		return nil, errNeedMore
	}
	if b[0] != '*' {
		return rd.inline(b)
	}
	if rd.want == 0 {
		line, n, err := readLine(b, 0)
		if err != nil {
			return nil, err
		}
		count, ok := parseInt(line[1:])
		if !ok || count > int64(rd.lim.maxArgs) {
			return nil, protoError("invalid multibulk length")
		}
		if count <= 0 {
			rd.start += n
			return nil, nil
		}
		rd.want, rd.pos, rd.offs, rd.reqLen = int(count), n, rd.offs[:0], int64(n)
	}
	for len(rd.offs) < 2*rd.want {
		line, n, err := readLine(b, rd.pos)
		if err != nil {
			return nil, err
		}
		if line[0] != '$' {
			return nil, protoError("expected '$', got '" + string(line[0]) + "'")
		}
		size, ok := parseInt(line[1:])
		if !ok || size < 0 || size > rd.lim.maxBulk {
			return nil, protoError("invalid bulk length")
		}
		total := int64(rd.pos) + int64(n) + size + 2
		if total > rd.lim.maxRequest {
			return nil, protoError("request exceeds the maximum request size")
		}
		rd.reqLen = total
		body := rd.pos + n
		if int64(len(b)-body) < size+2 {
			return nil, errNeedMore
		}
		rd.offs = append(rd.offs, body, body+int(size))
		rd.pos = body + int(size) + 2
	}
	args := rd.args[:0]
	for i := 0; i < len(rd.offs); i += 2 {
		args = append(args, b[rd.offs[i]:rd.offs[i+1]:rd.offs[i+1]])
	}
	rd.args = args
	rd.start += rd.pos
	rd.want, rd.pos, rd.reqLen = 0, 0, 0
	return args, nil
}

// readLine returns the header line starting at b[at] (without CRLF) and the
// bytes it takes with its CRLF, or errNeedMore.
func readLine(b []byte, at int) ([]byte, int, error) {
	i := bytes.IndexByte(b[at:], '\n')
	if i < 0 {
		if len(b)-at > maxInline {
			return nil, 0, protoError("too big mbulk count string")
		}
		return nil, 0, errNeedMore
	}
	if i == 0 || b[at+i-1] != '\r' {
		if at == 0 {
			return nil, 0, protoError("invalid multibulk length")
		}
		return nil, 0, protoError("invalid bulk length")
	}
	return b[at : at+i-1], i + 1, nil
}

// parseInt is a strict decimal parse (what Redis's string2ll accepts).
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

// inline parses a telnet-style command line, with Redis's quoting rules.
func (rd *reader) inline(b []byte) ([][]byte, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(b) > maxInline {
			return nil, protoError("too big inline request")
		}
		return nil, errNeedMore
	}
	line := b[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	args, ok := splitArgs(line)
	if !ok {
		return nil, protoError("unbalanced quotes in request")
	}
	rd.start += i + 1
	return args, nil
}

// splitArgs splits an inline command like Redis's sdssplitargs: spaces
// separate arguments; "double quotes" allow \n \r \t \b \a \\ \" \xHH escapes;
// 'single quotes' allow \'. A closing quote must be followed by a space or the
// end. Arguments are copies.
func splitArgs(line []byte) ([][]byte, bool) {
	var args [][]byte
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return args, true
		}
		var cur []byte
		inDq, inSq, done := false, false, false
		for !done {
			if inDq {
				if i >= len(line) {
					return nil, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					cur = append(cur, hexVal(line[i+2])<<4|hexVal(line[i+3]))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					switch line[i] {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, line[i])
					}
				case c == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					done = true
				default:
					cur = append(cur, c)
				}
			} else if inSq {
				if i >= len(line) {
					return nil, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					cur = append(cur, '\'')
				case c == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					done = true
				default:
					cur = append(cur, c)
				}
			} else {
				if i >= len(line) {
					break
				}
				switch c := line[i]; {
				case isSpace(c):
					done = true
				case c == '"':
					inDq = true
				case c == '\'':
					inSq = true
				default:
					cur = append(cur, c)
				}
			}
			if i < len(line) {
				i++
			}
		}
		if cur == nil {
			cur = []byte{}
		}
		args = append(args, cur)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'
}
func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
