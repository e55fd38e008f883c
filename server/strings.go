package main

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

// Redis's error strings.
const (
	errSyntax     = "ERR syntax error"
	errNotInt     = "ERR value is not an integer or out of range"
	errNotFloat   = "ERR value is not a valid float"
	errOverflow   = "ERR increment or decrement would overflow"
	errNoSuchKey  = "ERR no such key"
	errStrTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
)

func nowMs() int64 { return time.Now().UnixMilli() }

// now is the time commands compute expiries from: the wall clock, or in
// --raft mode's state machine the time the leader fixed in the log entry,
// so every replica computes the same absolute expiry.
func (c *client) now() int64 {
	if c.clock != 0 {
		return c.clock
	}
	return nowMs()
}

// expMs is a Versioned's expiry in unix ms, 0 for none.
func expMs(v bitcask.Versioned) int64 {
	if v.ExpiresAt.IsZero() {
		return 0
	}
	return v.ExpiresAt.UnixMilli()
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// parseInt64 accepts exactly what Redis's string2ll accepts: an optional
// minus sign and decimal digits without leading zeros, fitting in int64.
func parseInt64(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	d := b
	if d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || d[0] < '1' || d[0] > '9' {
		return 0, false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

func parseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || isSpace(b[0]) || isSpace(b[len(b)-1]) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// update is a compare-and-swap loop on one key: f sees the key's current
// state (exists false: missing, deleted or expired), adds writes to b and says
// whether to commit. The batch is applied only if the key still has the
// version f saw (checked by the library under its writer lock); otherwise f
// runs again on the new state. f must only set results, never accumulate.
func (s *server) update(key []byte, f func(b *bitcask.Batch, cur bitcask.Versioned, exists bool) (bool, error)) error {
	b := s.batch()
	defer s.release(b)
	for {
		cur, err := s.db().GetVersioned(key)
		exists := err == nil
		if err != nil && !errors.Is(err, bitcask.ErrNotFound) {
			return err
		}
		b.Reset()
		commit, err := f(b, cur, exists)
		if err != nil || !commit {
			return err
		}
		err = b.CommitIf(bitcask.Condition{Key: key, Version: cur.Version})
		if !errors.Is(err, bitcask.ErrConditionFailed) {
			return err
		}
		s.m.casRetries.Inc()
	}
}

// answerErr sends err if it is a user error (a reply string) or a store error.
type userErr string

func (e userErr) Error() string { return string(e) }

func (c *client) fail(err error) {
	var ue userErr
	if errors.As(err, &ue) {
		c.out.err(string(ue))
		return
	}
	if errors.Is(err, bitcask.ErrInvalidArgument) {
		// Key or value limits of the library: the client's mistake.
		var be *bitcask.Error
		if errors.As(err, &be) {
			c.out.err("ERR " + be.Msg)
			return
		}
	}
	c.storeErr(err)
}

// cmdGet copies the value into the client's reusable buffer (no allocation
// per GET); a value larger than the buffer grows it once and reads again.
func cmdGet(c *client, args [][]byte) {
	for {
		n, err := c.s.db().GetInto(args[1], c.getBuf)
		switch {
		case err == nil:
			c.s.hits.Add(1)
			c.out.bulk(c.getBuf[:n])
		case errors.Is(err, bitcask.ErrBufferTooSmall):
			c.getBuf = make([]byte, n+n/4)
			continue
		case errors.Is(err, bitcask.ErrNotFound):
			c.s.misses.Add(1)
			c.out.null()
		default:
			c.fail(err)
		}
		if cap(c.getBuf) > 1<<20 {
			c.getBuf = make([]byte, 4096)
		}
		return
	}
}

// expireArg converts an EX/PX/EXAT/PXAT argument to an absolute unix ms, or
// the reply error.
func expireArg(kind string, arg []byte, cmd string, now int64) (int64, string) {
	n, ok := parseInt64(arg)
	if !ok {
		return 0, errNotInt
	}
	bad := "ERR invalid expire time in '" + cmd + "' command"
	if n <= 0 {
		return 0, bad
	}
	switch kind {
	case "EX", "EXAT":
		if n > math.MaxInt64/1000 {
			return 0, bad
		}
		n *= 1000
	}
	if kind == "EX" || kind == "PX" {
		if n > math.MaxInt64-now {
			return 0, bad
		}
		n += now
	}
	return n, ""
}

func upper(b []byte) string {
	var buf [16]byte
	if len(b) > len(buf) {
		return string(bytes.ToUpper(b))
	}
	out := buf[:0]
	for _, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out = append(out, c)
	}
	return string(out)
}

func cmdSet(c *client, args [][]byte) {
	key, val := args[1], args[2]
	var nx, xx, get, keepTTL bool
	var at int64
	expSet := false
	for j := 3; j < len(args); j++ {
		opt := upper(args[j])
		switch {
		case opt == "NX" && !xx:
			nx = true
		case opt == "XX" && !nx:
			xx = true
		case opt == "GET":
			get = true
		case opt == "KEEPTTL" && !expSet:
			keepTTL = true
		case (opt == "EX" || opt == "PX" || opt == "EXAT" || opt == "PXAT") && !keepTTL && !expSet && j+1 < len(args):
			var e string
			at, e = expireArg(opt, args[j+1], "set", c.now())
			if e != "" {
				c.out.err(e)
				return
			}
			expSet = true
			j++
		default:
			c.out.err(errSyntax)
			return
		}
	}
	db := c.s.db()
	if !nx && !xx && !get && !keepTTL {
		if c.pendN > 0 || c.rd.buffered() {
			// More pipelined commands are waiting: batch consecutive SETs.
			c.setPending(key, val, at)
			return
		}
		var err error
		if expSet {
			err = db.PutExpiring(key, val, msTime(at))
		} else {
			err = db.Put(key, val)
		}
		if err != nil {
			c.fail(err)
			return
		}
		c.out.ok()
		return
	}
	c.commitPending() // options read or condition on the key: earlier SETs first
	if nx && !get {
		b := c.s.batch()
		defer c.s.release(b)
		if err := b.PutExpiring(key, val, msTime(at)); err != nil {
			c.fail(err)
			return
		}
		err := b.CommitIf(bitcask.Condition{Key: key, Version: bitcask.VersionAbsent})
		switch {
		case err == nil:
			c.out.ok()
		case errors.Is(err, bitcask.ErrConditionFailed):
			c.out.null()
		default:
			c.fail(err)
		}
		return
	}
	var old []byte
	var existed, written bool
	err := c.s.update(key, func(b *bitcask.Batch, cur bitcask.Versioned, exists bool) (bool, error) {
		old, existed, written = cur.Value, exists, false
		if (nx && exists) || (xx && !exists) {
			return false, nil
		}
		exp := at
		if keepTTL && exists {
			exp = expMs(cur)
		}
		written = true
		return true, b.PutExpiring(key, val, msTime(exp))
	})
	if err != nil {
		c.fail(err)
		return
	}
	switch {
	case get && existed:
		c.out.bulk(old)
	case get, !written:
		c.out.null()
	default:
		c.out.ok()
	}
}

func cmdSetNX(c *client, args [][]byte) {
	b := c.s.batch()
	defer c.s.release(b)
	if err := b.Put(args[1], args[2]); err != nil {
		c.fail(err)
		return
	}
	err := b.CommitIf(bitcask.Condition{Key: args[1], Version: bitcask.VersionAbsent})
	switch {
	case err == nil:
		c.out.int(1)
	case errors.Is(err, bitcask.ErrConditionFailed):
		c.out.int(0)
	default:
		c.fail(err)
	}
}

func setexLike(c *client, args [][]byte, kind, name string) {
	at, e := expireArg(kind, args[2], name, c.now())
	if e != "" {
		c.out.err(e)
		return
	}
	if err := c.s.db().PutExpiring(args[1], args[3], msTime(at)); err != nil {
		c.fail(err)
		return
	}
	c.out.ok()
}

func cmdSetEX(c *client, args [][]byte)  { setexLike(c, args, "EX", "setex") }
func cmdPSetEX(c *client, args [][]byte) { setexLike(c, args, "PX", "psetex") }

func cmdGetSet(c *client, args [][]byte) {
	var old []byte
	var existed bool
	err := c.s.update(args[1], func(b *bitcask.Batch, cur bitcask.Versioned, exists bool) (bool, error) {
		old, existed = cur.Value, exists
		return true, b.Put(args[1], args[2])
	})
	if err != nil {
		c.fail(err)
		return
	}
	if existed {
		c.out.bulk(old)
	} else {
		c.out.null()
	}
}

func cmdGetDel(c *client, args [][]byte) {
	var old []byte
	var existed bool
	err := c.s.update(args[1], func(b *bitcask.Batch, cur bitcask.Versioned, exists bool) (bool, error) {
		old, existed = cur.Value, exists
		if !exists {
			return false, nil
		}
		return true, b.Delete(args[1])
	})
	if err != nil {
		c.fail(err)
		return
	}
	if existed {
		c.out.bulk(old)
	} else {
		c.out.null()
	}
}

func cmdGetEx(c *client, args [][]byte) {
	var at int64
	persist, expSet := false, false
	for j := 2; j < len(args); j++ {
		opt := upper(args[j])
		switch {
		case opt == "PERSIST" && !expSet && !persist:
			persist = true
		case (opt == "EX" || opt == "PX" || opt == "EXAT" || opt == "PXAT") && !persist && !expSet && j+1 < len(args):
			var e string
			at, e = expireArg(opt, args[j+1], "getex", c.now())
			if e != "" {
				c.out.err(e)
				return
			}
			expSet = true
			j++
		default:
			c.out.err(errSyntax)
			return
		}
	}
	if !persist && !expSet {
		cmdGet(c, args)
		return
	}
	var val []byte
	var existed bool
	err := c.s.update(args[1], func(b *bitcask.Batch, cur bitcask.Versioned, exists bool) (bool, error) {
		val, existed = cur.Value, exists
		if !exists || (persist && expMs(cur) == 0) {
			return false, nil
		}
		if expSet && at <= c.now() {
			return true, b.Delete(args[1])
		}
		return true, b.PutExpiring(args[1], cur.Value, msTime(at))
	})
	if err != nil {
		c.fail(err)
		return
	}
	if existed {
		c.out.bulk(val)
	} else {
		c.out.null()
	}
}

// mgetAtomic reads keys as of one instant: values with their versions, then
// an empty conditional batch checks (under the writer lock) that none
// changed; if one did, it reads again.
func (s *server) mgetAtomic(keys [][]byte) ([][]byte, error) {
	vals := make([][]byte, len(keys))
	if len(keys) == 1 {
		v, err := s.db().Get(keys[0])
		if err != nil && !errors.Is(err, bitcask.ErrNotFound) {
			return nil, err
		}
		vals[0] = v
		return vals, nil
	}
	conds := make([]bitcask.Condition, len(keys))
	b := s.batch()
	defer s.release(b)
	for {
		for i, k := range keys {
			cur, err := s.db().GetVersioned(k)
			if err != nil && !errors.Is(err, bitcask.ErrNotFound) {
				return nil, err
			}
			vals[i] = cur.Value
			conds[i] = bitcask.Condition{Key: k, Version: cur.Version}
		}
		err := b.CommitIf(conds...)
		if err == nil {
			return vals, nil
		}
		if !errors.Is(err, bitcask.ErrConditionFailed) {
			// An invalid key (empty or too long) reads as missing, as in Redis.
			if errors.Is(err, bitcask.ErrInvalidArgument) {
				return vals, nil
			}
			return nil, err
		}
		s.m.casRetries.Inc()
	}
}

func cmdMGet(c *client, args [][]byte) {
	vals, err := c.s.mgetAtomic(args[1:])
	if err != nil {
		c.fail(err)
		return
	}
	c.out.array(len(vals))
	for _, v := range vals {
		if v == nil {
			c.s.misses.Add(1)
			c.out.null()
		} else {
			c.s.hits.Add(1)
			c.out.bulk(v)
		}
	}
}

func cmdMSet(c *client, args [][]byte) {
	if len(args)%2 != 1 {
		c.out.err("ERR wrong number of arguments for 'mset' command")
		return
	}
	b := c.s.batch()
	defer c.s.release(b)
	for i := 1; i < len(args); i += 2 {
		if err := b.Put(args[i], args[i+1]); err != nil {
			c.fail(err)
			return
		}
	}
	if err := b.Commit(); err != nil {
		c.fail(err)
		return
	}
	c.out.ok()
}

func cmdMSetNX(c *client, args [][]byte) {
	if len(args)%2 != 1 {
		c.out.err("ERR wrong number of arguments for 'msetnx' command")
		return
	}
	b := c.s.batch()
	defer c.s.release(b)
	conds := make([]bitcask.Condition, 0, len(args)/2)
	for i := 1; i < len(args); i += 2 {
		if err := b.Put(args[i], args[i+1]); err != nil {
			c.fail(err)
			return
		}
		conds = append(conds, bitcask.Condition{Key: args[i], Version: bitcask.VersionAbsent})
	}
	err := b.CommitIf(conds...)
	switch {
	case err == nil:
		c.out.int(1)
	case errors.Is(err, bitcask.ErrConditionFailed):
		c.out.int(0)
	default:
		c.fail(err)
	}
}

// cmdDel deletes the keys that exist, atomically, and counts them: the
// versions read are conditions of the batch, so the count is exact.
func cmdDel(c *client, args [][]byte) {
	seen := make(map[string]struct{}, len(args)-1)
	keys := make([][]byte, 0, len(args)-1)
	for _, k := range args[1:] {
		if _, dup := seen[string(k)]; !dup && len(k) > 0 && len(k) <= bitcask.MaxKeyLen {
			seen[string(k)] = struct{}{}
			keys = append(keys, k)
		}
	}
	b := c.s.batch()
	defer c.s.release(b)
	conds := make([]bitcask.Condition, len(keys))
	for {
		b.Reset()
		n := 0
		for i, k := range keys {
			v, err := c.s.db().Version(k)
			if err != nil {
				c.fail(err)
				return
			}
			conds[i] = bitcask.Condition{Key: k, Version: v}
			if v != bitcask.VersionAbsent {
				n++
				if err := b.Delete(k); err != nil {
					c.fail(err)
					return
				}
			}
		}
		if n == 0 {
			c.out.int(0)
			return
		}
		err := b.CommitIf(conds...)
		if err == nil {
			c.out.int(int64(n))
			return
		}
		if !errors.Is(err, bitcask.ErrConditionFailed) {
			c.fail(err)
			return
		}
		c.s.m.casRetries.Inc()
	}
}

func cmdExists(c *client, args [][]byte) {
	n := int64(0)
	for _, k := range args[1:] {
		if len(k) == 0 || len(k) > bitcask.MaxKeyLen {
			continue
		}
		v, err := c.s.db().Version(k)
		if err != nil {
			c.fail(err)
			return
		}
		if v != bitcask.VersionAbsent {
			n++
		}
	}
	c.out.int(n)
}

func cmdType(c *client, args [][]byte) {
	v, err := c.s.db().Version(args[1])
	if err != nil && !errors.Is(err, bitcask.ErrInvalidArgument) {
		c.fail(err)
		return
	}
	if v != bitcask.VersionAbsent {
		c.out.simple("string")
	} else {
		c.out.simple("none")
	}
}

// expireGeneric is EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT.
func expireGeneric(c *client, args [][]byte, kind, name string) {
	n, ok := parseInt64(args[2])
	if !ok {
		c.out.err(errNotInt)
		return
	}
	bad := "ERR invalid expire time in '" + name + "' command"
	at := n
	if kind == "EX" || kind == "EXAT" {
		if at > math.MaxInt64/1000 || at < math.MinInt64/1000 {
			c.out.err(bad)
			return
		}
		at *= 1000
	}
	if kind == "EX" || kind == "PX" {
		now := c.now()
		if at > math.MaxInt64-now {
			c.out.err(bad)
			return
		}
		at += now
	}
	var nx, xx, gt, lt bool
	for _, a := range args[3:] {
		switch upper(a) {
		case "NX":
			nx = true
		case "XX":
			xx = true
		case "GT":
			gt = true
		case "LT":
			lt = true
		default:
			c.out.err("ERR Unsupported option " + string(a))
			return
		}
	}
	if nx && (xx || gt || lt) {
		c.out.err("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if gt && lt {
		c.out.err("ERR GT and LT options at the same time are not compatible")
		return
	}
	set := false
	err := c.s.update(args[1], func(b *bitcask.Batch, cur bitcask.Versioned, exists bool) (bool, error) {
		set = false
		if !exists {
			return false, nil
		}
		curMs := expMs(cur)
		switch {
		case nx && curMs != 0, xx && curMs == 0,
			gt && (curMs == 0 || at <= curMs), lt && curMs != 0 && at >= curMs:
			return false, nil
		}
		set = true
		if at <= c.now() {
			return true, b.Delete(args[1])
		}
		return true, b.PutExpiring(args[1], cur.Value, msTime(at))
	})
	if err != nil {
		c.fail(err)
		return
	}
	c.out.bool(set)
}

func cmdExpire(c *client, a [][]byte)    { expireGeneric(c, a, "EX", "expire") }
func cmdPExpire(c *client, a [][]byte)   { expireGeneric(c, a, "PX", "pexpire") }
func cmdExpireAt(c *client, a [][]byte)  { expireGeneric(c, a, "EXAT", "expireat") }
func cmdPExpireAt(c *client, a [][]byte) { expireGeneric(c, a, "PXAT", "pexpireat") }

// ttlGeneric: TTL/PTTL (remaining) and EXPIRETIME/PEXPIRETIME (absolute);
// -2 for a missing key, -1 for a key without expiry.
func ttlGeneric(c *client, args [][]byte, ms, absolute bool) {
	cur, err := c.s.db().GetExpiry(args[1])
	if err != nil {
		if errors.Is(err, bitcask.ErrNotFound) || errors.Is(err, bitcask.ErrInvalidArgument) {
			c.out.int(-2)
			return
		}
		c.fail(err)
		return
	}
	at := expMs(cur)
	if at == 0 {
		c.out.int(-1)
		return
	}
	switch {
	case absolute && ms:
		c.out.int(at)
	case absolute:
		c.out.int(at / 1000)
	default:
		left := max(at-c.now(), 0)
		if ms {
			c.out.int(left)
		} else {
			c.out.int((left + 500) / 1000)
		}
	}
}

func cmdTTL(c *client, a [][]byte)         { ttlGeneric(c, a, false, false) }
func cmdPTTL(c *client, a [][]byte)        { ttlGeneric(c, a, true, false) }
func cmdExpireTime(c *client, a [][]byte)  { ttlGeneric(c, a, false, true) }
func cmdPExpireTime(c *client, a [][]byte) { ttlGeneric(c, a, true, true) }

func cmdPersist(c *client, args [][]byte) {
	done := false
	err := c.s.update(args[1], func(b *bitcask.Batch, cur bitcask.Versioned, exists bool) (bool, error) {
		done = exists && expMs(cur) != 0
		if !done {
			return false, nil
		}
		return true, b.Put(args[1], cur.Value)
	})
	if err != nil {
		c.fail(err)
		return
	}
	c.out.bool(done)
}

// incrOp is one INCR-family command waiting in a pipeline group.
type incrOp struct {
	key   []byte
	delta int64
}

// incrPending queues an increment when more pipelined commands are waiting;
// the group is applied by commitIncrs before any other command, or before
// the replies are written.
func (c *client) incrPending(key []byte, delta int64) bool {
	if len(c.incrs) == 0 && !c.rd.buffered() {
		return false
	}
	c.incrs = append(c.incrs, incrOp{key: append([]byte(nil), key...), delta: delta})
	if len(c.incrs) >= 256 {
		c.commitIncrs()
	}
	return true
}

type incrState struct {
	val     int64
	exp     int64
	version uint64
	errMsg  string
	dirty   bool
}

// commitIncrs applies a group of increments as one conditional batch: each
// key is read once (value, expiry, version), the increments are computed in
// order, and the batch (the final value of each key) is committed only if no
// key changed meanwhile; otherwise the whole group is computed again. The
// group is as if its commands ran back to back, which they did: one client
// pipelined them. Replies (the values, or errors) are appended in order.
func (c *client) commitIncrs() {
	ops := c.incrs
	if len(ops) == 0 {
		return
	}
	c.incrs = c.incrs[:0]
	s := c.s
	results := make([]int64, len(ops))
	errs := make([]string, len(ops))
	b := s.batch()
	defer s.release(b)
	for {
		state := make(map[string]*incrState, len(ops))
		var conds []bitcask.Condition
		var fatal error
		for i, op := range ops {
			st := state[string(op.key)]
			if st == nil {
				st = &incrState{}
				state[string(op.key)] = st
				cur, err := s.db().GetVersioned(op.key)
				switch {
				case err == nil:
					st.version, st.exp = cur.Version, expMs(cur)
					n, ok := parseInt64(cur.Value)
					if !ok {
						st.errMsg = errNotInt
					}
					st.val = n
				case errors.Is(err, bitcask.ErrNotFound):
				case errors.Is(err, bitcask.ErrInvalidArgument):
					var be *bitcask.Error
					errors.As(err, &be)
					st.errMsg = "ERR " + be.Msg
				default:
					fatal = err
				}
				if st.errMsg == "" && fatal == nil {
					conds = append(conds, bitcask.Condition{Key: op.key, Version: st.version})
				}
			}
			errs[i] = st.errMsg
			if st.errMsg != "" {
				continue
			}
			d := op.delta
			if (d > 0 && st.val > math.MaxInt64-d) || (d < 0 && st.val < math.MinInt64-d) {
				errs[i] = errOverflow
				continue
			}
			st.val += d
			st.dirty = true
			results[i] = st.val
		}
		if fatal != nil {
			for range ops {
				c.fail(fatal)
			}
			return
		}
		b.Reset()
		var buf [24]byte
		for k, st := range state {
			if st.dirty {
				if err := b.PutExpiring([]byte(k), strconv.AppendInt(buf[:0], st.val, 10), msTime(st.exp)); err != nil {
					fatal = err
				}
			}
		}
		if fatal == nil {
			err := b.CommitIf(conds...)
			if errors.Is(err, bitcask.ErrConditionFailed) {
				s.m.casRetries.Inc()
				continue
			}
			fatal = err
		}
		for i := range ops {
			switch {
			case fatal != nil:
				c.fail(fatal)
			case errs[i] != "":
				c.out.err(errs[i])
			default:
				c.out.int(results[i])
			}
		}
		return
	}
}

// incrBy adds delta to the integer at key (0 if missing), keeping its TTL.
func incrBy(c *client, key []byte, delta int64) {
	if c.incrPending(key, delta) {
		return
	}
	var result int64
	err := c.s.update(key, func(b *bitcask.Batch, cur bitcask.Versioned, exists bool) (bool, error) {
		var n int64
		if exists {
			var ok bool
			if n, ok = parseInt64(cur.Value); !ok {
				return false, userErr(errNotInt)
			}
		}
		if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
			return false, userErr(errOverflow)
		}
		result = n + delta
		var buf [24]byte
		return true, b.PutExpiring(key, strconv.AppendInt(buf[:0], result, 10), msTime(expMs(cur)))
	})
	if err != nil {
		c.fail(err)
		return
	}
	c.out.int(result)
}

func cmdIncr(c *client, a [][]byte) { incrBy(c, a[1], 1) }
func cmdDecr(c *client, a [][]byte) { incrBy(c, a[1], -1) }

func cmdIncrBy(c *client, a [][]byte) {
	d, ok := parseInt64(a[2])
	if !ok {
		c.out.err(errNotInt)
		return
	}
	incrBy(c, a[1], d)
}

func cmdDecrBy(c *client, a [][]byte) {
	d, ok := parseInt64(a[2])
	if !ok {
		c.out.err(errNotInt)
		return
	}
	if d == math.MinInt64 {
		c.out.err("ERR decrement would overflow")
		return
	}
	incrBy(c, a[1], -d)
}

func cmdIncrByFloat(c *client, args [][]byte) {
	d, ok := parseFloat(args[2])
	if !ok {
		c.out.err(errNotFloat)
		return
	}
	var out []byte
	err := c.s.update(args[1], func(b *bitcask.Batch, cur bitcask.Versioned, exists bool) (bool, error) {
		var n float64
		if exists {
			var ok bool
			if n, ok = parseFloat(cur.Value); !ok {
				return false, userErr(errNotFloat)
			}
		}
		r := n + d
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return false, userErr("ERR increment would produce NaN or Infinity")
		}
		out = strconv.AppendFloat(out[:0], r, 'f', -1, 64)
		return true, b.PutExpiring(args[1], out, msTime(expMs(cur)))
	})
	if err != nil {
		c.fail(err)
		return
	}
	c.out.bulk(out)
}

func cmdAppend(c *client, args [][]byte) {
	var n int
	err := c.s.update(args[1], func(b *bitcask.Batch, cur bitcask.Versioned, exists bool) (bool, error) {
		if int64(len(cur.Value))+int64(len(args[2])) > c.s.cfg.maxBulkBytes {
			return false, userErr(errStrTooLong)
		}
		v := append(append(make([]byte, 0, len(cur.Value)+len(args[2])), cur.Value...), args[2]...)
		n = len(v)
		return true, b.PutExpiring(args[1], v, msTime(expMs(cur)))
	})
	if err != nil {
		c.fail(err)
		return
	}
	c.out.int(int64(n))
}

func cmdStrlen(c *client, args [][]byte) {
	n, err := c.s.db().GetInto(args[1], nil)
	switch {
	case err == nil, errors.Is(err, bitcask.ErrBufferTooSmall):
		c.out.int(int64(n))
	case errors.Is(err, bitcask.ErrNotFound), errors.Is(err, bitcask.ErrInvalidArgument):
		c.out.int(0)
	default:
		c.fail(err)
	}
}

func cmdGetRange(c *client, args [][]byte) {
	start, ok1 := parseInt64(args[2])
	end, ok2 := parseInt64(args[3])
	if !ok1 || !ok2 {
		c.out.err(errNotInt)
		return
	}
	v, err := c.s.db().Get(args[1])
	if err != nil && !errors.Is(err, bitcask.ErrNotFound) {
		c.fail(err)
		return
	}
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		c.out.bulk(nil)
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if n == 0 || start > end {
		c.out.bulkStr("")
		return
	}
	c.out.bulk(v[start : end+1])
}

func cmdSetRange(c *client, args [][]byte) {
	off, ok := parseInt64(args[2])
	if !ok {
		c.out.err(errNotInt)
		return
	}
	if off < 0 {
		c.out.err("ERR offset is out of range")
		return
	}
	val := args[3]
	if len(val) > 0 && off+int64(len(val)) > c.s.cfg.maxBulkBytes {
		c.out.err(errStrTooLong)
		return
	}
	var n int
	err := c.s.update(args[1], func(b *bitcask.Batch, cur bitcask.Versioned, exists bool) (bool, error) {
		n = len(cur.Value)
		if len(val) == 0 {
			return false, nil
		}
		size := max(len(cur.Value), int(off)+len(val))
		v := make([]byte, size)
		copy(v, cur.Value)
		copy(v[off:], val)
		n = size
		return true, b.PutExpiring(args[1], v, msTime(expMs(cur)))
	})
	if err != nil {
		c.fail(err)
		return
	}
	c.out.int(int64(n))
}

// renameGeneric moves src's value and expiry to dst in one conditional batch
// (src must still have the version read; for RENAMENX dst must be absent).
func renameGeneric(c *client, args [][]byte, nx bool) {
	src, dst := args[1], args[2]
	b := c.s.batch()
	defer c.s.release(b)
	for {
		cur, err := c.s.db().GetVersioned(src)
		if errors.Is(err, bitcask.ErrNotFound) || errors.Is(err, bitcask.ErrInvalidArgument) {
			c.out.err(errNoSuchKey)
			return
		}
		if err != nil {
			c.fail(err)
			return
		}
		if bytes.Equal(src, dst) {
			if nx {
				c.out.int(0)
			} else {
				c.out.ok()
			}
			return
		}
		b.Reset()
		if err := b.PutExpiring(dst, cur.Value, cur.ExpiresAt); err != nil {
			c.fail(err)
			return
		}
		_ = b.Delete(src)
		conds := []bitcask.Condition{{Key: src, Version: cur.Version}}
		if nx {
			conds = append(conds, bitcask.Condition{Key: dst, Version: bitcask.VersionAbsent})
		}
		err = b.CommitIf(conds...)
		if err == nil {
			if nx {
				c.out.int(1)
			} else {
				c.out.ok()
			}
			return
		}
		if !errors.Is(err, bitcask.ErrConditionFailed) {
			c.fail(err)
			return
		}
		if nx {
			// Either dst exists (answer 0) or src changed (try again).
			if v, err := c.s.db().Version(dst); err == nil && v != bitcask.VersionAbsent {
				c.out.int(0)
				return
			}
		}
		c.s.m.casRetries.Inc()
	}
}

func cmdRename(c *client, a [][]byte)   { renameGeneric(c, a, false) }
func cmdRenameNX(c *client, a [][]byte) { renameGeneric(c, a, true) }
