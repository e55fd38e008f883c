package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

// startServer runs the real program (run) on a free loopback port and returns
// its base URL and a function that stops it and returns run's error.
func startServer(t *testing.T, dir string, extra ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	var logs syncBuffer
	args := append([]string{"-addr", "127.0.0.1:0", "-dir", dir}, extra...)
	go func() { done <- run(ctx, args, io.Discard, &logs, func(a string) { addrc <- a }) }()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v\n%s", err, logs.String())
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("server: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return base, stop
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type answer struct {
	code int
	body string
	hdr  http.Header
}

func do(t *testing.T, method, url string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return answer{resp.StatusCode, string(b), resp.Header}
}

func expect(t *testing.T, a answer, code int, bodyContains string) {
	t.Helper()
	if a.code != code || !strings.Contains(a.body, bodyContains) {
		t.Fatalf("got %d %q, want %d with %q", a.code, a.body, code, bodyContains)
	}
}

func TestRoutes(t *testing.T) {
	base, _ := startServer(t, t.TempDir())

	// Missing key.
	expect(t, do(t, "GET", base+"/get?key=nope", nil), 404, "key not found")

	// Set, get, overwrite, delete.
	expect(t, do(t, "POST", base+"/set?key=a", []byte("hello")), 204, "")
	a := do(t, "GET", base+"/get?key=a", nil)
	expect(t, a, 200, "hello")
	if a.body != "hello" || a.hdr.Get("Content-Length") != "5" || a.hdr.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("GET /get?key=a = %q, headers %v", a.body, a.hdr)
	}
	expect(t, do(t, "POST", base+"/set?key=a", []byte("again")), 204, "")
	expect(t, do(t, "GET", base+"/get?key=a", nil), 200, "again")
	expect(t, do(t, "POST", base+"/delete?key=a", nil), 204, "")
	expect(t, do(t, "GET", base+"/get?key=a", nil), 404, "key not found")
	expect(t, do(t, "POST", base+"/delete?key=never-set", nil), 204, "")

	// Empty value, binary and escaped keys.
	expect(t, do(t, "POST", base+"/set?key=empty", nil), 204, "")
	if e := do(t, "GET", base+"/get?key=empty", nil); e.code != 200 || e.body != "" {
		t.Fatalf("empty value: %d %q", e.code, e.body)
	}
	expect(t, do(t, "POST", base+"/set?key=a%20b%26c%00d", []byte{0, 1, 2}), 204, "")
	if e := do(t, "GET", base+"/get?key=a%20b%26c%00d", nil); e.code != 200 || e.body != "\x00\x01\x02" {
		t.Fatalf("escaped key: %d %q", e.code, e.body)
	}

	// Expiry: in the past reads as missing, in the future as present.
	past := strconv.FormatInt(time.Now().Add(-time.Second).UnixMilli(), 10)
	future := strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	expect(t, do(t, "POST", base+"/set?key=old&expire="+past, []byte("x")), 204, "")
	expect(t, do(t, "GET", base+"/get?key=old", nil), 404, "key not found")
	expect(t, do(t, "POST", base+"/set?key=new&expire="+future, []byte("y")), 204, "")
	expect(t, do(t, "GET", base+"/get?key=new", nil), 200, "y")
	expect(t, do(t, "POST", base+"/set?key=epoch&expire=1", []byte("z")), 204, "")
	expect(t, do(t, "GET", base+"/get?key=epoch", nil), 404, "")

	// Bad input.
	bad := []struct{ method, path, want string }{
		{"GET", "/get", "missing key"},
		{"GET", "/get?key=", "empty key"},
		{"GET", "/get?key=%zz", "bad query"},
		{"POST", "/set", "missing key"},
		{"POST", "/set?expire=5", "missing key"},
		{"POST", "/set?key=b&expire=soon", "expire must be"},
		{"POST", "/set?key=b&expire=-5", "expire must be"},
		{"POST", "/set?key=b&expire=0", "expire must be"},
		{"POST", "/set?key=b&expire=1.5", "expire must be"},
		{"POST", "/set?key=b&expire=99999999999999999999", "expire must be"},
		{"POST", "/delete", "missing key"},
		{"GET", "/get?key=a&key=b", "repeated key parameter (given 2 times, want once)"},
		{"GET", "/get?key=a&key=", "repeated key parameter"},
		{"POST", "/set?key=b&key=b&key=c", "repeated key parameter (given 3 times, want once)"},
		{"POST", "/set?key=b&expire=" + future + "&expire=1", "repeated expire parameter (given 2 times, want once)"},
		{"POST", "/delete?key=a&key=b", "repeated key parameter"},
		{"POST", "/set?key=" + strings.Repeat("k", bitcask.MaxKeyLen+1), "exceeds the maximum"},
	}
	for _, b := range bad {
		t.Run("bad "+b.method+" "+b.path[:min(len(b.path), 40)], func(t *testing.T) {
			expect(t, do(t, b.method, base+b.path, []byte("v")), 400, b.want)
		})
	}
	// Nothing was stored by the rejected requests.
	expect(t, do(t, "GET", base+"/get?key=b", nil), 404, "")

	// Wrong methods.
	for _, m := range []struct{ method, path, allow string }{
		{"POST", "/get?key=a", "GET"},
		{"PUT", "/set?key=a", "POST"},
		{"GET", "/set?key=a", "POST"},
		{"GET", "/delete?key=a", "POST"},
		{"DELETE", "/delete?key=a", "POST"},
		{"GET", "/merge", "POST"},
		{"POST", "/stats", "GET"},
	} {
		a := do(t, m.method, base+m.path, nil)
		if a.code != 405 || !strings.Contains(a.hdr.Get("Allow"), m.allow) {
			t.Errorf("%s %s: %d, Allow %q; want 405 allowing %s", m.method, m.path, a.code, a.hdr.Get("Allow"), m.allow)
		}
	}
	expect(t, do(t, "GET", base+"/nowhere", nil), 404, "")

	// Stats and merge.
	var st bitcask.Stats
	s := do(t, "GET", base+"/stats", nil)
	if s.code != 200 || s.hdr.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(s.body), &st) != nil {
		t.Fatalf("GET /stats: %d %q", s.code, s.body)
	}
	// Live: "empty", "a b&c\x00d", "new"; "old" and "epoch" have expired but
	// are counted until a merge drops them.
	if st.LiveKeys != 5 {
		t.Fatalf("live_keys before merge = %d, want 5", st.LiveKeys)
	}
	m := do(t, "POST", base+"/merge", nil)
	var after bitcask.Stats
	if m.code != 200 || json.Unmarshal([]byte(m.body), &after) != nil || after.MergesCompleted != 1 || after.LiveKeys != 3 {
		t.Fatalf("POST /merge: %d %q", m.code, m.body)
	}
	expect(t, do(t, "GET", base+"/get?key=new", nil), 200, "y")
	expect(t, do(t, "GET", base+"/get?key=old", nil), 404, "")
}

// An 8 MiB value goes in and comes back intact, and GET streams it: the whole
// process allocates far less than the value's size while serving it.
func TestLargeValueStreamed(t *testing.T) {
	base, _ := startServer(t, t.TempDir())
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = byte(i*131 + i>>9)
	}
	want := sha256.Sum256(big)
	expect(t, do(t, "POST", base+"/set?key=big", big), 204, "")
	big = nil

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := http.Get(base + "/get?key=big")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, resp.Body, make([]byte, 32<<10))
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if err != nil || resp.StatusCode != 200 || n != 8<<20 || resp.ContentLength != 8<<20 {
		t.Fatalf("GET big: %d, %d bytes (Content-Length %d), %v", resp.StatusCode, n, resp.ContentLength, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Fatal("8 MiB value came back different")
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("serving 8 MiB allocated %d KiB in the whole process", allocated>>10)
	if allocated > 4<<20 {
		t.Fatalf("serving an 8 MiB value allocated %d bytes: it is not streamed", allocated)
	}
}

func TestValueTooLarge(t *testing.T) {
	base, _ := startServer(t, t.TempDir(), "-max-value", "1024")
	const msg = "value too large: the limit is 1024 bytes\n"
	a := do(t, "POST", base+"/set?key=k", make([]byte, 1025))
	if a.code != 413 || a.body != msg {
		t.Errorf("1025 bytes: %d %q, want 413 %q", a.code, a.body, msg)
	}
	expect(t, do(t, "POST", base+"/set?key=k", make([]byte, 1024)), 204, "")
	// Without a Content-Length (chunked), the limit still holds.
	req, _ := http.NewRequest("POST", base+"/set?key=c", io.MultiReader(bytes.NewReader(make([]byte, 2000))))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 413 || string(b) != msg {
		t.Fatalf("chunked oversize body: %d %q %v, want 413 %q", resp.StatusCode, b, err, msg)
	}
	expect(t, do(t, "GET", base+"/get?key=c", nil), 404, "")
}

// Storage failures are 500s with the library's message; the mapping of the
// other errors too.
func TestErrorStatuses(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{&bitcask.Error{Op: "put", Code: bitcask.CodeIO, Msg: "writing 000001.data: No space left on device"}, 500},
		{&bitcask.Error{Op: "get", Code: bitcask.CodeCorruption, Msg: "checksum mismatch"}, 500},
		{&bitcask.Error{Op: "get", Code: bitcask.CodeInternal, Msg: "caught panic"}, 500},
		{&bitcask.Error{Op: "put", Code: bitcask.CodeReadOnly, Msg: "read-only"}, 500},
		{&bitcask.Error{Op: "get", Code: bitcask.CodeNotFound, Msg: "key not found"}, 404},
		{&bitcask.Error{Op: "put", Code: bitcask.CodeInvalidArgument, Msg: "key too long"}, 400},
		{&bitcask.Error{Op: "merge", Code: bitcask.CodeBusy, Msg: "merge running"}, 409},
		{bitcask.ErrClosed, 503},
		{badRequest("missing key parameter"), 400},
		{&http.MaxBytesError{Limit: 1}, 413},
	}
	var logs bytes.Buffer
	s := &server{log: log.New(&logs, "", 0)}
	for _, c := range cases {
		w := httptest.NewRecorder()
		s.fail(w, httptest.NewRequest("GET", "/get?key=k", nil), c.err)
		if w.Code != c.code {
			t.Errorf("%v: %d, want %d", c.err, w.Code, c.code)
		}
		if c.code == 500 && !strings.Contains(w.Body.String(), c.err.(*bitcask.Error).Msg) {
			t.Errorf("500 body %q lacks the library's message", w.Body.String())
		}
	}
	if !strings.Contains(logs.String(), "No space left") {
		t.Errorf("storage errors are not logged: %q", logs.String())
	}
}

// Merges racing each other: each either runs or is refused with 409 (the
// library's BC_BUSY), and the data survives.
func TestConcurrentMerges(t *testing.T) {
	base, _ := startServer(t, t.TempDir())
	for i := 0; i < 200; i++ {
		expect(t, do(t, "POST", fmt.Sprintf("%s/set?key=k%d", base, i%20), bytes.Repeat([]byte("x"), 1000)), 204, "")
	}
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(base+"/merge", "", nil)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 && c != 409 {
			t.Fatalf("concurrent merge answered %d, want 200 or 409", c)
		}
	}
	expect(t, do(t, "GET", base+"/get?key=k7", nil), 200, "xxx")
}

// Stopping the server (context cancelled) closes the store: its lock is free
// and the data is there for the next process.
func TestGracefulShutdownClosesStore(t *testing.T) {
	dir := t.TempDir()
	base, stop := startServer(t, dir)
	expect(t, do(t, "POST", base+"/set?key=persist", []byte("me")), 204, "")
	if err := stop(); err != nil {
		t.Fatalf("run returned %v", err)
	}
	db, err := bitcask.Open(dir)
	if err != nil {
		t.Fatalf("store still locked after shutdown: %v", err)
	}
	v, err := db.Get([]byte("persist"))
	db.Close()
	if err != nil || string(v) != "me" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
	// A new server on the same directory sees it.
	base, _ = startServer(t, dir)
	expect(t, do(t, "GET", base+"/get?key=persist", nil), 200, "me")
}

// SIGTERM (and SIGINT) trigger the same graceful shutdown.
func TestSignalShutdown(t *testing.T) {
	dir := t.TempDir()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"-addr", "127.0.0.1:0", "-dir", dir}, io.Discard, io.Discard,
			func(a string) { addrc <- a })
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}
	expect(t, do(t, "POST", base+"/set?key=k", []byte("v")), 204, "")
	// run's signal handler is installed before ready is called, so this
	// signal goes to it rather than killing the test binary.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("run after SIGTERM: %v", err)
	}
	db, err := bitcask.Open(dir)
	if err != nil {
		t.Fatalf("store not closed after SIGTERM: %v", err)
	}
	db.Close()
}

func TestSelfTest(t *testing.T) {
	var out syncBuffer
	err := run(context.Background(), []string{"-dir", t.TempDir(), "-selftest"}, &out, io.Discard, nil)
	if err != nil {
		t.Fatalf("selftest: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "all answered as expected") || strings.Contains(out.String(), "UNEXPECTED") {
		t.Fatalf("selftest output:\n%s", out.String())
	}
}

// An address in use is reported before the store's directory is created.
func TestAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "store")
	err = run(context.Background(), []string{"-addr", ln.Addr().String(), "-dir", dir}, io.Discard, io.Discard, nil)
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("run on an address in use = %v, want an EADDRINUSE error naming the address", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the store directory was created: %v", err)
	}
}

// Command-line mistakes are reported as the flag package reports them (the
// message, then the usage) before anything touches the disk.
func TestFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-sync", "sometimes"}, `invalid value "sometimes" for flag -sync: want none, always or interval`},
		{[]string{"-max-value", "0"}, `invalid value "0" for flag -max-value: want a number of bytes from 1 to 536870912`},
		{[]string{"-max-value", "999999999999"}, `invalid value "999999999999" for flag -max-value: want a number of bytes from 1 to 536870912`},
		{[]string{"-max-value", "1MiB"}, `invalid value "1MiB" for flag -max-value: want a number of bytes from 1 to 536870912`},
		{[]string{"extra-arg"}, `unexpected argument "extra-arg" (bitcask-server takes only flags)`},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
		{[]string{"-dir="}, "-dir must not be empty"},
	} {
		dir := filepath.Join(t.TempDir(), "store")
		var stderr bytes.Buffer
		args := append([]string{"-dir", dir, "-addr", "127.0.0.1:0"}, c.args...)
		err := run(context.Background(), args, io.Discard, &stderr, nil)
		var usage usageError
		if !errors.As(err, &usage) {
			t.Errorf("run(%q) = %v, want a usage error", c.args, err)
			continue
		}
		if got := stderr.String(); !strings.HasPrefix(got, c.want+"\nUsage of bitcask-server:\n") {
			t.Errorf("run(%q) printed %q, want %q then the usage", c.args, got, c.want)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("run(%q) touched the store directory: %v", c.args, err)
		}
	}

	// -h prints the usage and is not a failure.
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, io.Discard, &stderr, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	if !strings.Contains(stderr.String(), "-sync mode") {
		t.Errorf("-h printed %q", stderr.String())
	}

	// Hexadecimal and octal, as the flag package's integers.
	c, err := parseFlags([]string{"-max-value", "0x400", "-sync", "always"}, io.Discard)
	if err != nil || c.maxValue != 1024 || c.sync != bitcask.SyncAlways {
		t.Errorf("parseFlags: %+v, %v", c, err)
	}
}
