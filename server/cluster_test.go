package main

// A Jepsen-style test of bitcaskd --raft: a local 3-node cluster of real
// bitcaskd processes, clients doing reads, writes, swaps, deletes and
// set-if-absent on a few keys with unique values, and a nemesis that kills
// the leader with SIGKILL and restarts it, pauses nodes with SIGSTOP and
// SIGCONT, restarts followers, and once wipes a follower's directories so
// that it comes back from a snapshot. The history is checked for
// linearizability with porcupine; an acknowledged write that was lost would
// make a later read illegal, and the final reads of every key are part of
// the history.
//
// The short run (the default, in server/test.sh) injects faults for 20 s;
// BITCASKD_JEPSEN=5m (any duration) runs longer.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"
)

// clusterBinary is bitcaskd built without the race detector: three of them
// share the machine with the clients, and the test is about the protocol.
var (
	clusterBinOnce sync.Once
	clusterBin     string
	clusterBinErr  error
)

func buildClusterBinary(t *testing.T) string {
	clusterBinOnce.Do(func() {
		clusterBin = filepath.Join(filepath.Dir(binary), "bitcaskd-norace")
		out, err := exec.Command("go", "build", "-o", clusterBin, ".").CombinedOutput()
		if err != nil {
			clusterBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if clusterBinErr != nil {
		t.Fatal(clusterBinErr)
	}
	return clusterBin
}

type cnode struct {
	id, addr, raftAddr, dir string
	join                    string
	cmd                     *exec.Cmd
	done                    chan struct{}
	paused                  bool
	logPath                 string
}

type tcluster struct {
	t     *testing.T
	bin   string
	nodes []*cnode
	extra []string
	mu    sync.Mutex
}

func (c *tcluster) start(n *cnode, bootstrap bool) {
	c.t.Helper()
	args := []string{"--dir", n.dir, "--addr", n.addr, "--raft", "--node-id", n.id, "--raft-addr", n.raftAddr,
		"--raft-heartbeat", "300ms", "--raft-apply-timeout", "3s", "--log-format", "json"}
	args = append(args, c.extra...)
	if bootstrap {
		args = append(args, "--bootstrap")
	} else {
		args = append(args, "--join", n.join)
	}
	lf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Stderr = lf
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	lf.Close()
	n.cmd, n.done, n.paused = cmd, make(chan struct{}), false
	go func(done chan struct{}) { cmd.Wait(); close(done) }(n.done)
}

func (c *tcluster) kill(n *cnode, sig syscall.Signal) {
	if n.paused {
		n.cmd.Process.Signal(syscall.SIGCONT)
		n.paused = false
	}
	n.cmd.Process.Signal(sig)
	<-n.done
}

// leader asks every node for the leader's address, as a client would.
func (c *tcluster) leader(ctx context.Context) *cnode {
	for _, n := range c.nodes {
		if n.paused {
			continue
		}
		cl := redis.NewClient(&redis.Options{Addr: n.addr, Protocol: 2, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
		v, err := cl.Do(ctx, "raft", "leader").StringSlice()
		cl.Close()
		if err == nil && len(v) == 2 {
			for _, m := range c.nodes {
				if m.addr == v[1] && m.id == v[0] {
					return m
				}
			}
		}
	}
	return nil
}

func (c *tcluster) waitLeader(ctx context.Context) *cnode {
	c.t.Helper()
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if l := c.leader(ctx); l != nil {
			return l
		}
	}
	c.t.Fatal("no leader elected")
	return nil
}

// The model: one key's value ("" = absent).
type kvInput struct {
	op, key, val string
}

type kvOutput struct {
	val     string // get, getset: the value read ("" = nil)
	n       int64  // del, setnx: the integer reply
	unknown bool   // no reply: the op may or may not have taken effect
}

var kvModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(kvInput).key
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(string), input.(kvInput), output.(kvOutput)
		switch in.op {
		case "get":
			return out.unknown || out.val == st, st
		case "set":
			return true, in.val
		case "getset":
			return out.unknown || out.val == st, in.val
		case "del":
			if out.unknown {
				return true, ""
			}
			return (out.n == 1) == (st != ""), ""
		case "setnx":
			if st != "" {
				return out.unknown || out.n == 0, st
			}
			return out.unknown || out.n == 1, in.val
		}
		return false, st
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(kvInput), output.(kvOutput)
		if out.unknown {
			return fmt.Sprintf("%s(%s, %q) -> ?", in.op, in.key, in.val)
		}
		return fmt.Sprintf("%s(%s, %q) -> %q/%d", in.op, in.key, in.val, out.val, out.n)
	},
}

// history collects operations from every worker.
type history struct {
	mu  sync.Mutex
	ops []porcupine.Operation
	t0  time.Time
	// counters for the report
	ok, failed, unknown atomic.Int64
}

func (h *history) now() int64 { return int64(time.Since(h.t0)) }

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// definite reports whether an error reply says the command was not
// applied: a redirect, or no leader known.
func definite(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "CLUSTERDOWN ") || strings.HasPrefix(msg, "TRYAGAIN ")
}

// worker is one client: it talks to the node it believes leads, follows
// MOVED, and moves on to another node when its node does not answer.
type worker struct {
	c       *tcluster
	h       *history
	id      int
	cl      *redis.Client
	addr    string
	rnd     *rand.Rand
	counter int
}

func (w *worker) connect(addr string) {
	if w.cl != nil {
		w.cl.Close()
	}
	w.addr = addr
	w.cl = redis.NewClient(&redis.Options{
		Addr: addr, Protocol: 2, MaxRetries: -1, PoolSize: 1,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
	})
}

func (w *worker) otherNode() string {
	n := w.c.nodes[w.rnd.IntN(len(w.c.nodes))]
	return n.addr
}

func (w *worker) do(ctx context.Context, key string) {
	in := kvInput{key: key}
	switch r := w.rnd.IntN(10); {
	case r < 4:
		in.op = "get"
	case r < 7:
		in.op = "set"
	case r < 8:
		in.op = "getset"
	case r < 9:
		in.op = "del"
	default:
		in.op = "setnx"
	}
	if in.op != "get" && in.op != "del" {
		w.counter++
		in.val = fmt.Sprintf("w%d-%d", w.id, w.counter)
	}
	call := w.h.now()
	var out kvOutput
	var err error
	switch in.op {
	case "get":
		out.val, err = w.cl.Get(ctx, key).Result()
	case "set":
		err = w.cl.Set(ctx, key, in.val, 0).Err()
	case "getset":
		out.val, err = w.cl.GetSet(ctx, key, in.val).Result()
	case "del":
		out.n, err = w.cl.Del(ctx, key).Result()
	case "setnx":
		var ok bool
		ok, err = w.cl.SetNX(ctx, key, in.val, 0).Result()
		out.n = map[bool]int64{true: 1}[ok]
	}
	ret := w.h.now()
	if errors.Is(err, redis.Nil) {
		err, out.val = nil, ""
	}
	switch {
	case err == nil:
		w.h.ok.Add(1)
		w.h.add(porcupine.Operation{ClientId: w.id, Input: in, Call: call, Output: out, Return: ret})
		return
	case definite(err):
		w.h.failed.Add(1)
		if f := strings.Fields(err.Error()); f[0] == "MOVED" && len(f) == 3 {
			w.connect(f[2])
		} else {
			time.Sleep(50 * time.Millisecond)
			w.connect(w.otherNode())
		}
		return
	}
	// Timeout, closed connection, or "may or may not": the op may take
	// effect at any time after its call. Reads have no effect: dropped.
	w.h.unknown.Add(1)
	if in.op != "get" {
		w.h.add(porcupine.Operation{ClientId: w.id, Input: in, Call: call, Output: kvOutput{unknown: true}, Return: 1 << 62})
	}
	w.connect(w.otherNode())
}

func jepsenDuration() time.Duration {
	if v := os.Getenv("BITCASKD_JEPSEN"); v != "" {
		d, err := time.ParseDuration(v)
		if err == nil && d > 0 {
			return d
		}
	}
	return 20 * time.Second
}

func TestClusterLinearizable(t *testing.T) {
	faultTime := jepsenDuration()
	c := &tcluster{t: t, bin: buildClusterBinary(t),
		// Frequent snapshots and a short log tail, so that restarted and
		// wiped nodes catch up from snapshots too.
		extra: []string{"--raft-snapshot-threshold", "300", "--raft-snapshot-interval", "1s", "--raft-trailing-logs", "100"}}
	// BITCASKD_JEPSEN_FLAGS adds flags, e.g. --stale-reads to see the
	// checker catch stale reads from followers.
	c.extra = append(c.extra, strings.Fields(os.Getenv("BITCASKD_JEPSEN_FLAGS"))...)
	redis.SetLogger(quietLogger{})
	root := t.TempDir()
	for i := 1; i <= 3; i++ {
		n := &cnode{id: "n" + strconv.Itoa(i), addr: freePort(t), raftAddr: freePort(t), dir: filepath.Join(root, "n"+strconv.Itoa(i))}
		n.logPath = filepath.Join(root, n.id+".log")
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes[1:] {
		n.join = c.nodes[0].addr
	}
	defer func() {
		for _, n := range c.nodes {
			if n.cmd != nil && n.cmd.ProcessState == nil {
				c.kill(n, syscall.SIGKILL)
			}
		}
		if t.Failed() {
			for _, n := range c.nodes {
				b, _ := os.ReadFile(n.logPath)
				if len(b) > 8000 {
					b = b[len(b)-8000:]
				}
				t.Logf("--- %s log (tail):\n%s", n.id, b)
			}
		}
	}()
	ctx := context.Background()
	c.start(c.nodes[0], true)
	c.waitLeader(ctx)
	for _, n := range c.nodes[1:] {
		c.start(n, false)
	}
	// all three in the configuration
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		l := c.waitLeader(ctx)
		cl := redis.NewClient(&redis.Options{Addr: l.addr, Protocol: 2})
		peers, err := cl.Do(ctx, "raft", "peers").Slice()
		cl.Close()
		if err == nil && len(peers) == 3 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the cluster did not reach 3 nodes: %v %v", peers, err)
		}
	}

	h := &history{t0: time.Now()}
	var stop atomic.Bool
	var epoch atomic.Int64
	const workers, keysPerEpoch = 6, 3
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			w := &worker{c: c, h: h, id: id, rnd: rand.New(rand.NewPCG(uint64(id), 7))}
			w.connect(c.nodes[id%3].addr)
			defer func() { w.cl.Close() }()
			for !stop.Load() {
				// New keys every few seconds keep each key's history (and
				// the checker's search) short.
				key := fmt.Sprintf("jepsen:%d:%d", epoch.Load(), w.rnd.IntN(keysPerEpoch))
				w.do(ctx, key)
			}
		}(i)
	}

	// The nemesis.
	rnd := rand.New(rand.NewPCG(42, 1))
	faults := map[string]int{}
	wiped := false
	kinds := []string{"kill-leader", "stop-follower", "restart-follower", "stop-leader"}
	step := 0
	deadline := time.Now().Add(faultTime)
	pause := func(d time.Duration) {
		time.Sleep(d)
		epoch.Add(1)
	}
	for time.Now().Before(deadline) {
		pause(time.Duration(1000+rnd.IntN(1000)) * time.Millisecond)
		l := c.leader(ctx)
		var followers []*cnode
		for _, n := range c.nodes {
			if n != l {
				followers = append(followers, n)
			}
		}
		kind := kinds[step%len(kinds)]
		step++
		if !wiped && time.Now().After(h.t0.Add(faultTime/2)) && len(followers) > 0 {
			kind = "wipe"
		}
		if l == nil && (kind == "kill-leader" || kind == "stop-leader") {
			kind = "stop-follower"
		}
		switch kind {
		case "kill-leader":
			faults["kill -9 leader, restart"]++
			c.kill(l, syscall.SIGKILL)
			pause(time.Duration(500+rnd.IntN(1500)) * time.Millisecond)
			c.start(l, false)
		case "stop-leader", "stop-follower":
			n := l
			if kind == "stop-follower" {
				n = followers[rnd.IntN(len(followers))]
			}
			faults["SIGSTOP "+strings.TrimPrefix(kind, "stop-")+", SIGCONT"]++
			n.cmd.Process.Signal(syscall.SIGSTOP)
			n.paused = true
			pause(time.Duration(1000+rnd.IntN(2000)) * time.Millisecond)
			n.cmd.Process.Signal(syscall.SIGCONT)
			n.paused = false
		case "wipe":
			// Once, half-way: a follower loses its disk.
			n := followers[rnd.IntN(len(followers))]
			faults["follower wiped, rejoins from a snapshot"]++
			c.kill(n, syscall.SIGKILL)
			if err := os.RemoveAll(n.dir); err != nil {
				t.Fatal(err)
			}
			wiped = true
			// A fresh log, so that waitLog sees this incarnation only.
			if err := os.Rename(n.logPath, n.logPath+".before-wipe"); err != nil {
				t.Fatal(err)
			}
			if n.join == "" {
				n.join = c.nodes[1].addr
			}
			c.start(n, false)
			// The wiped node must come back from a snapshot.
			waitLog(t, n, `"raft snapshot restored"`)
		case "restart-follower":
			n := followers[rnd.IntN(len(followers))]
			sig, name := syscall.SIGTERM, "SIGTERM"
			if rnd.IntN(2) == 0 {
				sig, name = syscall.SIGKILL, "SIGKILL"
			}
			faults["follower restart ("+name+")"]++
			c.kill(n, sig)
			pause(time.Duration(200+rnd.IntN(800)) * time.Millisecond)
			if n.join == "" {
				n.join = c.nodes[1].addr
			}
			c.start(n, false)
		}
	}
	// Heal, let the clients run on a healthy cluster, then stop them.
	time.Sleep(3 * time.Second)
	stop.Store(true)
	wg.Wait()

	// Final linearizable reads of every key ever used, through the leader.
	l := c.waitLeader(ctx)
	cl := redis.NewClient(&redis.Options{Addr: l.addr, Protocol: 2, MaxRetries: -1})
	defer cl.Close()
	finals := 0
	for e := int64(0); e <= epoch.Load(); e++ {
		for k := 0; k < keysPerEpoch; k++ {
			key := fmt.Sprintf("jepsen:%d:%d", e, k)
			for {
				call := h.now()
				v, err := cl.Get(ctx, key).Result()
				ret := h.now()
				if errors.Is(err, redis.Nil) {
					v, err = "", nil
				}
				if err == nil {
					h.add(porcupine.Operation{ClientId: workers, Input: kvInput{op: "get", key: key}, Call: call, Output: kvOutput{val: v}, Return: ret})
					finals++
					break
				}
				if !definite(err) && !strings.Contains(err.Error(), "i/o timeout") {
					t.Fatalf("final read of %s: %v", key, err)
				}
				time.Sleep(100 * time.Millisecond)
				l = c.waitLeader(ctx)
				cl.Close()
				cl = redis.NewClient(&redis.Options{Addr: l.addr, Protocol: 2, MaxRetries: -1})
			}
		}
	}

	// Every node converges on the leader's applied index.
	var leaderApplied string
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		idx := map[string]string{}
		for _, n := range c.nodes {
			nc := redis.NewClient(&redis.Options{Addr: n.addr, Protocol: 2, MaxRetries: -1})
			info, err := nc.Info(ctx, "replication").Result()
			nc.Close()
			if err == nil {
				idx[n.id] = infoField(info, "raft_applied_index")
			}
		}
		leaderApplied = idx[l.id]
		if len(idx) == 3 && idx["n1"] == idx["n2"] && idx["n2"] == idx["n3"] {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("nodes did not converge: applied indexes %v", idx)
		}
	}

	total := 0
	for _, n := range faults {
		total += n
	}
	t.Logf("history: %d operations recorded (%d ok, %d definite failures, %d unknown outcomes, %d final reads) over %d keys; %d faults in %v: %v; applied index %s",
		len(h.ops), h.ok.Load(), h.failed.Load(), h.unknown.Load(), finals, (epoch.Load()+1)*keysPerEpoch, total, faultTime, faults, leaderApplied)
	if h.ok.Load() < 100 {
		t.Fatalf("only %d operations succeeded: the cluster was not available enough to test anything", h.ok.Load())
	}
	res, info := porcupine.CheckOperationsVerbose(kvModel, h.ops, 5*time.Minute)
	switch res {
	case porcupine.Ok:
		t.Logf("linearizable: 0 violations")
	case porcupine.Illegal:
		path := filepath.Join(os.TempDir(), "bitcaskd-jepsen.html")
		if err := porcupine.VisualizePath(kvModel, info, path); err == nil {
			t.Logf("visualization: %s", path)
		}
		t.Fatal("history is not linearizable")
	default:
		t.Fatalf("the checker gave up: %v", res)
	}
}

func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return v
		}
	}
	return ""
}

func waitLog(t *testing.T, n *cnode, what string) {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(n.logPath)
		if strings.Contains(string(b), what) {
			return
		}
	}
	t.Fatalf("%s: no %s in its log", n.id, what)
}

// quietLogger drops go-redis's log lines (failed dials during faults).
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
