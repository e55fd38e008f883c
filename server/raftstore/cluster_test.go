package raftstore

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// listFSM records the commands applied, in order.
type listFSM struct {
	mu  sync.Mutex
	cmd []string
}

func (f *listFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmd = append(f.cmd, string(l.Data))
	return len(f.cmd)
}

func (f *listFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &listSnap{append([]string(nil), f.cmd...)}, nil
}

func (f *listFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmd = nil
	for _, c := range bytes.Split(b, []byte{'\n'}) {
		if len(c) > 0 {
			f.cmd = append(f.cmd, string(c))
		}
	}
	return nil
}

func (f *listFSM) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmd...)
}

type listSnap struct{ cmd []string }

func (s *listSnap) Persist(sink raft.SnapshotSink) error {
	for _, c := range s.cmd {
		if _, err := io.WriteString(sink, c+"\n"); err != nil {
			sink.Cancel()
			return err
		}
	}
	return sink.Close()
}

func (s *listSnap) Release() {}

type node struct {
	id    raft.ServerID
	dir   string
	store *Store
	fsm   *listFSM
	trans *raft.InmemTransport
	r     *raft.Raft
}

func startNode(t *testing.T, n *node, trans *raft.InmemTransport) {
	t.Helper()
	conf := raft.DefaultConfig()
	conf.LocalID = n.id
	conf.HeartbeatTimeout = 100 * time.Millisecond
	conf.ElectionTimeout = 100 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.SnapshotThreshold = 50
	conf.TrailingLogs = 10
	conf.Logger = hclog.New(&hclog.LoggerOptions{Name: string(n.id), Level: hclog.Error, Output: os.Stderr})
	st, err := Open(filepath.Join(n.dir, "raft"))
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := raft.NewFileSnapshotStore(n.dir, 2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	n.store, n.fsm, n.trans = st, &listFSM{}, trans
	n.r, err = raft.NewRaft(conf, n.fsm, st, st, snaps, trans)
	if err != nil {
		t.Fatal(err)
	}
}

func (n *node) stop(t *testing.T) {
	t.Helper()
	if err := n.r.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	if err := n.store.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond; the limit only stops a hung test, it asserts nothing
// about speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("gave up waiting for %s", what)
}

func leaderOf(nodes []*node) *node {
	for _, n := range nodes {
		if n.r != nil && n.r.State() == raft.Leader {
			return n
		}
	}
	return nil
}

func apply(t *testing.T, nodes []*node, cmd string) {
	t.Helper()
	for {
		var l *node
		waitFor(t, "a leader", func() bool { l = leaderOf(nodes); return l != nil })
		err := l.r.Apply([]byte(cmd), 5*time.Second).Error()
		if err == nil {
			return
		}
		if err != raft.ErrNotLeader && err != raft.ErrLeadershipLost && err != raft.ErrLeadershipTransferInProgress {
			t.Fatal(err)
		}
	}
}

// A 3-node cluster whose log and stable stores are this package's: it
// elects a leader, replicates, snapshots and truncates the log (DeleteRange),
// survives the leader's restart and brings a follower whose store was
// wiped back from a snapshot; every FSM ends with the same commands.
func TestRaftCluster(t *testing.T) {
	var nodes []*node
	var servers []raft.Server
	for i := 0; i < 3; i++ {
		id := raft.ServerID("n" + strconv.Itoa(i))
		addr, trans := raft.NewInmemTransport(raft.ServerAddress(id))
		n := &node{id: id, dir: t.TempDir()}
		startNode(t, n, trans)
		nodes = append(nodes, n)
		servers = append(servers, raft.Server{ID: id, Address: addr})
	}
	for _, a := range nodes {
		for _, b := range nodes {
			a.trans.Connect(b.trans.LocalAddr(), b.trans)
		}
	}
	defer func() {
		for _, n := range nodes {
			n.stop(t)
		}
	}()
	if err := nodes[0].r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatal(err)
	}
	var want []string
	applyN := func(from, to int) {
		for i := from; i < to; i++ {
			c := fmt.Sprintf("cmd-%d", i)
			apply(t, nodes, c)
			want = append(want, c)
		}
	}
	same := func(what string) {
		waitFor(t, what, func() bool {
			for _, n := range nodes {
				if fmt.Sprint(n.fsm.list()) != fmt.Sprint(want) {
					return false
				}
			}
			return true
		})
	}
	applyN(0, 120)
	same("every FSM to have 120 commands")
	l := leaderOf(nodes)
	if err := l.r.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	if f, _ := l.store.FirstIndex(); f <= 1 {
		t.Fatalf("after a snapshot the leader's log still starts at %d", f)
	}

	// Restart the leader on its store: its log is read back.
	restart := func(n *node, wipe bool) {
		trans := n.trans
		n.stop(t)
		if wipe {
			if err := os.RemoveAll(n.dir); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(n.dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		startNode(t, n, trans)
	}
	restart(l, false)
	applyN(120, 200)
	same("every FSM to have 200 commands after the leader's restart")

	// A follower loses everything; its snapshot and log come from the leader.
	var f *node
	waitFor(t, "a leader", func() bool { return leaderOf(nodes) != nil })
	for _, n := range nodes {
		if n != leaderOf(nodes) {
			f = n
		}
	}
	if err := leaderOf(nodes).r.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	restart(f, true)
	applyN(200, 260)
	same("every FSM to have 260 commands after a wiped follower rejoined")
	if fi, li := bounds(t, f.store); fi == 0 || li < fi {
		t.Fatalf("the rejoined follower's log: first %d last %d", fi, li)
	}
}
