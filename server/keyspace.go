package main

import (
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

func cmdKeys(c *client, args [][]byte) {
	pat := args[1]
	all := len(pat) == 1 && pat[0] == '*'
	var out [][]byte
	it := c.s.db().Iter()
	for k := range it.Keys() {
		if all || globMatch(pat, k) {
			out = append(out, k)
		}
	}
	if err := it.Err(); err != nil {
		c.fail(err)
		return
	}
	c.out.array(len(out))
	for _, k := range out {
		c.out.bulk(k)
	}
}

// scanHash orders keys for SCAN: the cursor is one past the last hash
// returned, so a key that exists for the whole scan is returned whatever is
// written between calls (its hash does not move). 0 is reserved for "start"
// and "done".
func scanHash(k []byte) uint64 {
	h := fnv.New64a()
	h.Write(k)
	return h.Sum64() >> 1
}

type hashedKey struct {
	h uint64
	k []byte
}

// cmdScan: SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. Each call walks
// a snapshot of the keys (O(keys)), takes the COUNT smallest hashes at or
// after the cursor (and any key sharing the last one's hash), then filters by
// MATCH and TYPE, as Redis does.
func cmdScan(c *client, args [][]byte) {
	cursor, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		c.out.err("ERR invalid cursor")
		return
	}
	count := int64(10)
	var pat []byte
	typeOK := true
	for j := 2; j < len(args); j += 2 {
		if j+1 >= len(args) {
			c.out.err(errSyntax)
			return
		}
		switch upper(args[j]) {
		case "MATCH":
			pat = args[j+1]
		case "COUNT":
			n, ok := parseInt64(args[j+1])
			if !ok {
				c.out.err(errNotInt)
				return
			}
			if n < 1 {
				c.out.err(errSyntax)
				return
			}
			count = n
		case "TYPE":
			typeOK = upper(args[j+1]) == "STRING"
		default:
			c.out.err(errSyntax)
			return
		}
	}
	var lo uint64
	if cursor > 0 {
		lo = cursor - 1
	}
	var cand []hashedKey
	it := c.s.db().Iter()
	for k := range it.Keys() {
		if h := scanHash(k); h >= lo {
			cand = append(cand, hashedKey{h, k})
		}
	}
	if err := it.Err(); err != nil {
		c.fail(err)
		return
	}
	slices.SortFunc(cand, func(a, b hashedKey) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return 0
	})
	n := min(int(count), len(cand))
	for n < len(cand) && n > 0 && cand[n].h == cand[n-1].h {
		n++
	}
	next := uint64(0)
	if n < len(cand) {
		next = cand[n-1].h + 2 // cursor = last hash + 1, shifted by the reserved 0
	}
	var out [][]byte
	for _, hk := range cand[:n] {
		if typeOK && (pat == nil || globMatch(pat, hk.k)) {
			out = append(out, hk.k)
		}
	}
	c.out.array(2)
	c.out.bulkStr(strconv.FormatUint(next, 10))
	c.out.array(len(out))
	for _, k := range out {
		c.out.bulk(k)
	}
}

func cmdRandomKey(c *client, _ [][]byte) {
	var pick []byte
	n := 0
	it := c.s.db().Iter()
	for k := range it.Keys() {
		n++
		if rand.IntN(n) == 0 {
			pick = k
		}
	}
	if err := it.Err(); err != nil {
		c.fail(err)
		return
	}
	if pick == nil {
		c.out.null()
		return
	}
	c.out.bulk(pick)
}

func cmdDBSize(c *client, _ [][]byte) {
	st, err := c.s.db().Stats()
	if err != nil {
		c.fail(err)
		return
	}
	c.out.int(int64(st.LiveKeys))
}

// cmdFlushDB deletes every key, in batches of 1024 (not one atomic step: a
// concurrent writer's keys written during the flush may survive).
func cmdFlushDB(c *client, args [][]byte) {
	for _, a := range args[1:] {
		if m := upper(a); m != "ASYNC" && m != "SYNC" {
			c.out.err(errSyntax)
			return
		}
	}
	if err := c.s.flush(); err != nil {
		c.fail(err)
		return
	}
	c.out.ok()
}

func (s *server) flush() error {
	b := s.batch()
	defer s.release(b)
	it := s.db().Iter()
	for k := range it.Keys() {
		if err := b.Delete(k); err != nil {
			return err
		}
		if b.Len() >= 1024 {
			if err := b.Commit(); err != nil {
				return err
			}
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	return b.Commit()
}

// globMatch is Redis's stringmatchlen (case-sensitive): * ? [abc] [^a] [a-z]
// and \ escapes.
func globMatch(p, s []byte) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if globMatch(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
			s = s[1:]
		case '[':
			if len(s) == 0 {
				return false
			}
			p = p[1:]
			not := len(p) > 0 && p[0] == '^'
			if not {
				p = p[1:]
			}
			match := false
			for len(p) > 0 && p[0] != ']' {
				switch {
				case p[0] == '\\' && len(p) >= 2:
					p = p[1:]
					if p[0] == s[0] {
						match = true
					}
				case len(p) >= 3 && p[1] == '-':
					lo, hi := p[0], p[2]
					if lo > hi {
						lo, hi = hi, lo
					}
					if s[0] >= lo && s[0] <= hi {
						match = true
					}
					p = p[2:]
				default:
					if p[0] == s[0] {
						match = true
					}
				}
				p = p[1:]
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s = s[1:]
			if len(p) == 0 {
				return len(s) == 0 // unterminated class: Redis stops here
			}
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if len(s) == 0 || p[0] != s[0] {
				return false
			}
			s = s[1:]
		}
		p = p[1:]
	}
	return len(s) == 0
}

var _ = bitcask.VersionAbsent
