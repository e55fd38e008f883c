package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

	"github.com/redis/go-redis/v9"
)

var binary string

// TestMain builds bitcaskd once; each test starts its own server on a free
// localhost port with its own store directory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bitcaskd-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "bitcaskd")
	out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	cmd     *exec.Cmd
	addr    string
	metrics string
	dir     string
	done    chan error
	logs    *strings.Builder
	mu      *sync.Mutex
}

// start runs bitcaskd on dir (a new temp dir if "") with extra flags and
// waits for its "ready" log line, which carries the address it bound.
func start(t *testing.T, dir string, flags ...string) *proc {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	args := append([]string{"--dir", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-format", "json"}, flags...)
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, dir: dir, done: make(chan error, 1), logs: &strings.Builder{}, mu: &sync.Mutex{}}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		closed := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil {
				switch rec["msg"] {
				case "metrics listening":
					p.metrics, _ = rec["addr"].(string)
				case "bitcaskd ready":
					p.addr, _ = rec["addr"].(string)
					if !closed {
						close(ready)
						closed = true
					}
				}
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("bitcaskd did not start: %s", p.log())
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// stop sends SIGTERM and waits for a clean exit (idempotent).
func (p *proc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("bitcaskd exited with %v\n%s", err, p.log())
		}
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Errorf("bitcaskd did not stop on SIGTERM\n%s", p.log())
	}
	p.cmd.ProcessState = &os.ProcessState{}
}

func newClient(t *testing.T, p *proc, opts ...func(*redis.Options)) *redis.Client {
	o := &redis.Options{Addr: p.addr}
	for _, f := range opts {
		f(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

var ctx = context.Background()

func must[T any](t *testing.T, cmd interface{ Result() (T, error) }) T {
	t.Helper()
	v, err := cmd.Result()
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	return v
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func wantErr(t *testing.T, err error, msg string) {
	t.Helper()
	if err == nil || err.Error() != msg {
		t.Fatalf("error = %v, want %q", err, msg)
	}
}

func TestHandshakeRESP3AndRESP2(t *testing.T) {
	p := start(t, "")
	for _, proto := range []int{3, 2} {
		c := newClient(t, p, func(o *redis.Options) { o.Protocol = proto; o.ClientName = "tester" })
		eq(t, "PING", must[string](t, c.Ping(ctx)), "PONG")
		eq(t, "CLIENT GETNAME", must[string](t, c.ClientGetName(ctx)), "tester")
		// A nil reply is RESP3's _ or RESP2's $-1: go-redis maps both to redis.Nil.
		if err := c.Get(ctx, "missing").Err(); err != redis.Nil {
			t.Fatalf("proto %d: GET missing: %v", proto, err)
		}
		eq(t, "ECHO", must[string](t, c.Echo(ctx, "hi")), "hi")
		eq(t, "SELECT 0", textOf(t, c.Do(ctx, "SELECT", "0")), "OK")
		wantErr(t, c.Do(ctx, "SELECT", "1").Err(), "ERR DB index is out of range")
		list := must[string](t, c.ClientList(ctx))
		if !strings.Contains(list, "lib-name=go-redis") {
			t.Fatalf("CLIENT LIST does not show CLIENT SETINFO's lib-name: %s", list)
		}
	}
	c := newClient(t, p)
	v, err := c.Do(ctx, "HELLO", "3").Result()
	m, ok := v.(map[interface{}]interface{})
	if err != nil || !ok || m["proto"] != int64(3) || m["server"] != "redis" {
		t.Fatalf("HELLO 3 = %#v, %v", v, err)
	}
	wantErr(t, c.Do(ctx, "HELLO", "4").Err(), "NOPROTO unsupported protocol version")
}

func TestStringCommands(t *testing.T) {
	p := start(t, "")
	c := newClient(t, p)
	eq(t, "SET", must[string](t, c.Set(ctx, "k", "v", 0)), "OK")
	eq(t, "GET", must[string](t, c.Get(ctx, "k")), "v")
	// SET options
	if err := c.SetArgs(ctx, "k", "w", redis.SetArgs{Mode: "NX"}).Err(); err != redis.Nil {
		t.Fatalf("SET NX on existing: %v", err)
	}
	eq(t, "SET XX", must[string](t, c.SetArgs(ctx, "k", "w", redis.SetArgs{Mode: "XX"})), "OK")
	if err := c.SetArgs(ctx, "nokey", "w", redis.SetArgs{Mode: "XX"}).Err(); err != redis.Nil {
		t.Fatalf("SET XX on missing: %v", err)
	}
	eq(t, "SET GET", must[string](t, c.SetArgs(ctx, "k", "x", redis.SetArgs{Get: true})), "w")
	must[string](t, c.SetArgs(ctx, "k", "y", redis.SetArgs{TTL: time.Hour}))
	ttl := must[time.Duration](t, c.TTL(ctx, "k"))
	if ttl < 59*time.Minute || ttl > time.Hour {
		t.Fatalf("TTL after SET EX 3600 = %v", ttl)
	}
	must[string](t, c.SetArgs(ctx, "k", "z", redis.SetArgs{KeepTTL: true}))
	if ttl := must[time.Duration](t, c.TTL(ctx, "k")); ttl < 59*time.Minute {
		t.Fatalf("KEEPTTL lost the TTL: %v", ttl)
	}
	must[string](t, c.Set(ctx, "k", "plain", 0))
	eq(t, "TTL after plain SET", must[time.Duration](t, c.TTL(ctx, "k")), time.Duration(-1))
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	must[string](t, c.SetArgs(ctx, "k", "a", redis.SetArgs{ExpireAt: at}))
	eq(t, "EXPIRETIME", must[time.Duration](t, c.ExpireTime(ctx, "k")), time.Duration(at.Unix())*time.Second)
	textOf(t, c.Do(ctx, "SET", "k", "b", "PXAT", strconv.FormatInt(at.UnixMilli(), 10)))
	eq(t, "PEXPIRETIME", must[time.Duration](t, c.PExpireTime(ctx, "k")), time.Duration(at.UnixMilli())*time.Millisecond)
	textOf(t, c.Do(ctx, "SET", "k", "c", "PX", "100000"))
	if pttl := must[time.Duration](t, c.PTTL(ctx, "k")); pttl <= 99*time.Second {
		t.Fatalf("PTTL = %v", pttl)
	}
	wantErr(t, c.Do(ctx, "SET", "k", "v", "NX", "XX").Err(), "ERR syntax error")
	wantErr(t, c.Do(ctx, "SET", "k", "v", "EX", "10", "PX", "10").Err(), "ERR syntax error")
	wantErr(t, c.Do(ctx, "SET", "k", "v", "EX").Err(), "ERR syntax error")
	wantErr(t, c.Do(ctx, "SET", "k", "v", "EX", "abc").Err(), "ERR value is not an integer or out of range")
	wantErr(t, c.Do(ctx, "SET", "k", "v", "EX", "0").Err(), "ERR invalid expire time in 'set' command")
	wantErr(t, c.Do(ctx, "SET", "k").Err(), "ERR wrong number of arguments for 'set' command")
	wantErr(t, c.Do(ctx, "GET").Err(), "ERR wrong number of arguments for 'get' command")
	wantErr(t, c.Do(ctx, "xyz", "a", "b").Err(), "ERR unknown command 'xyz', with args beginning with: 'a' 'b' ")
	wantErr(t, c.Do(ctx, "LPUSH", "l", "a").Err(), "ERR unknown command 'LPUSH', with args beginning with: 'l' 'a' ")

	// SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX
	eq(t, "SETNX new", must[bool](t, c.SetNX(ctx, "n", "1", 0)), true)
	eq(t, "SETNX existing", must[bool](t, c.SetNX(ctx, "n", "2", 0)), false)
	must[string](t, c.SetEx(ctx, "e", "v", 10*time.Second))
	if ttl := must[time.Duration](t, c.TTL(ctx, "e")); ttl != 10*time.Second {
		t.Fatalf("SETEX TTL = %v", ttl)
	}
	textOf(t, c.Do(ctx, "PSETEX", "e", "5000", "v"))
	if ttl := must[time.Duration](t, c.PTTL(ctx, "e")); ttl > 5*time.Second || ttl < 4*time.Second {
		t.Fatalf("PSETEX PTTL = %v", ttl)
	}
	wantErr(t, c.Do(ctx, "SETEX", "e", "-1", "v").Err(), "ERR invalid expire time in 'setex' command")
	eq(t, "GETSET", must[string](t, c.GetSet(ctx, "n", "3")), "1")
	if err := c.GetSet(ctx, "newgs", "1").Err(); err != redis.Nil {
		t.Fatalf("GETSET on missing: %v", err)
	}
	eq(t, "GETDEL", must[string](t, c.GetDel(ctx, "n")), "3")
	if err := c.GetDel(ctx, "n").Err(); err != redis.Nil {
		t.Fatalf("GETDEL on missing: %v", err)
	}
	must[string](t, c.Set(ctx, "gx", "v", 0))
	eq(t, "GETEX EX", must[string](t, c.GetEx(ctx, "gx", 100*time.Second)), "v")
	if ttl := must[time.Duration](t, c.TTL(ctx, "gx")); ttl != 100*time.Second {
		t.Fatalf("GETEX TTL = %v", ttl)
	}
	eq(t, "GETEX PERSIST", textOf(t, c.Do(ctx, "GETEX", "gx", "PERSIST")), "v")
	eq(t, "TTL after PERSIST", must[time.Duration](t, c.TTL(ctx, "gx")), time.Duration(-1))

	// MSET, MGET, MSETNX, DEL, UNLINK, EXISTS
	must[string](t, c.MSet(ctx, "a", "1", "b", "2", "c", "3"))
	vals := must[[]any](t, c.MGet(ctx, "a", "b", "nope", "c"))
	if fmt.Sprint(vals) != "[1 2 <nil> 3]" {
		t.Fatalf("MGET = %v", vals)
	}
	wantErr(t, c.Do(ctx, "MSET", "a", "1", "b").Err(), "ERR wrong number of arguments for 'mset' command")
	eq(t, "MSETNX (one exists)", must[bool](t, c.MSetNX(ctx, "a", "x", "fresh", "y")), false)
	if err := c.Get(ctx, "fresh").Err(); err != redis.Nil {
		t.Fatalf("MSETNX wrote part of its keys: %v", err)
	}
	eq(t, "MSETNX (none exist)", must[bool](t, c.MSetNX(ctx, "f1", "x", "f2", "y")), true)
	eq(t, "EXISTS", must[int64](t, c.Exists(ctx, "a", "b", "a", "nope")), int64(3))
	eq(t, "DEL", must[int64](t, c.Del(ctx, "a", "b", "nope", "a")), int64(2))
	eq(t, "UNLINK", must[int64](t, c.Unlink(ctx, "c", "f1")), int64(2))
	eq(t, "EXISTS after DEL", must[int64](t, c.Exists(ctx, "a", "b", "c")), int64(0))

	// EXPIRE family with NX/XX/GT/LT, PERSIST, TTL codes
	must[string](t, c.Set(ctx, "x", "v", 0))
	eq(t, "TTL no expiry", must[time.Duration](t, c.TTL(ctx, "x")), time.Duration(-1))
	eq(t, "TTL missing", must[time.Duration](t, c.TTL(ctx, "missing")), time.Duration(-2))
	eq(t, "EXPIRE XX without ttl", must[bool](t, c.ExpireXX(ctx, "x", time.Hour)), false)
	eq(t, "EXPIRE GT without ttl", must[bool](t, c.ExpireGT(ctx, "x", time.Hour)), false)
	eq(t, "EXPIRE NX", must[bool](t, c.ExpireNX(ctx, "x", time.Hour)), true)
	eq(t, "EXPIRE NX again", must[bool](t, c.ExpireNX(ctx, "x", time.Hour)), false)
	eq(t, "EXPIRE GT smaller", must[bool](t, c.ExpireGT(ctx, "x", time.Minute)), false)
	eq(t, "EXPIRE LT smaller", must[bool](t, c.ExpireLT(ctx, "x", time.Minute)), true)
	eq(t, "TTL", must[time.Duration](t, c.TTL(ctx, "x")), time.Minute)
	eq(t, "PEXPIRE", must[bool](t, c.PExpire(ctx, "x", 90*time.Second)), true)
	eq(t, "EXPIREAT", must[bool](t, c.ExpireAt(ctx, "x", time.Now().Add(2*time.Hour))), true)
	eq(t, "PEXPIREAT", must[bool](t, c.PExpireAt(ctx, "x", time.Now().Add(3*time.Hour))), true)
	eq(t, "EXPIRE missing", must[bool](t, c.Expire(ctx, "missing", time.Hour)), false)
	wantErr(t, c.Do(ctx, "EXPIRE", "x", "10", "NX", "XX").Err(), "ERR NX and XX, GT or LT options at the same time are not compatible")
	wantErr(t, c.Do(ctx, "EXPIRE", "x", "ten").Err(), "ERR value is not an integer or out of range")
	eq(t, "PERSIST", must[bool](t, c.Persist(ctx, "x")), true)
	eq(t, "PERSIST again", must[bool](t, c.Persist(ctx, "x")), false)
	eq(t, "EXPIRETIME none", must[time.Duration](t, c.ExpireTime(ctx, "x")), time.Duration(-1))
	eq(t, "EXPIRE in the past deletes", boolOf(t, c.Do(ctx, "EXPIRE", "x", "-1")), true)
	eq(t, "EXISTS after past EXPIRE", must[int64](t, c.Exists(ctx, "x")), int64(0))

	// counters
	eq(t, "INCR", must[int64](t, c.Incr(ctx, "ctr")), int64(1))
	eq(t, "INCRBY", must[int64](t, c.IncrBy(ctx, "ctr", 10)), int64(11))
	eq(t, "DECR", must[int64](t, c.Decr(ctx, "ctr")), int64(10))
	eq(t, "DECRBY", must[int64](t, c.DecrBy(ctx, "ctr", 20)), int64(-10))
	eq(t, "INCRBYFLOAT", must[float64](t, c.IncrByFloat(ctx, "fl", 10.5)), 10.5)
	eq(t, "INCRBYFLOAT", must[float64](t, c.IncrByFloat(ctx, "fl", 0.1)), 10.6)
	eq(t, "GET float", must[string](t, c.Get(ctx, "fl")), "10.6")
	must[string](t, c.Set(ctx, "s", "abc", 0))
	wantErr(t, c.Incr(ctx, "s").Err(), "ERR value is not an integer or out of range")
	wantErr(t, c.Do(ctx, "INCRBY", "ctr", "1.5").Err(), "ERR value is not an integer or out of range")
	wantErr(t, c.IncrByFloat(ctx, "s", 1).Err(), "ERR value is not a valid float")
	must[string](t, c.Set(ctx, "big", "9223372036854775807", 0))
	wantErr(t, c.Incr(ctx, "big").Err(), "ERR increment or decrement would overflow")
	must[string](t, c.Set(ctx, "ttlctr", "5", time.Hour))
	must[int64](t, c.Incr(ctx, "ttlctr"))
	if ttl := must[time.Duration](t, c.TTL(ctx, "ttlctr")); ttl < 59*time.Minute {
		t.Fatalf("INCR dropped the TTL: %v", ttl)
	}

	// APPEND, STRLEN, GETRANGE, SETRANGE
	eq(t, "APPEND new", must[int64](t, c.Append(ctx, "ap", "Hello")), int64(5))
	eq(t, "APPEND", must[int64](t, c.Append(ctx, "ap", " World")), int64(11))
	eq(t, "STRLEN", must[int64](t, c.StrLen(ctx, "ap")), int64(11))
	eq(t, "STRLEN missing", must[int64](t, c.StrLen(ctx, "missing")), int64(0))
	eq(t, "GETRANGE", must[string](t, c.GetRange(ctx, "ap", 0, 4)), "Hello")
	eq(t, "GETRANGE neg", must[string](t, c.GetRange(ctx, "ap", -5, -1)), "World")
	eq(t, "GETRANGE out", must[string](t, c.GetRange(ctx, "ap", 20, 30)), "")
	eq(t, "SETRANGE", must[int64](t, c.SetRange(ctx, "ap", 6, "Redis")), int64(11))
	eq(t, "after SETRANGE", must[string](t, c.Get(ctx, "ap")), "Hello Redis")
	eq(t, "SETRANGE pad", must[int64](t, c.SetRange(ctx, "pad", 3, "x")), int64(4))
	eq(t, "padded", must[string](t, c.Get(ctx, "pad")), "\x00\x00\x00x")
	wantErr(t, c.Do(ctx, "SETRANGE", "pad", "-1", "x").Err(), "ERR offset is out of range")

	// TYPE, RENAME, RENAMENX
	eq(t, "TYPE", must[string](t, c.Type(ctx, "ap")), "string")
	eq(t, "TYPE none", must[string](t, c.Type(ctx, "missing")), "none")
	must[string](t, c.Set(ctx, "src", "v", time.Hour))
	eq(t, "RENAME", must[string](t, c.Rename(ctx, "src", "dst")), "OK")
	eq(t, "renamed", must[string](t, c.Get(ctx, "dst")), "v")
	if ttl := must[time.Duration](t, c.TTL(ctx, "dst")); ttl < 59*time.Minute {
		t.Fatalf("RENAME dropped the TTL: %v", ttl)
	}
	wantErr(t, c.Rename(ctx, "src", "dst").Err(), "ERR no such key")
	must[string](t, c.Set(ctx, "src", "w", 0))
	eq(t, "RENAMENX taken", must[bool](t, c.RenameNX(ctx, "src", "dst")), false)
	eq(t, "RENAMENX free", must[bool](t, c.RenameNX(ctx, "src", "dst2")), true)

	// keyspace
	must[string](t, c.FlushDB(ctx))
	eq(t, "DBSIZE after FLUSHDB", must[int64](t, c.DBSize(ctx)), int64(0))
	if err := c.RandomKey(ctx).Err(); err != redis.Nil {
		t.Fatalf("RANDOMKEY on empty: %v", err)
	}
	for i := 0; i < 50; i++ {
		must[string](t, c.Set(ctx, fmt.Sprintf("user:%d", i), "x", 0))
	}
	must[string](t, c.Set(ctx, "other", "x", 0))
	eq(t, "DBSIZE", must[int64](t, c.DBSize(ctx)), int64(51))
	eq(t, "KEYS user:1*", len(must[[]string](t, c.Keys(ctx, "user:1*"))), 11)
	eq(t, "KEYS *", len(must[[]string](t, c.Keys(ctx, "*"))), 51)
	eq(t, "KEYS [ou]the?", fmt.Sprint(must[[]string](t, c.Keys(ctx, "[ou]the?"))), "[other]")
	if k := must[string](t, c.RandomKey(ctx)); k == "" {
		t.Fatal("RANDOMKEY empty")
	}
	// SCAN survives writes between calls: every key present throughout is seen.
	seen := map[string]bool{}
	var cursor uint64
	for i := 0; ; i++ {
		keys, next := must2(t, c.Scan(ctx, cursor, "user:*", 7))
		for _, k := range keys {
			seen[k] = true
		}
		must[string](t, c.Set(ctx, fmt.Sprintf("new:%d", i), "x", 0))
		must[int64](t, c.Del(ctx, "other"))
		cursor = next
		if cursor == 0 {
			break
		}
		if i > 100 {
			t.Fatal("SCAN does not terminate")
		}
	}
	eq(t, "SCAN saw", len(seen), 50)

	// server
	eq(t, "SAVE", must[string](t, c.Save(ctx)), "OK")
	eq(t, "BGSAVE", must[string](t, c.BgSave(ctx)), "Background saving started")
	eq(t, "BGREWRITEAOF", must[string](t, c.BgRewriteAOF(ctx)), "Background append only file rewriting started")
	info := must[string](t, c.Info(ctx))
	for _, want := range []string{"# Server", "redis_version:", "# Clients", "connected_clients:", "# Stats", "# Keyspace", "db0:keys=", "# Bitcask", "keydir_bytes:", "dead_bytes:"} {
		if !strings.Contains(info, want) {
			t.Fatalf("INFO lacks %q:\n%s", want, info)
		}
	}
	if s := must[string](t, c.Info(ctx, "bitcask")); strings.Contains(s, "# Server") || !strings.Contains(s, "live_keys:") {
		t.Fatalf("INFO bitcask = %s", s)
	}
	cfg := must[map[string]string](t, c.ConfigGet(ctx, "appendonly"))
	eq(t, "CONFIG GET appendonly", cfg["appendonly"], "yes")
	cfg = must[map[string]string](t, c.ConfigGet(ctx, "save"))
	if _, ok := cfg["save"]; !ok {
		t.Fatalf("CONFIG GET save = %v", cfg)
	}
	if n := intOf(t, c.Do(ctx, "COMMAND", "COUNT")); n < 50 {
		t.Fatalf("COMMAND COUNT = %d", n)
	}
	if _, err := c.Command(ctx).Result(); err != nil {
		t.Fatalf("COMMAND (parsed by go-redis): %v", err)
	}
	if _, err := c.Do(ctx, "COMMAND", "DOCS", "get").Result(); err != nil {
		t.Fatalf("COMMAND DOCS: %v", err)
	}
	eq(t, "FLUSHALL", must[string](t, c.FlushAll(ctx)), "OK")
}

func must2(t *testing.T, cmd *redis.ScanCmd) ([]string, uint64) {
	t.Helper()
	k, n, err := cmd.Result()
	if err != nil {
		t.Fatalf("SCAN: %v", err)
	}
	return k, n
}

func TestExpiryAndPipelining(t *testing.T) {
	p := start(t, "")
	c := newClient(t, p)
	must[string](t, c.Set(ctx, "short", "v", 150*time.Millisecond))
	must[string](t, c.SetArgs(ctx, "short2", "v", redis.SetArgs{TTL: 150 * time.Millisecond}))
	eq(t, "before expiry", must[string](t, c.Get(ctx, "short")), "v")
	time.Sleep(300 * time.Millisecond)
	if err := c.Get(ctx, "short").Err(); err != redis.Nil {
		t.Fatalf("GET after expiry: %v", err)
	}
	eq(t, "TTL after expiry", must[time.Duration](t, c.TTL(ctx, "short2")), time.Duration(-2))
	eq(t, "SET NX on expired key", must[bool](t, c.SetNX(ctx, "short", "again", 0)), true)

	pipe := c.Pipeline()
	const n = 1000
	for i := 0; i < n; i++ {
		pipe.Set(ctx, fmt.Sprintf("p%d", i), i, 0)
		pipe.Incr(ctx, "pc")
	}
	gets := make([]*redis.StringCmd, n)
	for i := 0; i < n; i++ {
		gets[i] = pipe.Get(ctx, fmt.Sprintf("p%d", i))
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "replies", len(cmds), 3*n)
	for i, g := range gets {
		eq(t, "pipelined GET", g.Val(), strconv.Itoa(i))
	}
	eq(t, "pipelined INCRs", must[string](t, c.Get(ctx, "pc")), strconv.Itoa(n))
}

func TestConcurrentAtomicity(t *testing.T) {
	p := start(t, "")
	c := newClient(t, p, func(o *redis.Options) { o.PoolSize = 64 })

	// 50 goroutines x 200 INCR: the exact total.
	var wg sync.WaitGroup
	const workers, rounds = 50, 200
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				if err := c.Incr(ctx, "counter").Err(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	eq(t, "counter", must[string](t, c.Get(ctx, "counter")), strconv.Itoa(workers*rounds))

	// SET NX races: exactly one winner per key.
	for k := 0; k < 20; k++ {
		key := fmt.Sprintf("race%d", k)
		var winners atomic.Int64
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := c.SetNX(ctx, key, w, 0).Result()
				if err != nil {
					t.Error(err)
				}
				if ok {
					winners.Add(1)
				}
			}()
		}
		wg.Wait()
		eq(t, "SET NX winners for "+key, winners.Load(), int64(1))
	}

	// MSET is atomic as seen by concurrent MGETs: all keys equal, always.
	keys := []string{"m0", "m1", "m2", "m3", "m4"}
	must[string](t, c.MSet(ctx, "m0", 0, "m1", 0, "m2", 0, "m3", 0, "m4", 0))
	stop := make(chan struct{})
	var torn atomic.Int64
	var readers sync.WaitGroup
	for r := 0; r < 8; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := 0; i < 5000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				vals, err := c.MGet(ctx, keys...).Result()
				if err != nil {
					t.Error(err)
					return
				}
				for _, v := range vals[1:] {
					if v != vals[0] {
						torn.Add(1)
					}
				}
			}
		}()
	}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 500; i++ {
				v := w*1000 + i
				if err := c.MSet(ctx, "m0", v, "m1", v, "m2", v, "m3", v, "m4", v).Err(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	eq(t, "torn MGETs", torn.Load(), int64(0))

	// RENAME under contention with APPEND: nothing lost or duplicated.
	must[string](t, c.Set(ctx, "ap", "", 0))
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := c.Append(ctx, "ap", "x").Err(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	eq(t, "APPEND total", must[int64](t, c.StrLen(ctx, "ap")), int64(500))
}

func TestAuth(t *testing.T) {
	p := start(t, "", "--requirepass", "s3cret")
	// go-redis with the password: HELLO 3 AUTH default s3cret.
	c := newClient(t, p, func(o *redis.Options) { o.Password = "s3cret" })
	eq(t, "authed SET", must[string](t, c.Set(ctx, "k", "v", 0)), "OK")
	c2 := newClient(t, p, func(o *redis.Options) { o.Password = "s3cret"; o.Protocol = 2 })
	eq(t, "authed RESP2 GET", must[string](t, c2.Get(ctx, "k")), "v")

	raw := dial(t, p)
	eq(t, "GET before AUTH", raw.roundTrip(t, "GET k"), "-NOAUTH Authentication required.")
	eq(t, "unknown before AUTH (Redis checks the name first)", raw.roundTrip(t, "FOO"), "-ERR unknown command 'FOO', with args beginning with: ")
	eq(t, "SET before AUTH", raw.roundTrip(t, "SET k v"), "-NOAUTH Authentication required.")
	eq(t, "wrong AUTH", raw.roundTrip(t, "AUTH nope"), "-WRONGPASS invalid username-password pair or user is disabled.")
	eq(t, "HELLO without AUTH", raw.roundTrip(t, "HELLO 2")[:7], "-NOAUTH")
	eq(t, "AUTH", raw.roundTrip(t, "AUTH s3cret"), "+OK")
	eq(t, "GET after AUTH", raw.roundTrip(t, "GET k"), "$1")

	bad := newClient(t, p, func(o *redis.Options) { o.Password = "wrong" })
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	none := newClient(t, p)
	if err := none.Get(ctx, "k").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Fatalf("no password: %v", err)
	}
}

type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, p *proc) *rawConn {
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{c, bufio.NewReader(c)}
}

// roundTrip sends an inline command and returns the first reply line.
func (r *rawConn) roundTrip(t *testing.T, line string) string {
	t.Helper()
	r.send(t, line+"\r\n")
	return r.line(t)
}

func (r *rawConn) send(t *testing.T, s string) {
	t.Helper()
	_ = r.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(r.c, s); err != nil {
		t.Fatal(err)
	}
}

func (r *rawConn) line(t *testing.T) string {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := r.r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading a reply: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// closed reports whether the server closed the connection.
func (r *rawConn) closed(t *testing.T) bool {
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := r.r.ReadByte()
	return errors.Is(err, io.EOF) || (err != nil && strings.Contains(err.Error(), "reset"))
}

func TestGarbageAndLimits(t *testing.T) {
	p := start(t, "", "--maxclients", "4", "--proto-max-bulk-len", "1024", "--client-query-buffer-limit", "1500")
	good := dial(t, p)
	eq(t, "good client", good.roundTrip(t, "SET k v"), "+OK")

	cases := []struct{ send, reply string }{
		{"*abc\r\n", "-ERR Protocol error: invalid multibulk length"},
		{"*1\r\nxyz\r\n", "-ERR Protocol error: expected '$', got 'x'"},
		{"*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length"},
		{"*1\r\n$2000\r\n", "-ERR Protocol error: invalid bulk length"},
		{"*3\r\n$3\r\nSET\r\n$1000\r\n" + strings.Repeat("k", 1000) + "\r\n$1000\r\n", "-ERR Protocol error: request exceeds the maximum request size"},
		{"SET \"unbalanced\r\n", "-ERR Protocol error: unbalanced quotes in request"},
		{"*9999999999\r\n", "-ERR Protocol error: invalid multibulk length"},
		{strings.Repeat("x", 70000), "-ERR Protocol error: too big inline request"},
	}
	for _, tc := range cases {
		bad := dial(t, p)
		bad.send(t, tc.send)
		eq(t, fmt.Sprintf("reply to %.20q", tc.send), bad.line(t), tc.reply)
		if !bad.closed(t) {
			t.Fatalf("connection not closed after %.20q", tc.send)
		}
		bad.c.Close()
	}
	// The good client is unaffected.
	eq(t, "good client after garbage", good.roundTrip(t, "GET k"), "$1")
	eq(t, "its value", good.line(t), "v")
	// Values up to the limit work; inline commands and pipelines too.
	big := strings.Repeat("b", 1000)
	good.send(t, fmt.Sprintf("*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$%d\r\n%s\r\nPING\r\nECHO \"a b\"\r\n", len(big), big))
	eq(t, "SET big", good.line(t), "+OK")
	eq(t, "PING", good.line(t), "+PONG")
	eq(t, "ECHO", good.line(t), "$3")
	eq(t, "ECHO value", good.line(t), "a b")

	// max clients: 4 allowed (good + 3 more), the 5th refused.
	var extra []*rawConn
	for i := 0; i < 3; i++ {
		r := dial(t, p)
		eq(t, "PING", r.roundTrip(t, "PING"), "+PONG")
		extra = append(extra, r)
	}
	over := dial(t, p)
	eq(t, "over maxclients", over.line(t), "-ERR max number of clients reached")
	for _, r := range extra {
		r.c.Close()
	}

	// idle timeout: a silent client is closed after --timeout.
	p = start(t, "", "--timeout", "1s")
	idle := dial(t, p)
	eq(t, "PING", idle.roundTrip(t, "PING"), "+PONG")
	time.Sleep(1500 * time.Millisecond)
	if !idle.closed(t) {
		t.Fatal("idle client not closed")
	}
}

func TestRestartKeepsDataAndMetrics(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir, "--sync", "always")
	c := newClient(t, p)
	must[string](t, c.Set(ctx, "durable", "yes", 0))
	must[string](t, c.Set(ctx, "ttl", "yes", time.Hour))
	must[int64](t, c.Incr(ctx, "n"))

	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`bitcaskd_commands_total{cmd="set"} 2`, "bitcaskd_command_duration_seconds_bucket", "bitcaskd_connected_clients", "bitcaskd_keydir_bytes", "bitcaskd_dead_bytes", "bitcaskd_merges_total"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
	c.Close()
	p.stop(t)
	if !strings.Contains(p.log(), "bitcaskd stopped") {
		t.Fatalf("no clean stop in the log:\n%s", p.log())
	}

	p2 := start(t, dir)
	c2 := newClient(t, p2)
	eq(t, "after restart", must[string](t, c2.Get(ctx, "durable")), "yes")
	eq(t, "counter after restart", must[string](t, c2.Get(ctx, "n")), "1")
	if ttl := must[time.Duration](t, c2.TTL(ctx, "ttl")); ttl < 59*time.Minute {
		t.Fatalf("TTL after restart: %v", ttl)
	}
	// SHUTDOWN stops the server cleanly too.
	_ = c2.Shutdown(ctx).Err()
	select {
	case err := <-p2.done:
		if err != nil {
			t.Fatalf("exit after SHUTDOWN: %v", err)
		}
		p2.cmd.ProcessState = &os.ProcessState{}
	case <-time.After(10 * time.Second):
		t.Fatal("SHUTDOWN did not stop the server")
	}
}

func textOf(t *testing.T, cmd *redis.Cmd) string {
	t.Helper()
	v, err := cmd.Text()
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	return v
}

func intOf(t *testing.T, cmd *redis.Cmd) int64 {
	t.Helper()
	v, err := cmd.Int64()
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	return v
}

func boolOf(t *testing.T, cmd *redis.Cmd) bool {
	t.Helper()
	v, err := cmd.Bool()
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	return v
}

func TestPipelinedSetsAreBatchedInOrder(t *testing.T) {
	p := start(t, "")
	r := dial(t, p)
	// SETs batched in one pipeline must still be seen, in order, by the
	// commands that follow them in the same pipeline.
	r.send(t, "SET a 1\r\nSET a 2\r\nSET b x\r\nGET a\r\nSET a 3 NX\r\nSET c 1\r\nINCR c\r\nSET a 4 GET\r\nSET d 5 EX 100\r\nTTL d\r\n")
	for _, want := range []string{"+OK", "+OK", "+OK", "$1", "2", "$-1", "+OK", ":2", "$1", "2", "+OK", ":100"} {
		eq(t, "pipelined reply", r.line(t), want)
	}
	// A pipelined SET with a key the library refuses fails alone.
	r.send(t, "SET k1 v\r\nSET \"\" v\r\nSET k2 v\r\nMGET k1 k2\r\n")
	eq(t, "SET k1", r.line(t), "+OK")
	if l := r.line(t); !strings.HasPrefix(l, "-ERR") {
		t.Fatalf("SET with an empty key: %q", l)
	}
	eq(t, "SET k2", r.line(t), "+OK")
	eq(t, "MGET", r.line(t), "*2")
	r.line(t)
	r.line(t)
	r.line(t)
	r.line(t)
	// Pipelined increments are grouped; each still gets its own reply, in order.
	r.send(t, "SET s abc\r\nSET big 9223372036854775806\r\nINCR i\r\nINCRBY i 10\r\nINCR s\r\nDECR j\r\nINCR big\r\nINCR big\r\nDECRBY i 1\r\nGET i\r\nINCR i\r\n")
	for _, want := range []string{"+OK", "+OK", ":1", ":11", "-ERR value is not an integer or out of range", ":-1", ":9223372036854775807", "-ERR increment or decrement would overflow", ":10", "$2", "10", ":11"} {
		eq(t, "pipelined increments", r.line(t), want)
	}
}

func TestConcurrentPipelinedIncrements(t *testing.T) {
	p := start(t, "")
	c := newClient(t, p, func(o *redis.Options) { o.PoolSize = 20 })
	var wg sync.WaitGroup
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 10; round++ {
				pipe := c.Pipeline()
				for i := 0; i < 30; i++ {
					pipe.Incr(ctx, fmt.Sprintf("pc%d", i%3))
					pipe.IncrBy(ctx, "pcby", 2)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 3; i++ {
		eq(t, "pipelined counter", must[string](t, c.Get(ctx, fmt.Sprintf("pc%d", i))), "1000")
	}
	eq(t, "pipelined INCRBY counter", must[string](t, c.Get(ctx, "pcby")), "6000")
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The event-loop mode serves the same protocol: the core of the suite again.
func TestGnetMode(t *testing.T) {
	p := start(t, "", "--io", "gnet", "--addr", freePort(t), "--timeout", "1s")
	c := newClient(t, p, func(o *redis.Options) { o.PoolSize = 32 })
	eq(t, "PING", must[string](t, c.Ping(ctx)), "PONG")
	eq(t, "SET", must[string](t, c.Set(ctx, "k", "v", time.Hour)), "OK")
	eq(t, "GET", must[string](t, c.Get(ctx, "k")), "v")
	if err := c.Get(ctx, "missing").Err(); err != redis.Nil {
		t.Fatalf("GET missing: %v", err)
	}
	pipe := c.Pipeline()
	for i := 0; i < 1000; i++ {
		pipe.Set(ctx, fmt.Sprintf("p%d", i), i, 0)
		pipe.Incr(ctx, "pc")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	eq(t, "pipelined INCRs", must[string](t, c.Get(ctx, "pc")), "1000")
	eq(t, "pipelined SET", must[string](t, c.Get(ctx, "p999")), "999")
	var wg sync.WaitGroup
	var winners atomic.Int64
	for w := 0; w < 20; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if err := c.Incr(ctx, "n").Err(); err != nil {
					t.Error(err)
					return
				}
			}
			if ok, _ := c.SetNX(ctx, "race", w, 0).Result(); ok {
				winners.Add(1)
			}
		}()
	}
	wg.Wait()
	eq(t, "concurrent INCR", must[string](t, c.Get(ctx, "n")), "2000")
	eq(t, "SET NX winners", winners.Load(), int64(1))
	bad := dial(t, p)
	bad.send(t, "*1\r\nxyz\r\n")
	eq(t, "garbage", bad.line(t), "-ERR Protocol error: expected '$', got 'x'")
	if !bad.closed(t) {
		t.Fatal("garbage client not closed")
	}
	idle := dial(t, p)
	eq(t, "PING", idle.roundTrip(t, "PING"), "+PONG")
	time.Sleep(2500 * time.Millisecond)
	if !idle.closed(t) {
		t.Fatal("idle client not closed in gnet mode")
	}
	eq(t, "still serving", must[string](t, c.Get(ctx, "k")), "v")
}

// --keydir picks the store's index mode, which INFO reports; a bad mode is a flag error.
func TestKeydirFlag(t *testing.T) {
	p := start(t, t.TempDir(), "--keydir", "hashed")
	c := newClient(t, p)
	must[string](t, c.Set(ctx, "k", "v", 0))
	eq(t, "GET", must[string](t, c.Get(ctx, "k")), "v")
	info := must[string](t, c.Info(ctx, "bitcask"))
	if !strings.Contains(info, "keydir_mode:hashed") {
		t.Fatalf("INFO bitcask lacks keydir_mode:hashed:\n%s", info)
	}
	c.Close()
	p.stop(t)

	cmd := exec.Command(binary, "--dir", t.TempDir(), "--keydir", "bogus")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), `--keydir`) {
		t.Fatalf("bad --keydir: %v %s", err, out)
	}
}
