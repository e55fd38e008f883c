package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

// config is bitcaskd's command line.
type config struct {
	dir             string
	addr            string
	metricsAddr     string
	requirepass     string
	sync            bitcask.SyncMode
	syncInterval    time.Duration
	maxClients      int
	idleTimeout     time.Duration
	maxBulkBytes    int64
	maxRequestBytes int64
	drainTimeout    time.Duration
	raft            raftConfig
}

type server struct {
	cfg     config
	cur     atomic.Pointer[storeRef] // the store; swapped by a Raft snapshot restore
	raft    *raftNode                // nil unless --raft
	log     *slog.Logger
	m       *metrics
	ln      net.Listener
	started time.Time

	mu       sync.Mutex
	clients  map[*client]struct{}
	draining bool
	wg       sync.WaitGroup

	nextID       atomic.Int64
	connsTotal   atomic.Int64
	rejected     atomic.Int64
	commandsDone atomic.Int64
	hits, misses atomic.Int64
	lastSave     atomic.Int64

	shutdownOnce sync.Once
	shutdownReq  chan struct{} // closed by SHUTDOWN
}

// storeRef is the store the server serves, with a pool of batches bound to
// it. In --raft mode a snapshot restore swaps in another store.
type storeRef struct {
	db      *bitcask.DB
	batches sync.Pool
	owned   sync.Map // *bitcask.Batch made by this ref's pool
}

func newStoreRef(db *bitcask.DB) *storeRef {
	r := &storeRef{db: db}
	r.batches.New = func() any { b := db.Batch(); r.owned.Store(b, struct{}{}); return b }
	return r
}

// client is one connection's state; its commands run on its goroutine.
type client struct {
	s       *server
	conn    net.Conn
	id      int64
	addr    string
	laddr   string
	last    atomic.Int64 // unix ns of the last request (gnet mode's --timeout)
	created time.Time
	clock   int64 // fixed "now" (unix ms) of a replicated command; 0: wall clock
	rd      *reader
	getBuf  []byte

	// Plain SETs of one pipeline, applied as one batch (one write) before
	// any other command runs and before replies are sent (see setPending).
	pend      *bitcask.Batch
	pendN     int
	pendBytes int
	pendStart int

	// INCR/DECR/INCRBY/DECRBY of one pipeline, applied as one conditional
	// batch (see incrPending); their replies are appended when it commits.
	incrs []incrOp

	// --raft: write commands of one pipeline, proposed as one log entry
	// (see commitProposals); their replies are appended once it applies.
	props     [][][]byte
	propBytes int
	// A barrier that started after the reader's fill number barrierFills
	// completed: reads received by then need no other (see intercept).
	barrierFills uint64
	barrierOK    bool

	out     reply
	authed  bool
	quit    bool // QUIT or a fatal error: flush and close
	name    atomic.Pointer[string]
	libName atomic.Pointer[string]
	libVer  atomic.Pointer[string]
	lastCmd atomic.Pointer[string]
	resp    atomic.Int32 // c.out.proto, for other clients' CLIENT LIST
}

func newServer(cfg config, db *bitcask.DB, log *slog.Logger, m *metrics) *server {
	s := &server{
		cfg: cfg, log: log, m: m, started: time.Now(),
		clients:     make(map[*client]struct{}),
		shutdownReq: make(chan struct{}),
	}
	s.lastSave.Store(time.Now().Unix())
	s.cur.Store(newStoreRef(db))
	return s
}

// db is the store being served now.
func (s *server) db() *bitcask.DB { return s.cur.Load().db }

func (s *server) batch() *bitcask.Batch {
	b := s.cur.Load().batches.Get().(*bitcask.Batch)
	b.Reset()
	return b
}

// release returns a batch to its store's pool; one made for a store since
// swapped out is freed instead.
func (s *server) release(b *bitcask.Batch) {
	r := s.cur.Load()
	if _, ok := r.owned.Load(b); !ok {
		b.Close()
		return
	}
	b.Reset()
	r.batches.Put(b)
}

// serve accepts connections until the listener is closed.
func (s *server) serve(ln net.Listener) error {
	if s.ln == nil { // run sets it before serving, so that drain may read it
		s.ln = ln
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			s.log.Warn("accept failed", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s.connsTotal.Add(1)
		c := &client{
			s: s, conn: conn, id: s.nextID.Add(1), addr: conn.RemoteAddr().String(), laddr: conn.LocalAddr().String(),
			created: time.Now(), authed: s.cfg.requirepass == "",
		}
		s.mu.Lock()
		if s.draining || len(s.clients) >= s.cfg.maxClients {
			draining := s.draining
			s.mu.Unlock()
			s.rejected.Add(1)
			s.m.rejected.Inc()
			if !draining {
				s.log.Warn("connection refused: max clients reached", "remote", c.addr, "maxclients", s.cfg.maxClients)
				_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = conn.Write([]byte("-ERR max number of clients reached\r\n"))
			}
			conn.Close()
			continue
		}
		s.clients[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.m.connections.Inc()
		s.m.connectionsTotal.Inc()
		go s.handle(c)
	}
}

func (s *server) clientCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// handle runs one connection: parse a command, execute it, append exactly one
// reply; replies are written when no further complete command is buffered
// (so a pipeline of N commands costs one write).
func (s *server) handle(c *client) {
	defer func() {
		c.conn.Close()
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
		s.m.connections.Dec()
		s.wg.Done()
	}()
	if tc, ok := c.conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	c.out.proto = 2
	c.resp.Store(2)
	c.getBuf = make([]byte, 4096)
	c.rd = newReader(c.conn, limits{
		maxBulk:    s.cfg.maxBulkBytes,
		maxArgs:    1024 * 1024,
		maxRequest: s.cfg.maxRequestBytes,
	})
	defer func() {
		if c.pend != nil {
			s.release(c.pend)
		}
	}()
	flush := func() error {
		if len(c.props) > 0 {
			c.commitProposals()
		}
		c.commitPending()
		c.commitIncrs()
		if len(c.out.b) == 0 {
			return nil
		}
		_, err := c.conn.Write(c.out.b)
		if cap(c.out.b) > 1<<20 {
			c.out.b = nil
		} else {
			c.out.b = c.out.b[:0]
		}
		if err != nil {
			return err
		}
		if s.cfg.idleTimeout > 0 && !s.isDraining() {
			_ = c.conn.SetReadDeadline(time.Now().Add(s.cfg.idleTimeout))
		}
		return nil
	}
	if s.cfg.idleTimeout > 0 {
		_ = c.conn.SetReadDeadline(time.Now().Add(s.cfg.idleTimeout))
	}
	for !c.quit {
		args, err := c.rd.next(flush)
		if err != nil {
			var pe protoError
			switch {
			case errors.As(err, &pe):
				s.m.protocolErrors.Inc()
				s.log.Info("protocol error, closing connection", "remote", c.addr, "err", pe.Error())
				c.out.err("ERR " + pe.Error())
				_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
				_ = flush()
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			case isTimeout(err):
				if !s.isDraining() {
					s.log.Debug("idle client closed", "remote", c.addr)
				}
			default:
				s.log.Debug("connection error", "remote", c.addr, "err", err)
			}
			return
		}
		s.exec(c, args)
		if len(c.out.b) > 64<<10 && c.rd.buffered() {
			if err := flush(); err != nil {
				return
			}
		}
	}
	_ = flush()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// drain stops accepting, lets every connection finish the requests it has
// already received (their reads are unblocked), and waits for them up to
// the drain timeout.
func (s *server) drain() {
	s.mu.Lock()
	s.draining = true
	for c := range s.clients {
		_ = c.conn.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.drainTimeout):
		s.log.Warn("drain timeout: closing remaining connections")
		s.mu.Lock()
		for c := range s.clients {
			c.conn.Close()
		}
		s.mu.Unlock()
		<-done
	}
}

func (s *server) requestShutdown() {
	s.shutdownOnce.Do(func() { close(s.shutdownReq) })
}

// lower copies an ASCII command name to lower case into buf.
func lower(buf []byte, b []byte) []byte {
	buf = buf[:0]
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

// exec runs one command and appends exactly one reply.
func (s *server) exec(c *client, args [][]byte) {
	var nb [32]byte
	name := lower(nb[:0], args[0])
	cmd := commands[string(name)]
	arityOK := cmd != nil && ((cmd.arity > 0 && len(args) == cmd.arity) || (cmd.arity < 0 && len(args) >= -cmd.arity))
	if len(c.props) > 0 && (cmd == nil || cmd.flags&flagWrite == 0 || !arityOK || !c.authed) {
		// Queued writes' replies come first.
		c.commitProposals()
	}
	if cmd == nil {
		s.m.unknown.Inc()
		s.log.Debug("unknown command", "remote", c.addr, "cmd", string(trunc(args[0])))
		c.out.err(unknownCommand(args))
		return
	}
	c.lastCmd.Store(&cmd.name)
	if c.pendN > 0 && cmd != setCommand {
		c.commitPending()
	}
	if len(c.incrs) > 0 && cmd.flags&flagIncr == 0 {
		c.commitIncrs()
	}
	// Redis's order of checks: unknown command, arity, then authentication.
	if !arityOK {
		cmd.stats.errors.Inc()
		c.out.err("ERR wrong number of arguments for '" + cmd.name + "' command")
		return
	}
	if !c.authed && cmd.flags&flagNoAuth == 0 {
		cmd.stats.errors.Inc()
		c.out.err("NOAUTH Authentication required.")
		return
	}
	start := time.Now()
	before := len(c.out.b)
	if s.raft != nil && s.raft.intercept(c, cmd, args) {
		cmd.stats.calls.Inc()
		s.commandsDone.Add(1)
		return
	}
	cmd.fn(c, args)
	cmd.stats.latency.Observe(time.Since(start).Seconds())
	cmd.stats.calls.Inc()
	s.commandsDone.Add(1)
	if len(c.out.b) > before && c.out.b[before] == '-' {
		cmd.stats.errors.Inc()
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("command error", "remote", c.addr, "cmd", cmd.name, "reply", string(trunc(c.out.b[before:])))
		}
	}
}

// unknownCommand is Redis's message, quoting up to 128 bytes of the name and
// of each argument.
func unknownCommand(args [][]byte) string {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.Write(trunc(args[0]))
	b.WriteString("', with args beginning with: ")
	for _, a := range args[1:] {
		if b.Len() > 1024 {
			break
		}
		b.WriteByte('\'')
		b.Write(trunc(a))
		b.WriteString("' ")
	}
	return b.String()
}

func trunc(b []byte) []byte {
	if len(b) > 128 {
		return b[:128]
	}
	return b
}

// storeErr answers a library failure.
func (c *client) storeErr(err error) {
	c.s.log.Error("store error", "err", err)
	c.s.m.storeErrors.Inc()
	c.out.err("ERR " + err.Error())
}

func hostPort(addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

func pid() int { return os.Getpid() }

// setCommand is the entry whose plain form may be batched (see cmdSet).
var setCommand *command

// setPending adds a plain SET to this pipeline's batch and its "+OK" to the
// replies; commitPending applies the batch. The replies of the batched SETs
// are the last bytes of the output, so a failed commit turns them into errors.
func (c *client) setPending(key, val []byte, at int64) bool {
	if c.pend == nil {
		c.pend = c.s.batch()
	}
	if c.pendN == 0 {
		c.pendStart = len(c.out.b)
	}
	if err := c.pend.PutExpiring(key, val, msTime(at)); err != nil {
		c.commitPending()
		c.fail(err)
		return true
	}
	c.pendN++
	c.pendBytes += len(key) + len(val)
	c.out.ok()
	if c.pendN >= 1024 || c.pendBytes >= 1<<20 {
		c.commitPending()
	}
	return true
}

func (c *client) commitPending() {
	if c.pendN == 0 {
		return
	}
	n := c.pendN
	c.pendN, c.pendBytes = 0, 0
	if err := c.pend.Commit(); err != nil {
		c.pend.Reset()
		c.out.b = c.out.b[:c.pendStart]
		for i := 0; i < n; i++ {
			c.fail(err)
		}
	}
}
