package main

import (
	"bufio"
	bin "encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

// The state machine of --raft mode: every write command is a log entry
// (commands of one client's pipeline travel together in one entry), applied
// on every replica by the same command code as in single-node mode, run by
// a client of the state machine whose clock is the time the leader fixed in
// the entry. Apply runs on raft's FSM goroutine only, so the commands'
// compare-and-swap loops never retry there.

const (
	entryCommands = 'c' // proto, now (unix ms), then the commands
	entryAddr     = 'a' // a node's ID and the address it serves RESP on
)

// encodeCommands builds a commands entry: kind, RESP version, the leader's
// time, then each command as a count of arguments and the arguments, every
// number a uvarint.
func encodeCommands(proto int, now int64, cmds [][][]byte) []byte {
	n := 16
	for _, c := range cmds {
		for _, a := range c {
			n += len(a) + 5
		}
	}
	b := make([]byte, 0, n)
	b = append(b, entryCommands, byte(proto))
	b = bin.AppendUvarint(b, uint64(now))
	b = bin.AppendUvarint(b, uint64(len(cmds)))
	for _, c := range cmds {
		b = bin.AppendUvarint(b, uint64(len(c)))
		for _, a := range c {
			b = bin.AppendUvarint(b, uint64(len(a)))
			b = append(b, a...)
		}
	}
	return b
}

var errBadEntry = errors.New("malformed log entry")

type entryReader struct {
	b   []byte
	err error
}

func (r *entryReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := bin.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadEntry
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *entryReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errBadEntry
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func decodeCommands(b []byte) (proto int, now int64, cmds [][][]byte, err error) {
	if len(b) < 2 || b[0] != entryCommands {
		return 0, 0, nil, errBadEntry
	}
	r := &entryReader{b: b[2:]}
	proto = int(b[1])
	now = int64(r.uvarint())
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		argc := r.uvarint()
		if argc == 0 || argc > uint64(len(r.b)) {
			r.err = errBadEntry
			break
		}
		args := make([][]byte, 0, argc)
		for j := uint64(0); j < argc && r.err == nil; j++ {
			args = append(args, r.bytes())
		}
		cmds = append(cmds, args)
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errBadEntry
	}
	return proto, now, cmds, r.err
}

func encodeAddr(id, addr string) []byte {
	b := []byte{entryAddr}
	b = bin.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	b = bin.AppendUvarint(b, uint64(len(addr)))
	return append(b, addr...)
}

// fsm is the replicated state: the served store (the server's storeRef, in
// a directory DIR/fsm-N) and the nodes' RESP addresses.
type fsm struct {
	s    *server
	dir  string // parent of the fsm-N store directories
	gen  int    // N of the store in use
	fc   *client
	mu   sync.Mutex
	addr map[string]string // node ID -> RESP address

	applied atomic.Uint64 // index of the last entry applied

	storeOpts []bitcask.Option // applied to every fsm-N store (e.g. its keydir mode)
}

// openFSM starts the state machine on a fresh, empty store: raft restores
// the latest snapshot into it and replays the log after it, so a state
// left by a crash (even in the middle of a restore) is never trusted.
func openFSM(dir string, storeOpts ...bitcask.Option) (*fsm, *bitcask.DB, error) {
	old, _ := filepath.Glob(filepath.Join(dir, "fsm-*"))
	old = append(old, filepath.Join(dir, snapshotCopy))
	for _, d := range old {
		if err := os.RemoveAll(d); err != nil {
			return nil, nil, err
		}
	}
	f := &fsm{dir: dir, addr: map[string]string{}, storeOpts: storeOpts}
	db, err := f.openGen(0)
	if err != nil {
		return nil, nil, err
	}
	return f, db, nil
}

func (f *fsm) genDir(n int) string { return filepath.Join(f.dir, "fsm-"+strconv.Itoa(n)) }

// openGen opens a fresh store for generation n. The log is what makes
// writes durable, so the state machine's store does not fsync.
func (f *fsm) openGen(n int) (*bitcask.DB, error) {
	d := f.genDir(n)
	if err := os.RemoveAll(d); err != nil {
		return nil, err
	}
	return bitcask.Open(d, append([]bitcask.Option{bitcask.WithSync(bitcask.SyncNone)}, f.storeOpts...)...)
}

func (f *fsm) bind(s *server) {
	f.s = s
	f.fc = &client{s: s, authed: true, getBuf: make([]byte, 4096), id: -1, addr: "raft"}
}

func (f *fsm) addrOf(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addr[id]
}

func (f *fsm) addrs() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]string, len(f.addr))
	for k, v := range f.addr {
		m[k] = v
	}
	return m
}

// Apply runs a log entry. For commands it returns their replies, in order,
// as RESP bytes of the proposing client's protocol version.
func (f *fsm) Apply(l *raft.Log) any {
	defer f.applied.Store(l.Index)
	if len(l.Data) == 0 {
		return errBadEntry
	}
	switch l.Data[0] {
	case entryAddr:
		r := &entryReader{b: l.Data[1:]}
		id, addr := string(r.bytes()), string(r.bytes())
		if r.err != nil {
			return r.err
		}
		f.mu.Lock()
		f.addr[id] = addr
		f.mu.Unlock()
		return nil
	case entryCommands:
		proto, now, cmds, err := decodeCommands(l.Data)
		if err != nil {
			f.s.log.Error("raft: cannot decode a log entry", "index", l.Index, "err", err)
			return err
		}
		c := f.fc
		c.clock, c.out.proto, c.out.b = now, proto, nil
		var nb [32]byte
		for _, args := range cmds {
			cmd := commands[string(lower(nb[:0], args[0]))]
			if cmd == nil || cmd.flags&flagWrite == 0 {
				// Only write commands are proposed; another binary
				// version could have proposed one this one lacks.
				c.out.err(unknownCommand(args))
				continue
			}
			// As exec does: consecutive SETs (and INCRs) of the entry
			// are committed together, before any other command runs.
			if c.pendN > 0 && cmd != setCommand {
				c.commitPending()
			}
			if len(c.incrs) > 0 && cmd.flags&flagIncr == 0 {
				c.commitIncrs()
			}
			cmd.fn(c, args)
		}
		c.commitPending()
		c.commitIncrs()
		return c.out.b
	}
	return errBadEntry
}

// snapshotCopy is the directory (beside the fsm-N stores) where Persist
// writes the captured checkpoint it streams.
const snapshotCopy = "snapshot-copy"

// Snapshot fixes the state machine's point in time with a checkpoint capture
// on the FSM goroutine: microseconds under the store's writer lock, nothing
// copied, so Apply hardly waits whatever the store's size (an iterator here
// copied every key first: seconds at 10M keys). Persist then writes the
// capture out as a store of its own (hard links and the active file's
// prefix), opens it read-only and streams it, while Apply goes on.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	start := time.Now()
	c, err := f.s.db().CaptureCheckpoint()
	if err != nil {
		return nil, err
	}
	// The only time Apply waits for a snapshot.
	f.s.log.Info("raft snapshot: captured", "index", f.applied.Load(), "pause_us", time.Since(start).Microseconds())
	return &fsmSnapshot{
		captured: c,
		copyDir:  filepath.Join(f.dir, snapshotCopy),
		addr:     f.addrs(),
		index:    f.applied.Load(),
		log:      f.s.log,
	}, nil
}

type fsmSnapshot struct {
	log      *slog.Logger
	captured *bitcask.CapturedCheckpoint
	copyDir  string
	addr     map[string]string
	index    uint64
}

// The snapshot stream: "BCRAFT1\n", the applied index (8 bytes), the
// addresses (count, then ID and address), then records: 1, key, value,
// expiry in unix ms (8 bytes, 0 for none); a 0 byte ends it. Lengths and
// counts are uvarints, numbers big-endian.
const snapMagic = "BCRAFT1\n"

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	start := time.Now()
	keys, err := s.stream(sink)
	if err != nil {
		sink.Cancel()
		return err
	}
	if err := sink.Close(); err != nil {
		return err
	}
	s.log.Info("raft snapshot: persisted", "index", s.index, "keys", keys, "ms", time.Since(start).Milliseconds())
	return nil
}

// stream writes the capture into copyDir (a leftover of an interrupted
// Persist is removed first), opens that copy read-only and writes it to sink.
func (s *fsmSnapshot) stream(sink io.Writer) (int, error) {
	if err := os.RemoveAll(s.copyDir); err != nil {
		return 0, err
	}
	if err := s.captured.Write(s.copyDir); err != nil {
		return 0, err
	}
	defer os.RemoveAll(s.copyDir)
	db, err := bitcask.Open(s.copyDir, bitcask.WithReadOnly())
	if err != nil {
		return 0, err
	}
	defer db.Close()
	it := db.Iter()
	defer it.Close()
	return s.write(sink, it)
}

func (s *fsmSnapshot) write(sink io.Writer, it *bitcask.Iter) (int, error) {
	keys := 0
	w := bufio.NewWriterSize(sink, 1<<20)
	w.WriteString(snapMagic)
	var n [8]byte
	bin.BigEndian.PutUint64(n[:], s.index)
	w.Write(n[:])
	putBytes := func(b []byte) {
		var v [bin.MaxVarintLen64]byte
		w.Write(v[:bin.PutUvarint(v[:], uint64(len(b)))])
		w.Write(b)
	}
	var v [bin.MaxVarintLen64]byte
	w.Write(v[:bin.PutUvarint(v[:], uint64(len(s.addr)))])
	for id, a := range s.addr {
		putBytes([]byte(id))
		putBytes([]byte(a))
	}
	for e := range it.Entries() {
		var exp uint64
		if !e.ExpiresAt.IsZero() {
			exp = uint64(e.ExpiresAt.UnixMilli())
		}
		keys++
		w.WriteByte(1)
		putBytes(e.Key)
		putBytes(e.Value)
		bin.BigEndian.PutUint64(n[:], exp)
		if _, err := w.Write(n[:]); err != nil {
			return keys, err
		}
	}
	if err := it.Err(); err != nil {
		return keys, err
	}
	w.WriteByte(0)
	return keys, w.Flush()
}

func (s *fsmSnapshot) Release() { s.captured.Close() }

// Restore loads a snapshot into a fresh store directory, then swaps it in
// for the one being served and deletes the old one. A failure leaves the
// old store in place; a crash leaves a node that rebuilds at its next start.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	gen := f.gen + 1
	db, err := f.openGen(gen)
	if err != nil {
		return err
	}
	index, addr, err := loadSnapshot(bufio.NewReaderSize(rc, 1<<20), db)
	if err != nil {
		db.Close()
		os.RemoveAll(f.genDir(gen))
		return fmt.Errorf("raft snapshot restore: %w", err)
	}
	old := f.s.cur.Swap(newStoreRef(db))
	if f.fc.pend != nil { // bound to the old store
		f.fc.pend.Close()
		f.fc.pend = nil
	}
	f.mu.Lock()
	f.addr = addr
	f.mu.Unlock()
	f.applied.Store(index)
	oldGen := f.gen
	f.gen = gen
	if err := old.db.Close(); err != nil && !errors.Is(err, bitcask.ErrClosed) {
		f.s.log.Warn("raft restore: closing the previous store", "err", err)
	}
	if err := os.RemoveAll(f.genDir(oldGen)); err != nil {
		f.s.log.Warn("raft restore: removing the previous store", "err", err)
	}
	f.s.log.Info("raft snapshot restored", "index", index, "store", f.genDir(gen))
	return nil
}

func loadSnapshot(r *bufio.Reader, db *bitcask.DB) (uint64, map[string]string, error) {
	magic := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != snapMagic {
		return 0, nil, fmt.Errorf("not a bitcaskd snapshot (header %q)", magic)
	}
	var n [8]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return 0, nil, err
	}
	index := bin.BigEndian.Uint64(n[:])
	getBytes := func() ([]byte, error) {
		l, err := bin.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if l > bitcask.MaxValueLen {
			return nil, fmt.Errorf("field of %d bytes", l)
		}
		b := make([]byte, l)
		_, err = io.ReadFull(r, b)
		return b, err
	}
	cnt, err := bin.ReadUvarint(r)
	if err != nil {
		return 0, nil, err
	}
	addr := map[string]string{}
	for i := uint64(0); i < cnt; i++ {
		id, err := getBytes()
		if err != nil {
			return 0, nil, err
		}
		a, err := getBytes()
		if err != nil {
			return 0, nil, err
		}
		addr[string(id)] = string(a)
	}
	b := db.Batch()
	defer b.Close()
	size := 0
	for {
		tag, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		if tag == 0 {
			break
		}
		if tag != 1 {
			return 0, nil, fmt.Errorf("bad record tag %d", tag)
		}
		k, err := getBytes()
		if err != nil {
			return 0, nil, err
		}
		v, err := getBytes()
		if err != nil {
			return 0, nil, err
		}
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return 0, nil, err
		}
		if exp := bin.BigEndian.Uint64(n[:]); exp != 0 {
			err = b.PutExpiring(k, v, msTime(int64(exp)))
		} else {
			err = b.Put(k, v)
		}
		if err != nil {
			return 0, nil, err
		}
		size += len(k) + len(v)
		if size >= 1<<20 || b.Len() >= 4096 {
			if err := b.Commit(); err != nil {
				return 0, nil, err
			}
			size = 0
		}
	}
	if err := b.Commit(); err != nil {
		return 0, nil, err
	}
	return index, addr, nil
}

// parseHostPort splits a RESP address for ROLE and CLUSTER replies.
func parseHostPort(addr string) (string, int) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, 0
	}
	p, _ := strconv.Atoi(addr[i+1:])
	return addr[:i], p
}
