package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"
)

// The checker must reject what the cluster test hopes never to see.
func TestKVModelRejectsBadHistories(t *testing.T) {
	op := func(c int, op, val string, out kvOutput, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: c, Input: kvInput{op: op, key: "k", val: val}, Output: out, Call: call, Return: ret}
	}
	good := []porcupine.Operation{
		op(0, "set", "a", kvOutput{}, 0, 10),
		op(1, "get", "", kvOutput{val: "a"}, 11, 20),
		op(0, "getset", "b", kvOutput{val: "a"}, 21, 30),
		op(1, "setnx", "c", kvOutput{n: 0}, 31, 40),
		op(0, "del", "", kvOutput{n: 1}, 41, 50),
		op(1, "setnx", "d", kvOutput{n: 1}, 51, 60),
		op(2, "set", "e", kvOutput{unknown: true}, 61, 1<<62),
		op(1, "get", "", kvOutput{val: "e"}, 70, 80),
	}
	if !porcupine.CheckOperations(kvModel, good) {
		t.Fatal("a linearizable history was rejected")
	}
	lost := []porcupine.Operation{ // an acknowledged write lost
		op(0, "set", "a", kvOutput{}, 0, 10),
		op(1, "get", "", kvOutput{val: ""}, 11, 20),
	}
	stale := []porcupine.Operation{ // a read of an overwritten value
		op(0, "set", "a", kvOutput{}, 0, 10),
		op(0, "set", "b", kvOutput{}, 11, 20),
		op(1, "get", "", kvOutput{val: "a"}, 21, 30),
	}
	doubleNX := []porcupine.Operation{ // two set-if-absent both succeed
		op(0, "setnx", "a", kvOutput{n: 1}, 0, 10),
		op(1, "setnx", "b", kvOutput{n: 1}, 11, 20),
	}
	for name, h := range map[string][]porcupine.Operation{"lost write": lost, "stale read": stale, "double setnx": doubleNX} {
		if porcupine.CheckOperations(kvModel, h) {
			t.Errorf("%s: accepted", name)
		}
	}
}

// startCluster starts n bitcaskd --raft nodes (the first bootstraps, the
// others join it) and waits until all are in the configuration.
func startCluster(t *testing.T, n int, extra ...string) *tcluster {
	t.Helper()
	redis.SetLogger(quietLogger{})
	// The race-detector build (TestMain's): these tests are short.
	c := &tcluster{t: t, bin: binary, extra: extra}
	root := t.TempDir()
	for i := 1; i <= n; i++ {
		nd := &cnode{id: "n" + strconv.Itoa(i), addr: freePort(t), raftAddr: freePort(t), dir: filepath.Join(root, "n"+strconv.Itoa(i))}
		nd.logPath = filepath.Join(root, nd.id+".log")
		if i > 1 {
			nd.join = c.nodes[0].addr
		}
		c.nodes = append(c.nodes, nd)
	}
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			if nd.cmd != nil && nd.cmd.ProcessState == nil {
				c.kill(nd, syscall.SIGKILL)
			}
			if b, _ := os.ReadFile(nd.logPath); strings.Contains(string(b), "DATA RACE") {
				t.Errorf("%s: the race detector reported:\n%s", nd.id, b)
			}
		}
	})
	c.start(c.nodes[0], true)
	c.waitLeader(ctx)
	for _, nd := range c.nodes[1:] {
		c.start(nd, false)
	}
	c.waitPeers(n)
	return c
}

func (c *tcluster) waitPeers(n int) {
	c.t.Helper()
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		l := c.waitLeader(ctx)
		cl := redis.NewClient(&redis.Options{Addr: l.addr, Protocol: 2})
		peers, err := cl.Do(ctx, "raft", "peers").Slice()
		cl.Close()
		if err == nil && len(peers) == n {
			return
		}
		if time.Now().After(end) {
			c.t.Fatalf("the cluster did not reach %d nodes: %v %v", n, peers, err)
		}
	}
}

func nodeClient(t *testing.T, nd *cnode) *redis.Client {
	cl := redis.NewClient(&redis.Options{Addr: nd.addr, Protocol: 3, MaxRetries: -1})
	t.Cleanup(func() { cl.Close() })
	return cl
}

// Every node applies the leader's writes; a follower redirects writes and
// (without --stale-reads) reads with MOVED; ROLE and INFO replication
// describe the cluster; expiries are absolute and the same everywhere; the
// data survives a restart of the whole cluster; a node can be removed.
func TestRaftMode(t *testing.T) {
	c := startCluster(t, 3)
	l := c.waitLeader(ctx)
	var f *cnode
	for _, nd := range c.nodes {
		if nd != l {
			f = nd
		}
	}
	lc, fc := nodeClient(t, l), nodeClient(t, f)

	eq(t, "SET", must[string](t, lc.Set(ctx, "a", "1", 0)), "OK")
	eq(t, "INCR", must[int64](t, lc.Incr(ctx, "a")), int64(2))
	eq(t, "MSET", must[string](t, lc.MSet(ctx, "b", "x", "c", "y")), "OK")
	eqs(t, "MGET", must[[]any](t, lc.MGet(ctx, "a", "b", "c", "nope")), []any{"2", "x", "y", nil})
	// a pipeline: one log entry, replies in order
	pipe := lc.Pipeline()
	set := pipe.Set(ctx, "p", "1", 0)
	inc := pipe.IncrBy(ctx, "p", 5)
	get := pipe.Get(ctx, "p")
	app := pipe.Append(ctx, "p", "0")
	get2 := pipe.Get(ctx, "p")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	eq(t, "pipelined SET", set.Val(), "OK")
	eq(t, "pipelined INCRBY", inc.Val(), int64(6))
	eq(t, "pipelined GET", get.Val(), "6")
	eq(t, "pipelined APPEND", app.Val(), int64(2))
	eq(t, "pipelined GET after APPEND", get2.Val(), "60")

	err := fc.Set(ctx, "a", "3", 0).Err()
	if err == nil || err.Error() != "MOVED 0 "+l.addr {
		t.Fatalf("SET on a follower: %v, want MOVED 0 %s", err, l.addr)
	}
	if err := fc.Get(ctx, "a").Err(); err == nil || !strings.HasPrefix(err.Error(), "MOVED ") {
		t.Fatalf("GET on a follower without --stale-reads: %v, want MOVED", err)
	}
	eq(t, "PING on a follower", must[string](t, fc.Ping(ctx)), "PONG")

	// Expiry fixed by the leader: the same absolute time on every node.
	eq(t, "SET EX", must[string](t, lc.Set(ctx, "e", "v", time.Hour)), "OK")
	leaderAt := doInt(t, lc, "pexpiretime", "e")

	role := doSlice(t, lc, "role")
	eq(t, "ROLE on the leader", role[0], any("master"))
	eq(t, "ROLE replicas", len(role[2].([]any)), 2)
	frole := doSlice(t, fc, "role")
	eq(t, "ROLE on a follower", frole[0], any("slave"))
	h, p := parseHostPort(l.addr)
	eq(t, "ROLE's leader host", frole[1], any(h))
	eq(t, "ROLE's leader port", frole[2], any(int64(p)))

	info := must[string](t, lc.Info(ctx, "replication"))
	eq(t, "INFO role", infoField(info, "role"), "master")
	eq(t, "INFO raft_leader_id", infoField(info, "raft_leader_id"), l.id)
	eq(t, "INFO raft_log_store", infoField(info, "raft_log_store"), "bitcask")
	applied := infoField(info, "raft_applied_index")
	if n, _ := strconv.Atoi(applied); n < 6 {
		t.Fatalf("raft_applied_index %q", applied)
	}

	// Restart the whole cluster: the log (and snapshots) bring the state back.
	for _, nd := range c.nodes {
		c.kill(nd, syscall.SIGTERM)
	}
	for _, nd := range c.nodes {
		c.start(nd, false)
	}
	l = c.waitLeader(ctx)
	lc = nodeClient(t, l)
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		v, err := lc.Get(ctx, "p").Result()
		if err == nil {
			eq(t, "GET after a full restart", v, "60")
			break
		}
		if time.Now().After(end) {
			t.Fatalf("GET after a full restart: %v", err)
		}
	}
	eqs(t, "MGET after a full restart", must[[]any](t, lc.MGet(ctx, "a", "b", "c")), []any{"2", "x", "y"})
	eq(t, "PEXPIRETIME after a full restart", doInt(t, lc, "pexpiretime", "e"), leaderAt)

	// Membership: remove a follower, then the cluster has two nodes.
	for _, nd := range c.nodes {
		if nd != l {
			f = nd
		}
	}
	eq(t, "RAFT REMOVE", doText(t, lc, "raft", "remove", f.id), "OK")
	c.waitPeers(2)
	if err := lc.Do(ctx, "raft", "remove", "nosuch").Err(); err == nil || !strings.Contains(err.Error(), `no node "nosuch"`) {
		t.Fatalf("RAFT REMOVE of an unknown node: %v", err)
	}
	if err := lc.Do(ctx, "raft", "add", "x", "not-an-address").Err(); err == nil || !strings.Contains(err.Error(), "invalid node id") {
		t.Fatalf("RAFT ADD with a bad address: %v", err)
	}
	eq(t, "SET with two nodes", must[string](t, lc.Set(ctx, "after", "remove", 0)), "OK")
}

// With --stale-reads a follower answers reads from its own state.
func TestRaftStaleReads(t *testing.T) {
	c := startCluster(t, 3, "--stale-reads")
	l := c.waitLeader(ctx)
	lc := nodeClient(t, l)
	eq(t, "SET EX", must[string](t, lc.Set(ctx, "k", "v", time.Hour)), "OK")
	want := doInt(t, lc, "pexpiretime", "k")
	for _, nd := range c.nodes {
		cl := nodeClient(t, nd)
		for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			v, err := cl.Get(context.Background(), "k").Result()
			if err == nil && v == "v" {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("%s never served the write: %v %v", nd.id, v, err)
			}
		}
		eq(t, nd.id+" PEXPIRETIME", doInt(t, cl, "pexpiretime", "k"), want)
	}
}

// The flags are checked before anything starts.
func TestRaftFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--raft", "--raft-addr", "127.0.0.1:1"}, "--raft needs --node-id"},
		{[]string{"--raft", "--node-id", "a"}, "--raft needs --raft-addr"},
		{[]string{"--raft", "--node-id", "a", "--raft-addr", "127.0.0.1:1", "--bootstrap", "--join", "x:1"}, "exclude each other"},
		{[]string{"--raft", "--node-id", "a", "--raft-addr", "127.0.0.1:1", "--raft-log-store", "leveldb"}, `"leveldb": want bitcask or boltdb`},
		{[]string{"--raft", "--node-id", "a", "--raft-addr", "127.0.0.1:1", "--io", "gnet"}, "--io goroutine only"},
		{[]string{"--raft", "--node-id", "a", "--raft-addr", "nonsense"}, `--raft-addr "nonsense"`},
	} {
		cmd := exec.Command(buildClusterBinary(t), append([]string{"--dir", dir}, tc.args...)...)
		b, _ := cmd.CombinedOutput()
		out, code := string(b), cmd.ProcessState.ExitCode()
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, output %q; want 2 and %q", tc.args, code, out, tc.want)
		}
	}
}

func doInt(t *testing.T, cl *redis.Client, args ...any) int64 {
	t.Helper()
	v, err := cl.Do(ctx, args...).Int64()
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

func doSlice(t *testing.T, cl *redis.Client, args ...any) []any {
	t.Helper()
	v, err := cl.Do(ctx, args...).Slice()
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

func doText(t *testing.T, cl *redis.Client, args ...any) string {
	t.Helper()
	v, err := cl.Do(ctx, args...).Text()
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

func eqs(t *testing.T, what string, got, want []any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// A cluster-mode client (go-redis ClusterClient) given a follower's address
// finds the leader through CLUSTER SLOTS, and after a failover it follows
// MOVED to the new leader.
func TestRaftClusterClient(t *testing.T) {
	c := startCluster(t, 3)
	l := c.waitLeader(ctx)
	var f *cnode
	for _, nd := range c.nodes {
		if nd != l {
			f = nd
		}
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{f.addr}, MaxRedirects: 8})
	defer cc.Close()
	eq(t, "SET through ClusterClient", must[string](t, cc.Set(ctx, "cc", "1", 0)), "OK")
	eq(t, "GET through ClusterClient", must[string](t, cc.Get(ctx, "cc")), "1")
	eq(t, "INCR through ClusterClient", must[int64](t, cc.Incr(ctx, "cc")), int64(2))
	info := must[string](t, redis.NewClient(&redis.Options{Addr: f.addr}).ClusterInfo(ctx))
	if !strings.Contains(info, "cluster_state:ok") {
		t.Fatalf("CLUSTER INFO: %q", info)
	}

	// go-redis v9 keeps sending to a dead master's address (it reloads
	// the map on MOVED, not on a refused connection): restart the old
	// leader, which now answers MOVED to the new one.
	c.kill(l, syscall.SIGKILL)
	c.waitLeader(ctx)
	c.start(l, false)
	var err error
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if err = cc.Set(ctx, "cc", "after", 0).Err(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("SET after the leader was killed: %v", err)
	}
	eq(t, "GET after failover", must[string](t, cc.Get(ctx, "cc")), "after")
}

// The benchmark's comparison point: the same cluster with its log on
// hashicorp/raft-boltdb v2.
func TestRaftBoltLogStore(t *testing.T) {
	c := startCluster(t, 2, "--raft-log-store", "boltdb")
	l := c.waitLeader(ctx)
	lc := nodeClient(t, l)
	eq(t, "SET", must[string](t, lc.Set(ctx, "k", "v", 0)), "OK")
	eq(t, "GET", must[string](t, lc.Get(ctx, "k")), "v")
	info := must[string](t, lc.Info(ctx, "replication"))
	eq(t, "INFO raft_log_store", infoField(info, "raft_log_store"), "boltdb")
	if _, err := os.Stat(filepath.Join(l.dir, "raft", "raft.db")); err != nil {
		t.Fatalf("no bolt file: %v", err)
	}
}
