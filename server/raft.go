package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/libbitcask/libbitcask/server/raftstore"
	"github.com/redis/go-redis/v9"
)

// raftConfig is the --raft part of the command line.
type raftConfig struct {
	enabled           bool
	nodeID            string
	raftAddr          string
	raftDir           string
	join              string
	bootstrap         bool
	staleReads        bool
	logStore          string // bitcask or boltdb
	snapshotThreshold uint64
	snapshotInterval  time.Duration
	trailingLogs      uint64
	applyTimeout      time.Duration
	heartbeat         time.Duration
}

// raftNode is the server's replication: a hashicorp/raft node whose state
// machine is the served store.
type raftNode struct {
	s        *server
	cfg      raftConfig
	r        *raft.Raft
	fsm      *fsm
	trans    *raft.NetworkTransport
	store    io.Closer // the log and stable store
	respAddr string

	readyTerm atomic.Uint64 // term in which a barrier has completed (see readBarrier)
	gate      readGate
	stop      chan struct{}
	wg        sync.WaitGroup
}

// startRaft starts the node. The server must serve the state machine's
// store (see openFSM), and respAddr is where this node answers clients.
func startRaft(s *server, f *fsm, cfg raftConfig, respAddr string) (*raftNode, error) {
	n := &raftNode{s: s, cfg: cfg, fsm: f, respAddr: respAddr, stop: make(chan struct{})}
	n.gate.n = n
	f.bind(s)
	level := hclog.Warn
	if s.log.Enabled(context.Background(), -4) {
		level = hclog.Debug
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: level, Output: os.Stderr})
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.nodeID)
	rc.Logger = logger
	rc.HeartbeatTimeout = cfg.heartbeat
	rc.ElectionTimeout = cfg.heartbeat
	rc.LeaderLeaseTimeout = cfg.heartbeat / 2
	rc.SnapshotThreshold = cfg.snapshotThreshold
	rc.SnapshotInterval = cfg.snapshotInterval
	rc.TrailingLogs = cfg.trailingLogs
	if err := os.MkdirAll(cfg.raftDir, 0o755); err != nil {
		return nil, err
	}
	var logs raft.LogStore
	var stable raft.StableStore
	switch cfg.logStore {
	case "bitcask":
		st, err := raftstore.Open(filepath.Join(cfg.raftDir, "log"))
		if err != nil {
			return nil, fmt.Errorf("raft log store: %w", err)
		}
		logs, stable, n.store = st, st, st
	case "boltdb":
		st, err := raftboltdb.NewBoltStore(filepath.Join(cfg.raftDir, "raft.db"))
		if err != nil {
			return nil, fmt.Errorf("raft log store: %w", err)
		}
		logs, stable, n.store = st, st, st
	default:
		return nil, fmt.Errorf("--raft-log-store %q: want bitcask or boltdb", cfg.logStore)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.raftDir, 2, logger)
	if err != nil {
		n.store.Close()
		return nil, err
	}
	adv, err := net.ResolveTCPAddr("tcp", cfg.raftAddr)
	if err != nil {
		n.store.Close()
		return nil, fmt.Errorf("--raft-addr %q: %w", cfg.raftAddr, err)
	}
	n.trans, err = raft.NewTCPTransportWithLogger(cfg.raftAddr, adv, 8, 10*time.Second, logger)
	if err != nil {
		n.store.Close()
		return nil, fmt.Errorf("--raft-addr %q: %w", cfg.raftAddr, err)
	}
	if cfg.bootstrap {
		has, err := raft.HasExistingState(logs, stable, snaps)
		if err != nil {
			n.trans.Close()
			n.store.Close()
			return nil, err
		}
		if !has {
			conf := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: n.trans.LocalAddr()}}}
			if err := raft.BootstrapCluster(rc, logs, stable, snaps, n.trans, conf); err != nil {
				n.trans.Close()
				n.store.Close()
				return nil, err
			}
		}
	}
	n.r, err = raft.NewRaft(rc, f, logs, stable, snaps, n.trans)
	if err != nil {
		n.trans.Close()
		n.store.Close()
		return nil, err
	}
	n.wg.Add(1)
	go n.watchLeadership()
	if cfg.join != "" {
		n.wg.Add(1)
		go n.joinLoop(cfg.join)
	}
	return n, nil
}

// shutdown stops raft and closes the log store.
func (n *raftNode) shutdown() error {
	close(n.stop)
	err := n.r.Shutdown().Error()
	n.wg.Wait()
	n.trans.Close()
	if cerr := n.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// watchLeadership makes sure a new leader's RESP address is in the state
// machine, so that followers can redirect clients to it.
func (n *raftNode) watchLeadership() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			return
		case leader := <-n.r.LeaderCh():
			if !leader {
				continue
			}
			n.s.log.Info("raft: this node is the leader", "id", n.cfg.nodeID, "term", n.r.CurrentTerm())
			for n.r.State() == raft.Leader && n.fsm.addrOf(n.cfg.nodeID) != n.respAddr {
				if err := n.r.Apply(encodeAddr(n.cfg.nodeID, n.respAddr), n.cfg.applyTimeout).Error(); err != nil {
					n.s.log.Warn("raft: cannot record this node's address", "err", err)
					select {
					case <-n.stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
		}
	}
}

// joinLoop asks the cluster at addr (any node: a follower's MOVED is
// followed) to add this node as a voter, until it is in the configuration.
// A node whose own log already has it in the configuration (a restart with
// --join) asks nothing: asking again after a RAFT REMOVE would undo it.
func (n *raftNode) joinLoop(addr string) {
	defer n.wg.Done()
	for {
		if n.inConfiguration() {
			return
		}
		err := n.joinOnce(addr)
		if err == nil {
			n.s.log.Info("raft: joined the cluster", "via", addr)
			return
		}
		var moved string
		if msg := err.Error(); strings.HasPrefix(msg, "MOVED ") {
			if f := strings.Fields(msg); len(f) == 3 {
				moved = f[2]
			}
		}
		if moved != "" {
			addr = moved
			continue
		}
		n.s.log.Warn("raft: join failed, retrying", "via", addr, "err", err)
		select {
		case <-n.stop:
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// inConfiguration reports whether this node's own Raft state lists it.
func (n *raftNode) inConfiguration() bool {
	for _, sv := range n.servers() {
		if string(sv.ID) == n.cfg.nodeID {
			return true
		}
	}
	return false
}

func (n *raftNode) joinOnce(addr string) error {
	opts := &redis.Options{Addr: addr, Password: n.s.cfg.requirepass, MaxRetries: -1, Protocol: 2, DialTimeout: 2 * time.Second}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.applyTimeout+5*time.Second)
	defer cancel()
	return c.Do(ctx, "raft", "join", n.cfg.nodeID, string(n.trans.LocalAddr()), n.respAddr).Err()
}

func (n *raftNode) isLeader() bool { return n.r.State() == raft.Leader }

// redirect is the error a client gets for a request only the leader may
// serve: Redis Cluster's MOVED, which cluster-aware clients (and redis-cli
// -c) follow, with slot 0 (one group serves every slot).
func (n *raftNode) redirect() string {
	_, id := n.r.LeaderWithID()
	if id != "" {
		if a := n.fsm.addrOf(string(id)); a != "" {
			return "MOVED 0 " + a
		}
	}
	return "CLUSTERDOWN no Raft leader is known (an election may be under way); retry"
}

// applyErr is the reply to a write raft did not commit.
func (n *raftNode) applyErr(err error) string {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return n.redirect() // not in the log: certainly not applied
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return "TRYAGAIN the Raft log is busy: the write was not applied; retry"
	case errors.Is(err, raft.ErrRaftShutdown):
		return "ERR the server is shutting down: the write may or may not have been applied"
	}
	return "ERR " + err.Error() + ": the write may or may not have been applied"
}

// intercept routes a command in --raft mode; it reports whether it has
// taken care of it (queued a write, or answered an error).
func (n *raftNode) intercept(c *client, cmd *command, args [][]byte) bool {
	switch {
	case cmd.flags&flagWrite != 0:
		if !n.isLeader() {
			c.out.err(n.redirect())
			return true
		}
		// Arguments live in the reader's buffer: copy them.
		size := 0
		cp := make([][]byte, len(args))
		for i, a := range args {
			cp[i] = append([]byte(nil), a...)
			size += len(a)
		}
		c.props = append(c.props, cp)
		c.propBytes += size
		if len(c.props) >= 512 || c.propBytes >= 1<<20 {
			c.commitProposals()
		}
		return true
	case cmd.flags&flagReadonly != 0:
		if n.cfg.staleReads {
			return false
		}
		if !n.isLeader() {
			c.out.err(n.redirect())
			return true
		}
		// Commands parsed with no socket read since a barrier of this
		// client started had arrived before it: that barrier covers them.
		if c.barrierOK && c.rd.fills == c.barrierFills {
			return false
		}
		fills := c.rd.fills
		c.barrierOK = false
		if err := n.gate.wait(); err != nil {
			if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
				c.out.err(n.redirect())
			} else {
				c.out.err("ERR cannot confirm leadership for a linearizable read: " + err.Error())
			}
			return true
		}
		c.barrierFills, c.barrierOK = fills, true
	}
	return false
}

// commitProposals sends the writes queued by one client as one log entry
// and appends their replies once it is applied.
func (c *client) commitProposals() {
	if len(c.props) == 0 {
		return
	}
	n := c.s.raft
	props := c.props
	c.props, c.propBytes = nil, 0
	f := n.r.Apply(encodeCommands(c.out.proto, nowMs(), props), n.cfg.applyTimeout)
	err := f.Error()
	if err == nil {
		switch r := f.Response().(type) {
		case []byte:
			c.out.b = append(c.out.b, r...)
			return
		case error:
			err = r
		}
	}
	msg := n.applyErr(err)
	for range props {
		c.out.err(msg)
	}
}

// readGate makes reads linearizable: a read waits for a raft barrier
// issued after it arrived. A barrier is a log entry committed by a quorum
// in the leader's current term and applied before it returns, so the read
// then sees every write acknowledged before it, and a deposed leader cannot
// complete one. Reads arriving while a barrier is in flight share the next.
type readGate struct {
	n       *raftNode
	mu      sync.Mutex
	next    *readRound
	running bool
}

type readRound struct {
	done chan struct{}
	err  error
}

func (g *readGate) wait() error {
	g.mu.Lock()
	if g.next == nil {
		g.next = &readRound{done: make(chan struct{})}
		if !g.running {
			g.running = true
			go g.loop()
		}
	}
	rd := g.next
	g.mu.Unlock()
	<-rd.done
	return rd.err
}

func (g *readGate) loop() {
	for {
		g.mu.Lock()
		rd := g.next
		g.next = nil
		if rd == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		rd.err = g.n.r.Barrier(g.n.cfg.applyTimeout).Error()
		close(rd.done)
	}
}

// leaderAddr is the leader's ID and RESP address ("" if unknown).
func (n *raftNode) leaderAddr() (string, string) {
	_, id := n.r.LeaderWithID()
	return string(id), n.fsm.addrOf(string(id))
}

func (n *raftNode) servers() []raft.Server {
	f := n.r.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	return f.Configuration().Servers
}

// info writes INFO's Replication section.
func (n *raftNode) info(kv func(string, any)) {
	st := n.r.Stats()
	id, addr := n.leaderAddr()
	if n.isLeader() {
		kv("role", "master")
		kv("connected_slaves", len(n.servers())-1)
	} else {
		kv("role", "slave")
		h, p := parseHostPort(addr)
		kv("master_host", h)
		kv("master_port", p)
		link := "down"
		if addr != "" {
			link = "up"
		}
		kv("master_link_status", link)
	}
	kv("raft_node_id", n.cfg.nodeID)
	kv("raft_state", n.r.State().String())
	kv("raft_term", st["term"])
	kv("raft_leader_id", id)
	kv("raft_leader_addr", addr)
	kv("raft_commit_index", n.r.CommitIndex())
	kv("raft_applied_index", n.fsm.applied.Load())
	kv("raft_last_log_index", st["last_log_index"])
	kv("raft_last_snapshot_index", st["last_snapshot_index"])
	kv("raft_num_peers", st["num_peers"])
	kv("raft_log_store", n.cfg.logStore)
	kv("raft_stale_reads", boolInt(n.cfg.staleReads))
}

// registerRaftCommands adds ROLE and RAFT; only --raft servers have them.
func registerRaftCommands() {
	if commands["raft"] != nil {
		return
	}
	def("role", 1, flagLoading|flagStale|flagFast, 0, 0, 0, "server", "Returns the replication role.", cmdRole)
	def("cluster", -2, flagLoading|flagStale, 0, 0, 0, "cluster", "Cluster-protocol view of the Raft group: SLOTS, INFO, MYID.", cmdCluster)
	def("raft", -2, flagAdmin|flagLoading|flagStale, 0, 0, 0, "server", "Raft membership and state: JOIN, ADD, REMOVE, PEERS, LEADER, SNAPSHOT.", cmdRaft)
}

// cmdRole answers like Redis: ["master", offset, [[host, port, offset]...]]
// on the leader, ["slave", host, port, state, offset] elsewhere; the
// offset is the applied log index.
func cmdRole(c *client, _ [][]byte) {
	n := c.s.raft
	applied := int64(n.fsm.applied.Load())
	if n.isLeader() {
		var peers [][2]string
		addrs := n.fsm.addrs()
		for _, sv := range n.servers() {
			if string(sv.ID) != n.cfg.nodeID {
				peers = append(peers, [2]string{string(sv.ID), addrs[string(sv.ID)]})
			}
		}
		c.out.array(3)
		c.out.bulkStr("master")
		c.out.int(applied)
		c.out.array(len(peers))
		for _, p := range peers {
			h, port := parseHostPort(p[1])
			c.out.array(3)
			c.out.bulkStr(h)
			c.out.bulkStr(strconv.Itoa(port))
			c.out.bulkStr(strconv.FormatInt(applied, 10))
		}
		return
	}
	_, addr := n.leaderAddr()
	h, port := parseHostPort(addr)
	state := "connected"
	if addr == "" {
		h, port, state = "?", -1, "connect"
	}
	c.out.array(5)
	c.out.bulkStr("slave")
	c.out.bulkStr(h)
	c.out.int(int64(port))
	c.out.bulkStr(state)
	c.out.int(applied)
}

// cmdRaft: RAFT JOIN|ADD id raft-addr [resp-addr], RAFT REMOVE id,
// RAFT PEERS, RAFT LEADER, RAFT SNAPSHOT. Membership changes go through
// the log (hashicorp/raft's AddVoter, RemoveServer), on the leader.
func cmdRaft(c *client, args [][]byte) {
	n := c.s.raft
	sub := strings.ToLower(string(args[1]))
	wrongArgs := func() { c.out.err("ERR wrong number of arguments for 'raft|" + sub + "' command") }
	switch sub {
	case "join", "add":
		if len(args) != 4 && len(args) != 5 {
			wrongArgs()
			return
		}
		if !n.isLeader() {
			c.out.err(n.redirect())
			return
		}
		id, raddr := string(args[2]), string(args[3])
		if _, _, err := net.SplitHostPort(raddr); err != nil || id == "" {
			c.out.err(fmt.Sprintf("ERR invalid node id %q or raft address %q (want HOST:PORT)", id, raddr))
			return
		}
		if err := n.r.AddVoter(raft.ServerID(id), raft.ServerAddress(raddr), 0, n.cfg.applyTimeout).Error(); err != nil {
			c.out.err(n.applyErr(err))
			return
		}
		if len(args) == 5 {
			if err := n.r.Apply(encodeAddr(id, string(args[4])), n.cfg.applyTimeout).Error(); err != nil {
				c.out.err(n.applyErr(err))
				return
			}
		}
		c.s.log.Info("raft: voter added", "id", id, "raft_addr", raddr)
		c.out.ok()
	case "remove":
		if len(args) != 3 {
			wrongArgs()
			return
		}
		if !n.isLeader() {
			c.out.err(n.redirect())
			return
		}
		id := string(args[2])
		found := false
		for _, sv := range n.servers() {
			found = found || string(sv.ID) == id
		}
		if !found {
			c.out.err(fmt.Sprintf("ERR no node %q in the cluster", id))
			return
		}
		if err := n.r.RemoveServer(raft.ServerID(id), 0, n.cfg.applyTimeout).Error(); err != nil {
			c.out.err(n.applyErr(err))
			return
		}
		c.s.log.Info("raft: node removed", "id", id)
		c.out.ok()
	case "peers":
		addrs := n.fsm.addrs()
		lid, _ := n.leaderAddr()
		svs := n.servers()
		sort.Slice(svs, func(i, j int) bool { return svs[i].ID < svs[j].ID })
		c.out.array(len(svs))
		for _, sv := range svs {
			role := "follower"
			if string(sv.ID) == lid {
				role = "leader"
			}
			c.out.array(5)
			c.out.bulkStr(string(sv.ID))
			c.out.bulkStr(string(sv.Address))
			c.out.bulkStr(addrs[string(sv.ID)])
			c.out.bulkStr(sv.Suffrage.String())
			c.out.bulkStr(role)
		}
	case "leader":
		id, addr := n.leaderAddr()
		c.out.array(2)
		c.out.bulkStr(id)
		c.out.bulkStr(addr)
	case "snapshot":
		if err := n.r.Snapshot().Error(); err != nil {
			c.out.err("ERR snapshot: " + err.Error())
			return
		}
		c.out.ok()
	default:
		c.out.err(fmt.Sprintf("ERR unknown subcommand '%s'. Try RAFT JOIN, ADD, REMOVE, PEERS, LEADER, SNAPSHOT.", trunc(args[1])))
	}
}

// cmdCluster gives cluster-mode clients (go-redis ClusterClient, ioredis
// Cluster, redis-py RedisCluster, redis-cli -c) the map they route by: one
// group, so every slot (0-16383) belongs to the leader, and the followers
// are its replicas. A client then sends each command to the leader and
// refreshes the map when a MOVED tells it the leader changed.
func cmdCluster(c *client, args [][]byte) {
	n := c.s.raft
	sub := strings.ToLower(string(args[1]))
	lid, laddr := n.leaderAddr()
	addrs := n.fsm.addrs()
	switch sub {
	case "slots":
		if laddr == "" {
			c.out.err(n.redirect())
			return
		}
		var members []string
		members = append(members, lid)
		for _, sv := range n.servers() {
			if id := string(sv.ID); id != lid && addrs[id] != "" {
				members = append(members, id)
			}
		}
		c.out.array(1)
		c.out.array(2 + len(members))
		c.out.int(0)
		c.out.int(16383)
		for _, id := range members {
			h, p := parseHostPort(addrs[id])
			c.out.array(3)
			c.out.bulkStr(h)
			c.out.int(int64(p))
			c.out.bulkStr(id)
		}
	case "myid":
		c.out.bulkStr(n.cfg.nodeID)
	case "info":
		state := "ok"
		if laddr == "" {
			state = "fail"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "cluster_enabled:1\r\ncluster_state:%s\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n", state)
		fmt.Fprintf(&b, "cluster_known_nodes:%d\r\ncluster_size:1\r\ncluster_current_epoch:%d\r\n", len(n.servers()), n.r.CurrentTerm())
		c.out.verbatim(b.String())
	default:
		c.out.err(fmt.Sprintf("ERR unknown subcommand '%s'. Try CLUSTER SLOTS, INFO, MYID.", trunc(args[1])))
	}
}
